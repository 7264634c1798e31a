package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
)

// SMSPending is the contract suite of smsgw.Pending (smsgw.MemPending,
// internal/postgres). Expire and NextDeadline see the whole store, so its subtests
// run one after another, each starting from an empty store (it drains what is
// left); newStore is called once per subtest and may share data with earlier calls.
func SMSPending(t *testing.T, newStore func(t *testing.T) smsgw.Pending) {
	for _, c := range pendingCases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			drain(t, ctx, s)
			c.run(t, ctx, s)
		})
	}
}

// far is after every deadline the suite uses; redo is the redo time of most calls.
var (
	far  = start.Add(1000 * time.Hour)
	redo = start.Add(10 * time.Hour)
)

func drain(t *testing.T, ctx context.Context, s smsgw.Pending) {
	t.Helper()
	for {
		es, err := s.Expire(ctx, far, far.Add(time.Hour), 1000)
		mustNot(t, err)
		if len(es) == 0 {
			return
		}
		for _, e := range es {
			mustNot(t, s.Finish(ctx, e.Carrier, e.TenantID, e.MessageID))
		}
	}
}

func pentry(id string, deadline time.Time, smscIDs ...string) smsgw.PendingEntry {
	return smsgw.PendingEntry{Carrier: "sandbox", TenantID: "t-" + id, MessageID: id, SMSCIDs: smscIDs, Deadline: deadline}
}

func receipt(t *testing.T, ctx context.Context, s smsgw.Pending, id string, st sms.State, code string) (*smsgw.PendingEntry, bool) {
	t.Helper()
	done, known, err := s.Receipt(ctx, "sandbox", id, st, code, redo)
	mustNot(t, err)
	return done, known
}

func finish(t *testing.T, ctx context.Context, s smsgw.Pending, e smsgw.PendingEntry) {
	t.Helper()
	mustNot(t, s.Finish(ctx, e.Carrier, e.TenantID, e.MessageID))
}

func wantNext(t *testing.T, ctx context.Context, s interface {
	NextDeadline(context.Context) (time.Time, bool, error)
}, want time.Time) {
	t.Helper()
	got, ok, err := s.NextDeadline(ctx)
	mustNot(t, err)
	if want.IsZero() {
		if ok {
			t.Fatalf("NextDeadline = %v, want none", got)
		}
		return
	}
	if !ok {
		t.Fatalf("NextDeadline: none, want %v", want)
	}
	wantTime(t, "NextDeadline", got, want)
}

var pendingCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s smsgw.Pending)
}{
	{"empty store has no deadline and knows no id", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		wantNext(t, ctx, s, time.Time{})
		if done, known := receipt(t, ctx, s, "nope", sms.StateDelivered, ""); done != nil || known {
			t.Fatalf("Receipt of an unknown id = %v, %v", done, known)
		}
		mustNot(t, s.Finish(ctx, "sandbox", "t-nope", "nope"))
	}},
	{"add of an invalid entry is invalid", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		for _, e := range []smsgw.PendingEntry{
			{MessageID: "m", SMSCIDs: []string{"a"}, Deadline: start},
			{Carrier: "c", SMSCIDs: []string{"a"}, Deadline: start},
			{Carrier: "c", MessageID: "m", Deadline: start},
			{Carrier: "c", MessageID: "m", SMSCIDs: []string{""}, Deadline: start},
		} {
			wantCode(t, s.Add(ctx, e), errs.Invalid)
		}
		wantNext(t, ctx, s, time.Time{})
	}},
	{"next deadline is the earliest, in UTC microseconds", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("m1", start.Add(2*time.Hour), "a1")))
		mustNot(t, s.Add(ctx, pentry("m2", start.Add(time.Hour), "b1", "b2")))
		wantNext(t, ctx, s, start.Add(time.Hour))
	}},
	{"a message completes when every part is final and stays until finished", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("m1", start.Add(time.Hour), "p0", "p1", "p2")))
		if done, known := receipt(t, ctx, s, "p1", sms.StateUndeliverable, "005"); done != nil || !known {
			t.Fatalf("first receipt = %v, %v", done, known)
		}
		if done, known := receipt(t, ctx, s, "p1", sms.StateDelivered, ""); done != nil || !known {
			t.Fatalf("duplicate receipt = %v, %v", done, known)
		}
		if done, known := receipt(t, ctx, s, "p0", sms.StateDelivered, ""); done != nil || !known {
			t.Fatalf("second receipt = %v, %v", done, known)
		}
		done, known := receipt(t, ctx, s, "p2", sms.StateDelivered, "000")
		if done == nil || !known {
			t.Fatalf("last receipt = %v, %v", done, known)
		}
		want := []sms.State{sms.StateDelivered, sms.StateUndeliverable, sms.StateDelivered}
		if done.Carrier != "sandbox" || done.TenantID != "t-m1" || done.MessageID != "m1" ||
			!reflect.DeepEqual(done.SMSCIDs, []string{"p0", "p1", "p2"}) || !reflect.DeepEqual(done.States, want) ||
			!reflect.DeepEqual(done.Codes, []string{"", "005", "000"}) || done.Tries != 0 || !done.Complete() {
			t.Fatalf("completed %+v", done)
		}
		wantTime(t, "Deadline", done.Deadline, redo)
		if o := done.Outcome(); o.State != sms.StateUndeliverable || o.ErrorCode != "005" || o.Parts != 3 {
			t.Fatalf("Outcome %+v", o)
		}
		wantNext(t, ctx, s, redo) // handed out, not finished: kept for its redo time
		// The SMSC resends a receipt whose answer the reporter's crash lost: the
		// message is handed out again, as it was.
		again, known := receipt(t, ctx, s, "p0", sms.StateDelivered, "")
		if again == nil || !known || !reflect.DeepEqual(again.States, want) || !reflect.DeepEqual(again.Codes, done.Codes) {
			t.Fatalf("resent receipt after completion = %+v, %v", again, known)
		}
		finish(t, ctx, s, *done)
		for _, id := range []string{"p0", "p1", "p2"} {
			if d, k := receipt(t, ctx, s, id, sms.StateDelivered, ""); d != nil || k {
				t.Fatalf("receipt for %s after Finish = %v, %v", id, d, k)
			}
		}
		wantNext(t, ctx, s, time.Time{})
		finish(t, ctx, s, *done) // twice: no error
	}},
	{"a completed message nobody finished is handed out again at its redo time", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("m1", start.Add(time.Hour), "c0")))
		if done, _ := receipt(t, ctx, s, "c0", sms.StateDelivered, ""); done == nil {
			t.Fatal("receipt did not complete the message")
		}
		es, err := s.Expire(ctx, start.Add(2*time.Hour), far, 10) // its old deadline passed: not due
		mustNot(t, err)
		if len(es) != 0 {
			t.Fatalf("Expire before redo = %+v", es)
		}
		es, err = s.Expire(ctx, redo, far, 10)
		mustNot(t, err)
		if len(es) != 1 || !es[0].Complete() || es[0].Tries != 1 || es[0].Outcome().State != sms.StateDelivered {
			t.Fatalf("Expire at redo = %+v", es)
		}
		wantTime(t, "Deadline", es[0].Deadline, far)
		if d, k := receipt(t, ctx, s, "c0", sms.StateDelivered, ""); d != nil || !k {
			t.Fatalf("receipt after Expire handed it out = %v, %v", d, k)
		}
	}},
	{"parts final when added count", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		e := pentry("m1", start.Add(time.Hour), "q0", "q1")
		e.States, e.Codes = []sms.State{sms.StateDelivered, 0}, []string{"000", ""}
		mustNot(t, s.Add(ctx, e))
		done, known := receipt(t, ctx, s, "q1", sms.StateDelivered, "")
		if done == nil || !known || done.Outcome().State != sms.StateDelivered || done.Codes[0] != "000" {
			t.Fatalf("receipt = %+v, %v", done, known)
		}
	}},
	{"carriers do not share SMSC ids", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("m1", start.Add(time.Hour), "x")))
		done, known, err := s.Receipt(ctx, "other", "x", sms.StateDelivered, "", redo)
		mustNot(t, err)
		if done != nil || known {
			t.Fatalf("receipt on another carrier = %v, %v", done, known)
		}
		mustNot(t, s.Finish(ctx, "other", "t-m1", "m1"))
		wantNext(t, ctx, s, start.Add(time.Hour))
	}},
	{"expire hands out messages past their deadline, earliest first, until finished", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("late", start.Add(3*time.Hour), "l0")))
		mustNot(t, s.Add(ctx, pentry("early", start.Add(time.Hour), "e0", "e1")))
		mustNot(t, s.Add(ctx, pentry("mid", start.Add(2*time.Hour), "m0")))
		if _, known := receipt(t, ctx, s, "e1", sms.StateDelivered, ""); !known {
			t.Fatal("e1 unknown")
		}
		es, err := s.Expire(ctx, start.Add(time.Hour), redo, 10) // a deadline equal to now is due
		mustNot(t, err)
		if len(es) != 1 || es[0].MessageID != "early" || es[0].Tries != 1 || es[0].Complete() ||
			!reflect.DeepEqual(es[0].SMSCIDs, []string{"e0", "e1"}) || es[0].States[1] != sms.StateDelivered || es[0].States[0] != 0 {
			t.Fatalf("Expire = %+v", es)
		}
		wantTime(t, "Deadline", es[0].Deadline, redo)
		// Expired: a late receipt changes nothing (its outcome is the timeout).
		if d, k := receipt(t, ctx, s, "e0", sms.StateDelivered, ""); d != nil || !k {
			t.Fatalf("receipt after expiry = %v, %v", d, k)
		}
		es, err = s.Expire(ctx, start.Add(time.Hour), redo, 10)
		mustNot(t, err)
		if len(es) != 0 {
			t.Fatalf("second Expire = %+v", es)
		}
		wantNext(t, ctx, s, start.Add(2*time.Hour))
		es, err = s.Expire(ctx, start.Add(5*time.Hour), redo, 1)
		mustNot(t, err)
		if len(es) != 1 || es[0].MessageID != "mid" || es[0].Tries != 1 {
			t.Fatalf("Expire with limit 1 = %+v", es)
		}
		finish(t, ctx, s, es[0])
		es, err = s.Expire(ctx, start.Add(5*time.Hour), redo, 10)
		mustNot(t, err)
		if len(es) != 1 || es[0].MessageID != "late" {
			t.Fatalf("last Expire = %+v", es)
		}
		finish(t, ctx, s, es[0])
		wantNext(t, ctx, s, redo) // "early", handed out and not finished
		es, err = s.Expire(ctx, redo, far, 10)
		mustNot(t, err)
		if len(es) != 1 || es[0].MessageID != "early" || es[0].Tries != 2 || es[0].States[0] != 0 {
			t.Fatalf("Expire at redo = %+v", es)
		}
		finish(t, ctx, s, es[0])
		wantNext(t, ctx, s, time.Time{})
	}},
	{"a message added back is pending again", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		mustNot(t, s.Add(ctx, pentry("m1", start, "r0")))
		es, err := s.Expire(ctx, start, redo, 10)
		mustNot(t, err)
		if len(es) != 1 {
			t.Fatalf("Expire = %+v", es)
		}
		back := es[0]
		back.Tries = 0
		back.Deadline = start.Add(time.Minute)
		mustNot(t, s.Add(ctx, back))
		wantNext(t, ctx, s, start.Add(time.Minute))
		if d, k := receipt(t, ctx, s, "r0", sms.StateDelivered, ""); d == nil || !k {
			t.Fatalf("receipt after add back = %v, %v", d, k)
		}
	}},
	{"receipts and expiry racing hand each message out once", func(t *testing.T, ctx context.Context, s smsgw.Pending) {
		const n = 20
		for i := range n {
			mustNot(t, s.Add(ctx, pentry(fmt.Sprintf("race%d", i), start, fmt.Sprintf("r%d.0", i), fmt.Sprintf("r%d.1", i))))
		}
		var mu sync.Mutex
		outcomes := map[string]int{}
		var wg sync.WaitGroup
		for i := range n {
			for part := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done, _, err := s.Receipt(ctx, "sandbox", fmt.Sprintf("r%d.%d", i, part), sms.StateDelivered, "", redo)
					if err != nil {
						t.Error(err)
						return
					}
					if done != nil {
						mu.Lock()
						outcomes[done.MessageID]++
						mu.Unlock()
					}
				}()
			}
		}
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					es, err := s.Expire(ctx, start, redo, 5)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, e := range es {
						outcomes[e.MessageID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		es, err := s.Expire(ctx, start, redo, 1000)
		mustNot(t, err)
		for _, e := range es {
			outcomes[e.MessageID]++
		}
		for i := range n {
			if c := outcomes[fmt.Sprintf("race%d", i)]; c != 1 {
				t.Errorf("race%d: handed out %d times before its redo time, want 1", i, c)
			}
		}
	}},
}
