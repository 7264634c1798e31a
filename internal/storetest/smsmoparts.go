package storetest

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
)

// SMSMOParts is the contract suite of smsgw.MOParts (smsgw.MemMOParts,
// internal/postgres). Expire and NextDeadline see the whole store, so its subtests
// run one after another, each starting from an empty store (it drains what is
// left); newStore is called once per subtest and may share data with earlier calls.
func SMSMOParts(t *testing.T, newStore func(t *testing.T) smsgw.MOParts) {
	for _, c := range moPartsCases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			drainMO(t, ctx, s)
			c.run(t, ctx, s)
		})
	}
}

func drainMO(t *testing.T, ctx context.Context, s smsgw.MOParts) {
	t.Helper()
	for {
		ms, err := s.Expire(ctx, far, far.Add(time.Hour), 1000)
		mustNot(t, err)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			mustNot(t, s.Finish(ctx, m.MOKey, time.Time{}))
		}
	}
	if at, ok, err := s.NextDeadline(ctx); err != nil || ok {
		t.Fatalf("store not empty after draining: next deadline %v, %v, %v", at, ok, err)
	}
}

// moKey is a key of its own per call (tests share one database).
func moKey(total int) smsgw.MOKey {
	return smsgw.MOKey{Carrier: "sandbox", From: newID("+4477"), To: "12345", Ref: "udh8:17", Total: total}
}

// Times of the suite: parts arrive at start and after; deadline is a new message's.
var (
	moDeadline = start.Add(10 * time.Minute)
	moRedo     = start.Add(time.Hour)
)

func moPart(k smsgw.MOKey, seq int, body string, at time.Time) smsgw.MOPart {
	return smsgw.MOPart{MOKey: k, Seq: seq, DataCoding: 8, Body: []byte(body), ReceivedAt: at}
}

func addMO(t *testing.T, ctx context.Context, s smsgw.MOParts, p smsgw.MOPart) *smsgw.MOMessage {
	t.Helper()
	done, err := s.Add(ctx, p, moDeadline, moRedo)
	mustNot(t, err)
	return done
}

func wantNone(t *testing.T, what string, done *smsgw.MOMessage) {
	t.Helper()
	if done != nil {
		t.Fatalf("%s handed out %+v", what, *done)
	}
}

// wantParts fails unless m holds exactly these seqs with these bodies.
func wantParts(t *testing.T, m *smsgw.MOMessage, k smsgw.MOKey, seqs []int, bodies ...string) {
	t.Helper()
	if m == nil {
		t.Fatal("nothing handed out")
	}
	if m.MOKey != k || len(m.Parts) != len(seqs) {
		t.Fatalf("handed out %+v, want key %+v with parts %v", *m, k, seqs)
	}
	for i, p := range m.Parts {
		if p.Seq != seqs[i] || !bytes.Equal(p.Body, []byte(bodies[i])) || p.MOKey != k || p.DataCoding != 8 {
			t.Fatalf("part %d = %+v, want seq %d body %q", i, p, seqs[i], bodies[i])
		}
	}
}

var moPartsCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s smsgw.MOParts)
}{
	{"a message is handed out once, when its last part comes, parts in order", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(3)
		wantNone(t, "part 3", addMO(t, ctx, s, moPart(k, 3, "ccc", start.Add(2*time.Second))))
		wantNone(t, "part 1", addMO(t, ctx, s, moPart(k, 1, "aaa", start)))
		wantNext(t, ctx, s, moDeadline)
		done := addMO(t, ctx, s, moPart(k, 2, "bbb", start.Add(time.Second)))
		wantParts(t, done, k, []int{1, 2, 3}, "aaa", "bbb", "ccc")
		wantTime(t, "Deadline", done.Deadline, moRedo)
		wantTime(t, "part 1 ReceivedAt", done.Parts[0].ReceivedAt, start)
		wantTime(t, "FirstReceived", done.FirstReceived(), start)
		if !done.Complete() || done.Tries != 0 {
			t.Fatalf("complete %v, tries %d", done.Complete(), done.Tries)
		}
		wantNext(t, ctx, s, moRedo)
	}},
	{"a duplicate part changes nothing: the first is kept", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(2)
		wantNone(t, "part 1", addMO(t, ctx, s, moPart(k, 1, "first", start)))
		wantNone(t, "part 1 again", addMO(t, ctx, s, moPart(k, 1, "second", start.Add(time.Second))))
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "two", start.Add(2*time.Second))), k, []int{1, 2}, "first", "two")
	}},
	{"a handed-out message is handed out again only once released", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(2)
		wantNone(t, "part 1", addMO(t, ctx, s, moPart(k, 1, "a", start)))
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "b", start)), k, []int{1, 2}, "a", "b")
		wantNone(t, "part 2 resent while handed out", addMO(t, ctx, s, moPart(k, 2, "b", start.Add(time.Second))))
		mustNot(t, s.Release(ctx, k, start.Add(time.Second)))
		wantNext(t, ctx, s, start.Add(time.Second))
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "b", start.Add(2*time.Second))), k, []int{1, 2}, "a", "b")
		wantNext(t, ctx, s, moRedo)
	}},
	{"a finished message drops resent parts until keep; another part starts a new one", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(2)
		keep := start.Add(5 * time.Minute)
		wantNone(t, "part 1", addMO(t, ctx, s, moPart(k, 1, "a", start)))
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "b", start)), k, []int{1, 2}, "a", "b")
		mustNot(t, s.Finish(ctx, k, keep))
		wantNext(t, ctx, s, keep)
		wantNone(t, "part 2 resent", addMO(t, ctx, s, moPart(k, 2, "b", start.Add(time.Minute))))
		wantNone(t, "part 1 resent", addMO(t, ctx, s, moPart(k, 1, "a", start.Add(time.Minute))))
		if ms, err := s.Expire(ctx, keep.Add(-time.Microsecond), moRedo, 10); err != nil || len(ms) != 0 {
			t.Fatalf("Expire before keep: %+v, %v", ms, err)
		}
		// The sender reused the reference for another text: a new message.
		wantNone(t, "new part 1", addMO(t, ctx, s, moPart(k, 1, "new", start.Add(2*time.Minute))))
		wantNext(t, ctx, s, moDeadline)
		ms, err := s.Expire(ctx, moDeadline, moRedo, 10)
		mustNot(t, err)
		if len(ms) != 1 || ms[0].Tries != 1 || ms[0].Complete() {
			t.Fatalf("Expire = %+v, want the new message, incomplete, tried once", ms)
		}
		wantParts(t, &ms[0], k, []int{1}, "new")
	}},
	{"Expire hands out due messages earliest first and drops finished ones past keep", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		a, b, c := moKey(3), moKey(2), moKey(2)
		mustAdd := func(p smsgw.MOPart, deadline time.Time) *smsgw.MOMessage {
			done, err := s.Add(ctx, p, deadline, moRedo)
			mustNot(t, err)
			return done
		}
		mustAdd(moPart(a, 2, "a2", start), start.Add(2*time.Minute))
		mustAdd(moPart(b, 1, "b1", start), start.Add(time.Minute))
		mustAdd(moPart(c, 1, "c1", start), start.Add(3*time.Minute))
		if mustAdd(moPart(c, 2, "c2", start), start.Add(3*time.Minute)) == nil {
			t.Fatal("c not handed out")
		}
		mustNot(t, s.Finish(ctx, c, start.Add(30*time.Second)))
		wantNext(t, ctx, s, start.Add(30*time.Second))
		now := start.Add(5 * time.Minute)
		ms, err := s.Expire(ctx, now, moRedo, 1)
		mustNot(t, err)
		if len(ms) != 1 || ms[0].MOKey != b || ms[0].Tries != 1 {
			t.Fatalf("first Expire = %+v, want b tried once", ms)
		}
		wantTime(t, "Deadline", ms[0].Deadline, moRedo)
		ms, err = s.Expire(ctx, now, moRedo, 10)
		mustNot(t, err)
		if len(ms) != 1 || ms[0].MOKey != a {
			t.Fatalf("second Expire = %+v, want a", ms)
		}
		wantParts(t, &ms[0], a, []int{2}, "a2")
		wantNext(t, ctx, s, moRedo) // c is gone
		ms, err = s.Expire(ctx, moRedo, moRedo.Add(time.Hour), 10)
		mustNot(t, err)
		if len(ms) != 2 || ms[0].Tries != 2 || ms[1].Tries != 2 {
			t.Fatalf("Expire at redo = %+v, want a and b tried twice", ms)
		}
		// A late part completes a handed-out message: handed out at once.
		wantParts(t, addMO(t, ctx, s, moPart(b, 2, "b2", moRedo)), b, []int{1, 2}, "b1", "b2")
	}},
	{"carrier, sender, recipient, ref and total each tell messages apart", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(2)
		wantNone(t, "part 1", addMO(t, ctx, s, moPart(k, 1, "a", start)))
		for _, other := range []func(smsgw.MOKey) smsgw.MOKey{
			func(o smsgw.MOKey) smsgw.MOKey { o.Carrier = "other"; return o },
			func(o smsgw.MOKey) smsgw.MOKey { o.From += "9"; return o },
			func(o smsgw.MOKey) smsgw.MOKey { o.To = "54321"; return o },
			func(o smsgw.MOKey) smsgw.MOKey { o.Ref = "udh16:17"; return o },
			func(o smsgw.MOKey) smsgw.MOKey { o.Total = 3; return o },
		} {
			o := other(k)
			wantNone(t, "another message's part 2", addMO(t, ctx, s, moPart(o, 2, "x", start)))
		}
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "b", start)), k, []int{1, 2}, "a", "b")
	}},
	{"concurrent adds of the last part hand the message out once", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(3)
		addMO(t, ctx, s, moPart(k, 1, "a", start))
		addMO(t, ctx, s, moPart(k, 2, "b", start))
		var wg sync.WaitGroup
		var handed atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done, err := s.Add(ctx, moPart(k, 3, "c", start), moDeadline, moRedo)
				if err != nil {
					t.Errorf("Add: %v", err)
				}
				if done != nil {
					handed.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := handed.Load(); n != 1 {
			t.Fatalf("handed out %d times, want once", n)
		}
	}},
	{"an invalid part is Invalid and stores nothing", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(3)
		for name, p := range map[string]smsgw.MOPart{
			"one part":      moPart(smsgw.MOKey{Carrier: "sandbox", From: "1", To: "2", Ref: "udh8:1", Total: 1}, 1, "a", start),
			"seq 0":         moPart(k, 0, "a", start),
			"seq > total":   moPart(k, 4, "a", start),
			"no carrier":    moPart(smsgw.MOKey{From: "1", To: "2", Ref: "udh8:1", Total: 2}, 1, "a", start),
			"no ref":        moPart(smsgw.MOKey{Carrier: "sandbox", From: "1", To: "2", Total: 2}, 1, "a", start),
			"no time":       moPart(k, 1, "a", time.Time{}),
			"over 255 part": moPart(smsgw.MOKey{Carrier: "sandbox", From: "1", To: "2", Ref: "sar:1", Total: 256}, 1, "a", start),
		} {
			if _, err := s.Add(ctx, p, moDeadline, moRedo); errs.CodeOf(err) != errs.Invalid {
				t.Errorf("%s: %v, want code %q", name, err, errs.Invalid)
			}
		}
		wantNext(t, ctx, s, time.Time{})
		mustNot(t, s.Release(ctx, k, start)) // unknown: no error
		mustNot(t, s.Finish(ctx, k, start))
		wantNext(t, ctx, s, time.Time{})
	}},
	{"an empty body is a part", func(t *testing.T, ctx context.Context, s smsgw.MOParts) {
		k := moKey(2)
		p := moPart(k, 1, "", start)
		p.Body = nil
		wantNone(t, "part 1", addMO(t, ctx, s, p))
		wantParts(t, addMO(t, ctx, s, moPart(k, 2, "b", start)), k, []int{1, 2}, "", "b")
	}},
}
