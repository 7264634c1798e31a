package smsgw

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// queued reports how many messages await receipts and their deadline.
func queued(g *Gateway) (pending, due int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending), len(g.due)
}

func TestReceiptTimeoutFailsOnceAndALateReceiptDoesNothing(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 1500 * time.Millisecond}) // after the timeout
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, receiptTimeout: "300ms"})
	waitUp(t, g, "sandbox")

	start := time.Now()
	one, err := send(t, g, msg("m1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	three, err := send(t, g, msg("m3", strings.Repeat("abcdefghij", 40))) // 3 parts
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "two Failed", func() bool { return len(ev.failed) == 2 })
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("timed out after %v, before the 300ms receipt_timeout", el)
	}
	ev.mu.Lock()
	byID := map[string]Outcome{}
	for _, o := range ev.failed {
		byID[o.MessageID] = o
	}
	ev.mu.Unlock()
	for id, s := range map[string]Sent{"m1": one, "m3": three} {
		o := byID[id]
		if o.State != sms.StateExpired || o.ErrorCode != ReceiptTimeoutCode || o.Carrier != "sandbox" || o.TenantID != "t1" ||
			o.Parts != s.Parts || strings.Join(o.SMSCIDs, ",") != strings.Join(s.SMSCIDs, ",") {
			t.Errorf("%s: outcome %+v, sent %+v", id, o, s)
		}
	}
	if p, d := queued(g); p != 0 || d != 0 {
		t.Errorf("after the timeout: %d pending parts, %d deadlines", p, d)
	}

	// The late receipts arrive, are acknowledged (kept as unknown) and report nothing.
	ids := append(append([]string(nil), one.SMSCIDs...), three.SMSCIDs...)
	deadline := time.Now().Add(waitLimit)
	for {
		g.mu.Lock()
		n := 0
		for _, id := range ids {
			if _, ok := g.early[key("sandbox", id)]; ok {
				n++
			}
		}
		g.mu.Unlock()
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d late receipts arrived", n, len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.delivered) != 0 || len(ev.failed) != 2 {
		t.Fatalf("after the late receipts: delivered %d failed %d, want 0 and 2", len(ev.delivered), len(ev.failed))
	}
}

func TestReceiptInTimeIsDeliveredWithoutTimeout(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 20 * time.Millisecond})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, receiptTimeout: "300ms"})
	waitUp(t, g, "sandbox")
	if _, err := send(t, g, msg("m1", strings.Repeat("y", 300))); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "Delivered", func() bool { return len(ev.delivered) == 1 })
	if p, d := queued(g); p != 0 || d != 0 {
		t.Errorf("after delivery: %d pending parts, %d deadlines", p, d)
	}
	time.Sleep(500 * time.Millisecond) // past the deadline
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.delivered) != 1 || len(ev.failed) != 0 {
		t.Fatalf("delivered %d failed %d, want 1 and 0", len(ev.delivered), len(ev.failed))
	}
}

func TestCloseStopsTheSweeper(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 5 * time.Second})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, receiptTimeout: "300ms"})
	waitUp(t, g, "sandbox")
	if _, err := send(t, g, msg("m1", "hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.sweepDone:
		t.Fatal("sweeper stopped before Close")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.sweepDone: // Close waits for it
	default:
		t.Fatal("sweeper still running after Close")
	}
	time.Sleep(400 * time.Millisecond) // past the deadline
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.failed) != 0 || len(ev.delivered) != 0 {
		t.Fatalf("after Close: delivered %d failed %d", len(ev.delivered), len(ev.failed))
	}
}

// failOnce is a recorder whose first Failed call errors.
type failOnce struct {
	*recorder
	calls atomic.Int32
}

func (f *failOnce) Failed(ctx context.Context, o Outcome) error {
	if f.calls.Add(1) == 1 {
		return errors.New("event bus down")
	}
	return f.recorder.Failed(ctx, o)
}

func TestReceiptTimeoutEventIsRetriedWhenEventsFails(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 5 * time.Second})
	ev := &failOnce{recorder: newRecorder()}
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, receiptTimeout: "300ms"})
	waitUp(t, g, "sandbox")
	if _, err := send(t, g, msg("m1", "hello")); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "Failed", func() bool { return len(ev.failed) == 1 })
	time.Sleep(3 * timeoutRetry)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if n := ev.calls.Load(); n != 2 || len(ev.failed) != 1 || ev.failed[0].ErrorCode != ReceiptTimeoutCode {
		t.Fatalf("Failed called %d times, recorded %+v", n, ev.failed)
	}
}

