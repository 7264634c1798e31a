package charging_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// A ledger conflict (the settle key already records a release) is a final answer:
// Unprocessable, which Knative dead-letters at once, not a 409 retried until then.
func TestLedgerConflictIsFinal(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		a, _ := f.authorize(t, m)
		if _, _, err := f.cfg.Ledger.Post(f.ctx, ledger.NewRelease(f.tenant, a.ReservationID, a.Amount, a.Currency)); err != nil {
			t.Fatal(err)
		}
		_, err := f.engine.Settle(f.ctx, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"}, true)
		if status := errs.Status(err); status != 422 || errs.Retryable(status) {
			t.Fatalf("settle over a conflicting ledger: %v (status %d), want a final 422", err, status)
		}
	})
}

// A top-up the wallet could not hold is refused before the ledger records it.
func TestRefusedTopUpLeavesNoTrace(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "10", smsCard())
		_, _, _, err := f.engine.TopUp(f.ctx, f.tenant, "huge", "", dec("99999999999999999999.999999999999999999"), "EUR")
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Unprocessable || len(e.Fields) != 1 || e.Fields[0].Field != "amount" {
			t.Fatalf("top-up past the limit: %v, want Unprocessable on amount", err)
		}
		f.wantAccount(t, "10", "0")
		f.wantClean(t)
		if _, d := f.authorize(t, f.message("hi")); d != nil {
			t.Fatalf("declined after the refused top-up: %+v", d)
		}
	})
}

// A ledger balance the wallet cannot hold (written before top-ups were checked)
// does not brick the tenant: rebuild goes on past it and names it, loading says why,
// and its messages are declined with the reason instead of failing until
// dead-lettered.
func TestUnloadableLedgerBalanceIsReported(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		other := f.withTenant(t, "EUR", "1", smsCard())
		bad := f.withTenant(t, "EUR", "10", smsCard())
		if _, _, err := f.cfg.Ledger.Post(f.ctx, ledger.NewTopup(bad, "legacy", "", dec("99999999999999999999.999999999999999999"), "EUR")); err != nil {
			t.Fatal(err)
		}
		n, err := f.engine.Rebuild(f.ctx)
		if !errors.Is(err, charging.ErrUnloadable) || !strings.Contains(err.Error(), bad) || n < 1 {
			t.Fatalf("rebuild: %d, %v; want the others loaded and %s named", n, err, bad)
		}
		if _, err := f.engine.Account(f.ctx, other); err != nil {
			t.Fatalf("the other tenant after rebuild: %v", err)
		}
		if _, err := f.engine.Account(f.ctx, bad); !errors.Is(err, charging.ErrUnloadable) || !strings.Contains(err.Error(), "100000000000000000009.999999999999999999") {
			t.Fatalf("account: %v, want ErrUnloadable naming the ledger balance", err)
		}
		f.tenant = bad
		if _, d := f.authorize(t, f.message("hi")); d == nil || !strings.Contains(d.Detail, "ledger") {
			t.Fatalf("message of the unloadable tenant: %+v, want a decline saying why", d)
		}
		// The operator's correction makes the tenant usable again.
		if _, err := f.engine.Adjust(f.ctx, bad, "fix-1", "reverse the legacy top-up", dec("-99999999999999999999.999999999999999999")); err != nil {
			t.Fatalf("adjust: %v", err)
		}
		f.wantAccount(t, "10", "0")
		if _, d := f.authorize(t, f.message("hi")); d != nil {
			t.Fatalf("after the correction: declined %+v", d)
		}
		if _, err := f.engine.Adjust(f.ctx, bad, "fix-2", "", dec("-20")); errs.CodeOf(err) != errs.Unprocessable {
			t.Fatalf("an adjustment below what is reserved: %v, want Unprocessable", err)
		}
		f.wantClean(t)
	})
}

