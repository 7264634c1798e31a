package billing

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// flakyEmitter fails the first emit of each event id or type in fail, then keeps
// what it is given.
type flakyEmitter struct {
	mu     sync.Mutex
	fail   map[string]bool
	events []event.Event
}

func (e *flakyEmitter) Emit(_ context.Context, ev event.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range []string{ev.ID(), ev.Type()} {
		if e.fail[k] {
			delete(e.fail, k)
			return errors.New("broker unavailable")
		}
	}
	e.events = append(e.events, ev)
	return nil
}

func (e *flakyEmitter) ids() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for _, ev := range e.events {
		out[ev.ID()]++
	}
	return out
}

type env struct {
	ctx    context.Context
	db     *inmem.DB
	clock  *storetest.Clock
	engine *charging.Engine
	cfg    charging.Config
	tenant string
}

// newEnv is a billing engine over in-memory stores with one EUR tenant holding 1 EUR
// on a card of EUR 0.01 per SMS.
func newEnv(t *testing.T) *env {
	t.Helper()
	clock := storetest.NewClock(t0)
	db := inmem.New(inmem.WithClock(clock.Now))
	cfg := charging.Config{Tenants: db.Tenants(), Cards: db.RateCards(), FX: db.FXRates(), Promos: db.Promos(),
		Settings: db.BillingSettings(), Charges: db.Charges(), Wallet: wallet.NewMemory(clock.Now), Ledger: db.Ledger(),
		Volume: charging.NewMemoryCounter(), Now: clock.Now}
	e, err := charging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	x := &env{ctx: context.Background(), db: db, clock: clock, engine: e, cfg: cfg, tenant: "t-" + uuid.NewString()[:8]}
	if _, err := db.Tenants().CreateTenant(x.ctx, tenant.Tenant{ID: x.tenant, Name: x.tenant, Email: x.tenant + "@example.com", Currency: "EUR", Status: tenant.Active},
		tenant.APIKey{ID: uuid.NewString(), TenantID: x.tenant, Prefix: "ck_" + x.tenant, Hash: []byte(x.tenant)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RateCards().Create(x.ctx, billing.RateCard{Name: "std", Currency: "EUR", TenantID: x.tenant, EffectiveFrom: t0.Add(-time.Hour),
		Rates: map[string]billing.ChannelRate{"sms": {BaseRate: decimal.RequireFromString("0.01"), Unit: billing.PerMessage}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.TopUp(x.ctx, x.tenant, "initial", "", decimal.RequireFromString("1"), "EUR"); err != nil {
		t.Fatal(err)
	}
	return x
}

func (x *env) authorize(t *testing.T) catalog.MessageRequested {
	t.Helper()
	m := catalog.MessageRequested{MessageID: uuid.NewString(), TenantID: x.tenant, Channel: "sms", To: "+447700900123",
		Content: catalog.Content{Type: "text", Text: "hi"}}
	a, d, err := x.engine.Authorize(x.ctx, m)
	if err != nil || a == nil {
		t.Fatalf("authorize: %+v %+v %v", a, d, err)
	}
	return m
}

// The expiry sweep reports every reservation it released, though emitting their
// events fails: each gets its charge row at once and its billing.released on the
// next sweep (the wallet no longer lists them as expired).
func TestExpirySweepReportsEveryRelease(t *testing.T) {
	x := newEnv(t)
	first, second := x.authorize(t), x.authorize(t)
	x.clock.Advance(charging.DefaultReservationTTL + time.Second)
	em := &flakyEmitter{fail: map[string]bool{first.MessageID + "/released": true, second.MessageID + "/released": true}}
	s := &settle{engine: x.engine, emit: em, log: slog.New(slog.DiscardHandler)}
	if err := s.expire(x.ctx); err == nil {
		t.Fatal("expire: no error, want the failed emit reported")
	}
	for _, m := range []catalog.MessageRequested{first, second} {
		c, err := x.cfg.Charges.Get(x.ctx, x.tenant, m.MessageID)
		if err != nil || c.Status != billing.ChargeReleased {
			t.Fatalf("charge %s after the sweep: %+v %v, want released", m.MessageID, c, err)
		}
	}
	if err := s.expire(x.ctx); err != nil {
		t.Fatalf("second sweep: %v", err)
	}
	got := em.ids()
	for _, m := range []catalog.MessageRequested{first, second} {
		if got[m.MessageID+"/released"] != 1 {
			t.Fatalf("emitted %v after the next sweep, want each reservation's billing.released once", got)
		}
	}
}

// An alert stored with the thresholds state but not emitted (the broker failed) is
// not lost: the step's redelivery finds nothing new to alert, and the sweep emits it
// under its stored id, once.
func TestStoredAlertIsEmittedBySweep(t *testing.T) {
	x := newEnv(t)
	if _, err := x.engine.PutSettings(x.ctx, billing.Settings{TenantID: x.tenant, CriticalLevel: decimal.RequireFromString("2")}); err != nil {
		t.Fatal(err)
	}
	em := &flakyEmitter{fail: map[string]bool{catalog.BalanceLowType: true}}
	log := slog.New(slog.DiscardHandler)
	step := thresholds{engine: x.engine, emit: em, log: log}
	settled := event.New()
	settled.SetType(catalog.BillingCommittedType)
	settled.SetExtension(catalog.ExtTenantID, x.tenant)
	for range 2 { // the delivery, and its redelivery
		if _, err := step.Handle(x.ctx, settled); err != nil {
			t.Fatal(err)
		}
	}
	if got := em.ids(); len(got) != 0 {
		t.Fatalf("emitted %v, want nothing yet", got)
	}
	s := &settle{engine: x.engine, emit: em, log: log}
	x.clock.Advance(AlertGrace)
	for range 2 {
		if err := s.sweepAlerts(x.ctx); err != nil {
			t.Fatal(err)
		}
	}
	var lows []event.Event
	for _, e := range em.events {
		if e.Type() == catalog.BalanceLowType {
			lows = append(lows, e)
		}
	}
	if len(lows) != 1 {
		t.Fatalf("%d balance.low emitted by the sweeps, want 1", len(lows))
	}
	st, err := x.cfg.Settings.Get(x.ctx, x.tenant)
	if err != nil || len(st.Alerts) != 0 || !st.LowNotified {
		t.Fatalf("settings after the sweep: %+v %v, want the alert cleared", st, err)
	}
}

// A settle whose ledger post conflicts answers 422, which Knative dead-letters at
// once, not 409, which it retries until then.
func TestSettleAnswersALedgerConflictAsFinal(t *testing.T) {
	x := newEnv(t)
	m := x.authorize(t)
	if _, _, err := x.db.Ledger().Post(x.ctx, ledger.NewRelease(x.tenant, m.MessageID, decimal.RequireFromString("0.01"), "EUR")); err != nil {
		t.Fatal(err)
	}
	delivered, err := catalog.New(catalog.MessageDeliveredType, "/test", catalog.MessageRef{MessageID: m.MessageID, TenantID: x.tenant, Channel: "sms"},
		map[string]string{catalog.ExtTenantID: x.tenant, catalog.ExtChannel: "sms", catalog.ExtMessageID: m.MessageID, catalog.ExtPartitionKey: m.MessageID})
	if err != nil {
		t.Fatal(err)
	}
	s := &settle{engine: x.engine, log: slog.New(slog.DiscardHandler), fused: true}
	_, err = s.Handle(x.ctx, delivered)
	if status := errs.Status(err); status != 422 || errs.Retryable(status) {
		t.Fatalf("settle over a conflicting ledger: %v (status %d), want a final 422", err, status)
	}
}