// TestDeadlineHeapOrder checks the heap keeps the earliest deadline first and
// removes from the middle.
func TestDeadlineHeapOrder(t *testing.T) {
	t.Parallel()
	g := &Gateway{wake: make(chan struct{}, 1)}
	now := time.Now()
	var ts []*tracked
	for _, s := range []int{5, 1, 4, 2, 3} {
		tr := &tracked{deadline: now.Add(time.Duration(s) * time.Second)}
		ts = append(ts, tr)
		g.queueLocked(tr)
	}
	g.queueLocked(ts[0]) // already queued: no duplicate
	g.unqueueLocked(ts[2])
	g.unqueueLocked(ts[2]) // no longer queued: no-op
	var got []time.Duration
	for len(g.due) > 0 {
		tr := g.due[0]
		g.unqueueLocked(tr)
		if tr.queued {
			t.Fatal("still queued after removal")
		}
		got = append(got, tr.deadline.Sub(now)/time.Second)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 5 {
		t.Fatalf("order %v", got)
	}
}

// deliveredFails is a recorder whose Delivered always errors: the report that a
// crash (or a broken event bus) never made.
type deliveredFails struct {
	*recorder
	calls atomic.Int32
}

func (f *deliveredFails) Delivered(context.Context, Outcome) error {
	f.calls.Add(1)
	f.poke()
	return errors.New("event bus down")
}

// TestStoredOutcomeOutlivesItsReporter: the store handed a completed message out to
// a gateway whose report failed (or which crashed before it); the message stays in
// the store and another gateway's sweeper reports it at its redo time. (The store
// used to delete the message as it handed it out: the chaos test lost outcomes so.)
func TestStoredOutcomeOutlivesItsReporter(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 200 * time.Millisecond})
	store := NewMemPending()
	spec := carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1} // receipt_timeout: the default, 48h
	down := &deliveredFails{recorder: newRecorder()}
	a := gatewayWith(t, down, []Option{WithPending(store), WithPendingGrace(0)}, spec)
	waitUp(t, a, "sandbox")
	sent, err := send(t, a, msg("m1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	down.waitFor(t, "the failed report", func() bool { return down.calls.Load() > 0 })
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	ev := newRecorder()
	gatewayWith(t, ev, []Option{WithPending(store)}, spec)
	ev.waitFor(t, "Delivered on the second gateway", func() bool { return len(ev.delivered) == 1 })
	ev.mu.Lock()
	o := ev.delivered[0]
	ev.mu.Unlock()
	if o.MessageID != "m1" || o.State != sms.StateDelivered || strings.Join(o.SMSCIDs, ",") != strings.Join(sent.SMSCIDs, ",") {
		t.Fatalf("outcome %+v, sent %+v", o, sent)
	}
	time.Sleep(3 * timeoutRetry) // finished: not reported again
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.delivered) != 1 || len(ev.failed) != 0 {
		t.Fatalf("delivered %d, failed %d; want 1 and 0", len(ev.delivered), len(ev.failed))
	}
	if _, ok, err := store.NextDeadline(context.Background()); err != nil || ok {
		t.Fatalf("still pending after its report: %v %v", ok, err)
	}
}

// A message whose receipts all came before Send finished is reported by Send
// itself; when that report fails, the store keeps the complete message for its
// sweeper (it used to be logged as lost).
func TestOutcomeReportedBySendIsKeptWhenItsReportFails(t *testing.T) {
	t.Parallel()
	store := NewMemPending()
	g := &Gateway{ev: &deliveredFails{recorder: newRecorder()}, log: testLogger(), store: store, ctx: context.Background(),
		pending: map[string]partRef{}, timeouts: map[string]time.Duration{"c": time.Hour}, wake: make(chan struct{}, 1)}
	tr := &tracked{tenant: "t1", msgID: "m1", carrier: "c", ids: []string{"a", "b"},
		states: []sms.State{sms.StateDelivered, sms.StateDelivered}, codes: []string{"", ""}, finals: 2, complete: make(chan struct{})}
	before := time.Now()
	if err := g.finishSend(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	es, err := store.Expire(context.Background(), before.Add(timeoutRetry+time.Second), before.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].MessageID != "m1" || !es[0].Complete() || es[0].Outcome().State != sms.StateDelivered {
		t.Fatalf("kept %+v, want m1 complete and delivered", es)
	}
}