// A decline is a final answer: a replay of the message after a top-up — from the
// first step, or of the reserve step alone — is declined again, nothing reserved.
func TestReplayedDeclineAfterTopUpStaysDeclined(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "0.01", smsCard())
		m := f.message("hello")
		if _, d := f.authorize(t, m); d == nil || d.Reason != catalog.DeclineInsufficientBalance {
			t.Fatalf("first answer: %+v, want insufficient_balance", d)
		}
		if _, _, _, err := f.engine.TopUp(f.ctx, f.tenant, "pay-1", "", dec("1"), "EUR"); err != nil {
			t.Fatal(err)
		}
		a, d := f.authorize(t, m)
		if a != nil || d == nil || d.Reason != catalog.DeclineInsufficientBalance || d.MessageID != m.MessageID {
			t.Fatalf("replay after the top-up: authorized %+v declined %+v, want the first decline again", a, d)
		}
		// The reserve step replayed on its own (its billing.rating redelivered).
		other := f.message("hello")
		r, d, err := f.engine.Rate(f.ctx, other)
		if err != nil || d != nil {
			t.Fatalf("rate: %+v %v", d, err)
		}
		r.Message = m
		a, d, err = f.engine.Reserve(f.ctx, r)
		if err != nil || a != nil || d == nil || d.Reason != catalog.DeclineInsufficientBalance {
			t.Fatalf("reserve replayed after the top-up: %+v %+v %v, want declined", a, d, err)
		}
		f.wantAccount(t, "1.01", "0")
		if _, err := f.cfg.Charges.Get(f.ctx, f.tenant, m.MessageID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("charge of the declined message: %v, want none", err)
		}
		f.wantClean(t)
	})
}

// racingSettings lands a concurrent write (an admin's new levels) right after the
// next read, so the reader's write races it.
type racingSettings struct {
	billing.SettingsStore
	mu    sync.Mutex
	write func()
}

func (r *racingSettings) Get(ctx context.Context, tenantID string) (billing.Settings, error) {
	s, err := r.SettingsStore.Get(ctx, tenantID)
	r.mu.Lock()
	w := r.write
	r.write = nil
	r.mu.Unlock()
	if w != nil {
		w()
	}
	return s, err
}

// The thresholds step does not overwrite levels changed while it ran: it writes
// compare-and-set, and on losing the race reads again and keeps the new levels.
func TestThresholdsKeepConcurrentlyChangedSettings(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		race := &racingSettings{SettingsStore: f.cfg.Settings}
		f.cfg.Settings = race
		f = newFixture(t, f.cfg, f.clock)
		f.withTenant(t, "EUR", "1", smsCard())
		if _, err := f.engine.PutSettings(f.ctx, billing.Settings{TenantID: f.tenant, CriticalLevel: dec("2")}); err != nil {
			t.Fatal(err)
		}
		race.write = func() {
			cur, err := race.SettingsStore.Get(f.ctx, f.tenant)
			if err != nil {
				t.Error(err)
				return
			}
			cur.CriticalLevel, cur.SuspendLevel = dec("3"), dec("0.5")
			if _, err := race.SettingsStore.Put(f.ctx, cur); err != nil {
				t.Error(err)
			}
		}
		a, err := f.engine.Thresholds(f.ctx, f.tenant)
		if err != nil || a.Low == nil || len(a.Outbox) != 1 {
			t.Fatalf("thresholds: %+v %v, want one balance.low", a, err)
		}
		s, err := f.cfg.Settings.Get(f.ctx, f.tenant)
		if err != nil || !s.CriticalLevel.Equal(dec("3")) || !s.SuspendLevel.Equal(dec("0.5")) || !s.LowNotified || len(s.Alerts) != 1 {
			t.Fatalf("settings after the race: %+v %v, want the admin's levels kept and the alert stored", s, err)
		}
	})
}

