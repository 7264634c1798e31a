package charging_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) // a Wednesday

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// fixture is an engine over one backend, with a settable clock.
type fixture struct {
	// newWallet returns an empty wallet on the fixture's backend (a flushed Redis).
	newWallet func() wallet.Wallet
	ctx       context.Context
	engine    *charging.Engine
	cfg       charging.Config
	clock     *storetest.Clock
	tenant    string
	// redis and prefix are the Redis backend's client and key prefix (nil in memory).
	redis  *redis.Client
	prefix string
}

// memory returns an engine over in-memory stores and wallet.
func memory(t *testing.T) *fixture {
	t.Helper()
	clock := storetest.NewClock(t0)
	db := inmem.New(inmem.WithClock(clock.Now))
	cfg := charging.Config{Tenants: db.Tenants(), Cards: db.RateCards(), FX: db.FXRates(), Promos: db.Promos(),
		Settings: db.BillingSettings(), Charges: db.Charges(), Wallet: wallet.NewMemory(clock.Now), Ledger: db.Ledger(),
		Volume: charging.NewMemoryCounter(), Now: clock.Now}
	f := newFixture(t, cfg, clock)
	f.newWallet = func() wallet.Wallet { return wallet.NewMemory(clock.Now) }
	return f
}

// real returns an engine over PostgreSQL and a Redis wallet, through the ledger batcher.
func real(t *testing.T) *fixture {
	t.Helper()
	clock := storetest.NewClock(t0)
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t), postgres.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	client, prefix := testenv.Redis(t)
	batcher := ledger.NewBatcher(db.Ledger(), ledger.BatcherOptions{})
	t.Cleanup(batcher.Close)
	cfg := charging.Config{Tenants: db.Tenants(), Cards: db.RateCards(), FX: db.FXRates(), Promos: db.Promos(),
		Settings: db.BillingSettings(), Charges: db.Charges(), Wallet: wallet.NewRedis(client, prefix+"wallet:"), Ledger: batcher,
		Volume: charging.NewRedisCounter(client, prefix+"volume:"), Now: clock.Now}
	f := newFixture(t, cfg, clock)
	f.redis, f.prefix = client, prefix
	flushes := 0
	f.newWallet = func() wallet.Wallet {
		flushes++
		return wallet.NewRedis(client, fmt.Sprintf("%swallet-%d:", prefix, flushes))
	}
	return f
}

func newFixture(t *testing.T, cfg charging.Config, clock *storetest.Clock) *fixture {
	t.Helper()
	e, err := charging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return &fixture{ctx: context.Background(), engine: e, cfg: cfg, clock: clock}
}

// withTenant creates a tenant in currency with a balance and a card.
func (f *fixture) withTenant(t *testing.T, currency, balance string, card billing.RateCard) string {
	t.Helper()
	id := "t-" + uuid.NewString()[:8]
	if _, err := f.cfg.Tenants.CreateTenant(f.ctx, tenant.Tenant{ID: id, Name: id, Email: id + "@example.com", Currency: currency, Status: tenant.Active},
		tenant.APIKey{ID: uuid.NewString(), TenantID: id, Prefix: "ck_" + id, Hash: []byte(id)}); err != nil {
		t.Fatal(err)
	}
	card.TenantID = id
	if card.EffectiveFrom.IsZero() {
		card.EffectiveFrom = t0.Add(-time.Hour)
	}
	if _, err := f.cfg.Cards.Create(f.ctx, card); err != nil {
		t.Fatal(err)
	}
	if balance != "0" {
		if _, _, _, err := f.engine.TopUp(f.ctx, id, "initial", "", dec(balance), currency); err != nil {
			t.Fatal(err)
		}
	}
	f.tenant = id
	return id
}

// smsCard is EUR 0.015 per segment, nothing else.
func smsCard(mod ...func(*billing.RateCard)) billing.RateCard {
	c := billing.RateCard{Name: "standard", Currency: "EUR",
		Rates: map[string]billing.ChannelRate{"sms": {BaseRate: dec("0.015"), Unit: billing.PerSegment}}}
	for _, m := range mod {
		m(&c)
	}
	return c
}

func (f *fixture) message(text string) catalog.MessageRequested {
	return catalog.MessageRequested{MessageID: uuid.NewString(), TenantID: f.tenant, Channel: "sms", To: "+447700900123",
		Content: catalog.Content{Type: "text", Text: text}}
}

// authorize runs the six authorize steps as the Sequence does.
func (f *fixture) authorize(t *testing.T, m catalog.MessageRequested) (*catalog.BillingAuthorized, *catalog.BillingDeclined) {
	t.Helper()
	r, d, err := f.engine.Rate(f.ctx, m)
	if err != nil {
		t.Fatalf("Rate: %v", err)
	}
	if d != nil {
		return nil, d
	}
	if err := f.engine.Discount(f.ctx, &r); err != nil {
		t.Fatalf("Discount: %v", err)
	}
	if err := f.engine.Fees(f.ctx, &r); err != nil {
		t.Fatalf("Fees: %v", err)
	}
	if err := f.engine.Tax(f.ctx, &r); err != nil {
		t.Fatalf("Tax: %v", err)
	}
	if d, err := f.engine.FX(f.ctx, &r); err != nil || d != nil {
		if err != nil {
			t.Fatalf("FX: %v", err)
		}
		return nil, d
	}
	a, d, err := f.engine.Reserve(f.ctx, r)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return a, d
}

func (f *fixture) settle(t *testing.T, m catalog.MessageRequested, delivered bool) charging.Settled {
	t.Helper()
	s, err := f.engine.Settle(f.ctx, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)}, delivered)
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if s.Committed != nil {
		if err := f.engine.RecordCommitted(f.ctx, *s.Committed); err != nil {
			t.Fatal(err)
		}
	}
	if s.Released != nil {
		if err := f.engine.RecordReleased(f.ctx, *s.Released); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (f *fixture) wantAccount(t *testing.T, balance, blocked string) {
	t.Helper()
	a, err := f.engine.Account(f.ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Balance.Equal(dec(balance)) || !a.Blocked.Equal(dec(blocked)) {
		t.Fatalf("account: balance %s blocked %s, want %s and %s", a.Balance, a.Blocked, balance, blocked)
	}
	b, err := f.cfg.Ledger.Balance(f.ctx, f.tenant, a.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Amount.Equal(dec(balance)) || !b.Blocked.Equal(dec(blocked)) {
		t.Fatalf("ledger: amount %s blocked %s, want %s and %s", b.Amount, b.Blocked, balance, blocked)
	}
}

func (f *fixture) wantClean(t *testing.T) {
	t.Helper()
	rep, err := f.engine.Verify(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

func (f *fixture) wantCharge(t *testing.T, id string, status billing.ChargeStatus, charged string) billing.Charge {
	t.Helper()
	c, err := f.cfg.Charges.Get(f.ctx, f.tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != status || !c.Charged.Equal(dec(charged)) {
		t.Fatalf("charge %s: %s charged %s, want %s charged %s", id, c.Status, c.Charged, status, charged)
	}
	return c
}

// backends runs a test on the in-memory engine and on PostgreSQL + Redis.
func backends(t *testing.T, run func(t *testing.T, f *fixture)) {
	for name, build := range map[string]func(*testing.T) *fixture{"memory": memory, "postgres+redis": real} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, build(t))
		})
	}
}
