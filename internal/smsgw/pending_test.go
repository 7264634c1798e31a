package smsgw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

func TestMemPendingContract(t *testing.T) {
	t.Parallel()
	storetest.SMSPending(t, func(t *testing.T) smsgw.Pending { return smsgw.NewMemPending() })
}

func TestMemMOPartsContract(t *testing.T) {
	t.Parallel()
	storetest.SMSMOParts(t, func(t *testing.T) smsgw.MOParts { return smsgw.NewMemMOParts() })
}

// outcomes is an Events that records outcomes.
type outcomes struct {
	mu                sync.Mutex
	delivered, failed []smsgw.Outcome
}

func (o *outcomes) Delivered(_ context.Context, x smsgw.Outcome) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delivered = append(o.delivered, x)
	return nil
}

func (o *outcomes) Failed(_ context.Context, x smsgw.Outcome) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed = append(o.failed, x)
	return nil
}

func (o *outcomes) Inbound(context.Context, smsgw.Inbound, string) error { return nil }

func (o *outcomes) counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.delivered), len(o.failed)
}

func pgStore(t *testing.T) *postgres.SMSPending {
	t.Helper()
	dbURL := testenv.Postgres(t)
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db.SMSPending()
}

func sandbox(t *testing.T, delay time.Duration) *smsc.Server {
	t.Helper()
	srv, err := smsc.New(smsc.Config{Accounts: map[string]string{"acme": "secret"}, ReceiptDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func startGateway(t *testing.T, addr, receiptTimeout string, ev smsgw.Events, p smsgw.Pending, opts ...smsgw.Option) *smsgw.Gateway {
	t.Helper()
	cfg, err := carrier.Parse([]byte(fmt.Sprintf("carriers:\n  - {name: sandbox, priority: 1, smpp: {address: %q, system_id: acme, password: secret, bind: transceiver, binds: 1, enquire_link: 1s}, routes: [\"*\"]}\n", addr)))
	if err != nil {
		t.Fatal(err)
	}
	if receiptTimeout != "" {
		cfg.Carriers[0].SMPP.ReceiptTimeout = receiptTimeout
	}
	g, err := smsgw.New(context.Background(), cfg, ev, nil, append([]smsgw.Option{smsgw.WithPending(p)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeGateway(t, g) })
	return g
}

func closeGateway(t *testing.T, g *smsgw.Gateway) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// sendWhenUp sends until the carrier has bound (Send waits DownGrace, 3s).
func sendWhenUp(t *testing.T, g *smsgw.Gateway, id, text string) smsgw.Sent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := g.Send(ctx, smsgw.Message{TenantID: "t1", MessageID: id, From: "Catalyst", To: "+447700900123", Text: text})
		cancel()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("Send: %v", err)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReceiptAfterRestartCompletesTheMessage(t *testing.T) {
	t.Parallel()
	store := pgStore(t)
	srv := sandbox(t, 2*time.Second)
	evA := &outcomes{}
	a := startGateway(t, srv.Addr(), "", evA, store)
	sent := sendWhenUp(t, a, "m1", "hello across a restart, in more than one part: "+
		"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	closeGateway(t, a) // before the receipts

	evB := &outcomes{}
	startGateway(t, srv.Addr(), "", evB, store)
	waitUntil(t, "Delivered on gateway B", func() bool { d, _ := evB.counts(); return d > 0 })
	time.Sleep(500 * time.Millisecond) // no second outcome
	if d, f := evB.counts(); d != 1 || f != 0 {
		t.Fatalf("gateway B: delivered %d failed %d, want 1 and 0", d, f)
	}
	if d, f := evA.counts(); d != 0 || f != 0 {
		t.Fatalf("gateway A: delivered %d failed %d, want none", d, f)
	}
	evB.mu.Lock()
	o := evB.delivered[0]
	evB.mu.Unlock()
	if o.MessageID != "m1" || o.TenantID != "t1" || o.Parts != sent.Parts || o.Parts < 2 ||
		fmt.Sprint(o.SMSCIDs) != fmt.Sprint(sent.SMSCIDs) || o.State != sms.StateDelivered {
		t.Fatalf("outcome %+v, sent %+v", o, sent)
	}
	if _, ok, err := store.NextDeadline(context.Background()); err != nil || ok {
		t.Fatalf("store still pending: %v %v", ok, err)
	}
}

func TestReceiptDeadlineSurvivesRestart(t *testing.T) {
	t.Parallel()
	store := pgStore(t)
	srv := sandbox(t, time.Hour) // never in time
	a := startGateway(t, srv.Addr(), "1s", &outcomes{}, store)
	sendWhenUp(t, a, "m1", "hello")
	closeGateway(t, a)

	evB := &outcomes{}
	startGateway(t, srv.Addr(), "1s", evB, store)
	waitUntil(t, "Failed on gateway B", func() bool { _, f := evB.counts(); return f > 0 })
	time.Sleep(300 * time.Millisecond)
	evB.mu.Lock()
	defer evB.mu.Unlock()
	if len(evB.failed) != 1 || len(evB.delivered) != 0 || evB.failed[0].ErrorCode != smsgw.ReceiptTimeoutCode ||
		evB.failed[0].State != sms.StateExpired || evB.failed[0].MessageID != "m1" {
		t.Fatalf("gateway B: delivered %+v failed %+v", evB.delivered, evB.failed)
	}
}

// countingStore counts Add calls and can hold each Add for a while.
type countingStore struct {
	smsgw.Pending
	mu    sync.Mutex
	adds  int
	delay time.Duration
}

func (c *countingStore) Add(ctx context.Context, e smsgw.PendingEntry) error {
	c.mu.Lock()
	c.adds++
	c.mu.Unlock()
	time.Sleep(c.delay)
	return c.Pending.Add(ctx, e)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adds
}

// A message whose receipts come within the grace is reported from memory and never
// written to the store.
func TestFastReceiptsNeverReachTheStore(t *testing.T) {
	t.Parallel()
	store := &countingStore{Pending: smsgw.NewMemPending()}
	srv := sandbox(t, 0)
	ev := &outcomes{}
	g := startGateway(t, srv.Addr(), "", ev, store, smsgw.WithPendingGrace(2*time.Second))
	for i := range 10 {
		sendWhenUp(t, g, fmt.Sprint("m", i), "hello")
	}
	waitUntil(t, "10 delivered", func() bool { d, _ := ev.counts(); return d == 10 })
	if n := store.count(); n != 0 {
		t.Fatalf("%d messages written to the store, want none (their receipts came within the grace)", n)
	}
}

// A receipt that arrives while its message is being written to the store completes
// it once, from memory, and the store is left without it.
func TestReceiptDuringTheStoreWriteCompletesOnce(t *testing.T) {
	t.Parallel()
	store := &countingStore{Pending: smsgw.NewMemPending(), delay: 300 * time.Millisecond}
	srv := sandbox(t, 50*time.Millisecond)
	ev := &outcomes{}
	g := startGateway(t, srv.Addr(), "", ev, store, smsgw.WithPendingGrace(0))
	sendWhenUp(t, g, "m1", "hello")
	waitUntil(t, "delivered", func() bool { d, _ := ev.counts(); return d == 1 })
	time.Sleep(500 * time.Millisecond) // the write, then the clean-up, then no second outcome
	if d, f := ev.counts(); d != 1 || f != 0 {
		t.Fatalf("delivered %d failed %d, want 1 and 0", d, f)
	}
	if store.count() == 0 {
		t.Fatal("the message was never written: the test did not race the write")
	}
	if _, ok, err := store.NextDeadline(context.Background()); err != nil || ok {
		t.Fatalf("the completed message is still pending in the store: %v %v", ok, err)
	}
}

// failingStore refuses every Add.
type failingStore struct{ smsgw.Pending }

func (failingStore) Add(context.Context, smsgw.PendingEntry) error {
	return errors.New("database away")
}

// A message whose receipts cannot be kept is not reported sent: Send fails (so the
// event is redelivered and the message sent again) and the first submission's
// receipts change nothing.
func TestSendFailsWhenItsReceiptsCannotBeKept(t *testing.T) {
	t.Parallel()
	srv := sandbox(t, 4*time.Second) // the receipt comes after Send gave up
	ev := &outcomes{}
	g := startGateway(t, srv.Addr(), "", ev, failingStore{smsgw.NewMemPending()}, smsgw.WithPendingGrace(0))
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; { // until the carrier is bound
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		_, err = g.Send(ctx, smsgw.Message{TenantID: "t1", MessageID: "m1", From: "Catalyst", To: "+447700900123", Text: "hello"})
		cancel()
		if err == nil || strings.Contains(err.Error(), "could not be kept") || time.Now().After(deadline) {
			break
		}
	}
	if errs.CodeOf(err) != errs.Unavailable || !strings.Contains(err.Error(), "could not be kept") {
		t.Fatalf("Send with a failing store: %v, want Unavailable: its receipts could not be kept", err)
	}
	time.Sleep(3 * time.Second) // the receipt comes, for a message the gateway gave up
	if d, f := ev.counts(); d != 0 || f != 0 {
		t.Fatalf("delivered %d failed %d, want no outcome for a message not sent", d, f)
	}
}