// A settle dead-lettered after the wallet moved (here: its ledger post conflicts)
// leaves the wallet apart from the ledger; the reconciler waits out the grace (a
// step may be in flight), then reloads the account from the ledger and writes the
// audit record, and verify is clean again.
func TestReconcilerRepairsTheWalletFromTheLedger(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		a, _ := f.authorize(t, m)
		if _, _, err := f.cfg.Ledger.Post(f.ctx, ledger.NewRelease(f.tenant, a.ReservationID, a.Amount, a.Currency)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.engine.Settle(f.ctx, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"}, true); err == nil {
			t.Fatal("settle over a conflicting ledger succeeded")
		}
		if rep, err := f.engine.Verify(f.ctx); err != nil || len(rep.Problems) == 0 {
			t.Fatalf("verify after the dead letter: %+v %v, want the wallet apart", rep, err)
		}
		r := f.engine.NewReconciler(charging.DefaultReconcileGrace)
		got, err := r.Pass(f.ctx)
		if err != nil || len(got.Repaired) != 0 || !slices.Contains(got.Waiting, f.tenant) {
			t.Fatalf("first pass: %+v %v, want the tenant waiting out the grace", got, err)
		}
		f.clock.Advance(charging.DefaultReconcileGrace)
		got, err = r.Pass(f.ctx)
		if err != nil || len(got.Repaired) != 1 || got.Repaired[0].TenantID != f.tenant {
			t.Fatalf("second pass: %+v %v, want the tenant repaired", got, err)
		}
		f.wantAccount(t, "1", "0") // the ledger's: the reservation was released there
		f.wantClean(t)
		audit, err := f.cfg.Charges.Repairs(f.ctx, f.tenant, 10)
		if err != nil || len(audit) != 1 || len(audit[0].Problems) == 0 || audit[0].Wallet.Balance != "0.985" || audit[0].Ledger.Balance != "1" {
			t.Fatalf("audit: %+v %v", audit, err)
		}
		if got, err := r.Pass(f.ctx); err != nil || len(got.Repaired)+len(got.Waiting) != 0 {
			t.Fatalf("a pass after the repair: %+v %v, want nothing to do", got, err)
		}
	})
}

// A new user's USD tenant, no rate card of its own, on the shipped EUR price list:
// the shipped exchange rates price its messages in USD (it was declined no_rate).
// A rate the operator stores for the pair wins over the shipped one.
func TestShippedFXRatesPriceAnotherCurrency(t *testing.T) {
	t.Parallel()
	card, err := charging.LoadDefaultCard("../../config")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := charging.LoadDefaultFX("../../config")
	if err != nil || len(fx) < 10 {
		t.Fatalf("config/fx-rates.json: %d rates, %v", len(fx), err)
	}
	backends(t, func(t *testing.T, f *fixture) {
		f.cfg.DefaultCard, f.cfg.DefaultFX = card, fx
		f = newFixture(t, f.cfg, f.clock)
		id := "t-" + uuid.NewString()[:8]
		if _, err := f.cfg.Tenants.CreateTenant(f.ctx, tenant.Tenant{ID: id, Name: id, Email: id + "@example.com", Currency: "USD", Status: tenant.Active},
			tenant.APIKey{ID: uuid.NewString(), TenantID: id, Prefix: "ck_" + id, Hash: []byte(id)}); err != nil {
			t.Fatal(err)
		}
		f.tenant = id
		if _, _, _, err := f.engine.TopUp(f.ctx, id, "initial", "", dec("1"), "USD"); err != nil {
			t.Fatal(err)
		}
		if err := f.engine.Priceable(f.ctx, id, "sms"); err != nil {
			t.Fatalf("priceable: %v", err)
		}
		a, d := f.authorize(t, f.message("hello"))
		if d != nil || a.Currency != "USD" || a.Amount.String() != "0.0174" {
			t.Fatalf("USD tenant on the EUR price list: %+v %+v, want USD 0.0174", a, d)
		}
		if _, err := f.cfg.FX.Put(f.ctx, billing.FXRate{From: "EUR", To: "USD", Rate: dec("2"), ValidFrom: t0.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if a, d := f.authorize(t, f.message("hello")); d != nil || a.Amount.String() != "0.03" {
			t.Fatalf("with a stored EUR→USD rate: %+v %+v, want USD 0.03", a, d)
		}
		if err := f.engine.Priceable(f.ctx, id, "carrier-pigeon"); errs.CodeOf(err) != errs.Unprocessable {
			t.Fatalf("priceable on a channel the card lacks: %v, want Unprocessable", err)
		}
	})
}
