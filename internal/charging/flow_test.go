package charging_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

func TestAuthorizeThenCommitOnDelivery(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		a, d := f.authorize(t, m)
		if d != nil {
			t.Fatalf("declined: %+v", d)
		}
		if !a.Amount.Equal(dec("0.015")) || a.Currency != "EUR" || a.ReservationID != m.MessageID || a.Message.To != m.To {
			t.Fatalf("authorized %+v", a)
		}
		f.wantAccount(t, "1", "0.015")
		f.wantCharge(t, m.MessageID, billing.ChargeReserved, "0")
		s := f.settle(t, m, true)
		if s.Committed == nil || !s.Committed.Amount.Equal(dec("0.015")) || !s.Committed.Available.Equal(dec("0.985")) {
			t.Fatalf("settled %+v", s)
		}
		f.wantAccount(t, "0.985", "0")
		f.wantCharge(t, m.MessageID, billing.ChargeCommitted, "0.015")
		f.wantClean(t)
	})
}

// The worked example, through the six steps: EUR 0.015, 5% volume discount,
// FX EUR→USD 1.10, 8% tax → USD 0.016929 reserved, and charged on delivery.
func TestWorkedExampleReservedAndCharged(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "USD", "1", smsCard(func(c *billing.RateCard) {
			c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.015"), Unit: billing.PerMessage}
			c.VolumeDiscounts = []billing.VolumeDiscount{{DiscountPercent: dec("5")}}
			c.Tax = billing.Tax{RatePercent: dec("8")}
		}))
		if _, err := f.cfg.FX.Put(f.ctx, billing.FXRate{From: "EUR", To: "USD", Rate: dec("1.10"), ValidFrom: t0.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		m := f.message("hello")
		a, d := f.authorize(t, m)
		if d != nil || a.Amount.String() != "0.016929" || a.Currency != "USD" {
			t.Fatalf("authorized %+v, declined %+v; want USD 0.016929", a, d)
		}
		c := f.wantCharge(t, m.MessageID, billing.ChargeReserved, "0")
		if b := c.Breakdown; b.FXRate.String() != "1.1" || b.Tax.String() != "0.001254" || b.Discount.String() != "0.00075" || b.RateCardVersion != 1 {
			t.Fatalf("breakdown %+v", b)
		}
		f.settle(t, m, true)
		f.wantAccount(t, "0.983071", "0")
		f.wantClean(t)
	})
}

func TestFailureReleasesUnlessTheRateChargesOnFailure(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard(func(c *billing.RateCard) {
			c.Rates["whatsapp"] = billing.ChannelRate{BaseRate: dec("0.05"), Unit: billing.PerMessage, ChargeOnFailure: true}
		}))
		sms := f.message("hi")
		wa := f.message("hi")
		wa.Channel = "whatsapp"
		for _, m := range []catalog.MessageRequested{sms, wa} {
			if _, d := f.authorize(t, m); d != nil {
				t.Fatalf("declined %+v", d)
			}
		}
		f.wantAccount(t, "1", "0.065")
		if s := f.settle(t, sms, false); s.Released == nil || s.Released.Reason != catalog.ReleaseFailed {
			t.Fatalf("sms failure: %+v, want released", s)
		}
		if s := f.settle(t, wa, false); s.Committed == nil || !s.Committed.OnFailure {
			t.Fatalf("whatsapp failure: %+v, want committed on failure", s)
		}
		f.wantAccount(t, "0.95", "0")
		f.wantCharge(t, sms.MessageID, billing.ChargeReleased, "0")
		f.wantCharge(t, wa.MessageID, billing.ChargeCommitted, "0.05")
		f.wantClean(t)
	})
}

// Duplicates and replays of every step charge once: a second authorize of the same
// message, a delivered reported twice, and a failure after the delivery.
func TestReplaysNeverChargeTwice(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		first, _ := f.authorize(t, m)
		again, d := f.authorize(t, m)
		if d != nil || again.ReservationID != first.ReservationID || !again.Amount.Equal(first.Amount) {
			t.Fatalf("replayed authorize: %+v %+v", again, d)
		}
		f.wantAccount(t, "1", "0.015")
		f.settle(t, m, true)
		if s := f.settle(t, m, true); s.Committed == nil {
			t.Fatalf("replayed delivery: %+v, want the first commit described again", s)
		}
		if s := f.settle(t, m, false); s.Committed == nil || s.Released != nil {
			t.Fatalf("failure after delivery: %+v, want the commit to stand", s)
		}
		f.wantAccount(t, "0.985", "0")
		f.wantClean(t)
	})
}

func TestDeclines(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "0.01", smsCard())
		if _, d := f.authorize(t, f.message("hi")); d == nil || d.Reason != catalog.DeclineInsufficientBalance {
			t.Fatalf("0.01 EUR for a 0.015 SMS: %+v, want insufficient_balance", d)
		}
		m := f.message("hi")
		m.Channel = "viber"
		if _, d := f.authorize(t, m); d == nil || d.Reason != catalog.DeclineNoRate {
			t.Fatalf("viber: %+v, want no_rate", d)
		}
		f.withTenant(t, "GBP", "5", smsCard())
		if _, d := f.authorize(t, f.message("hi")); d == nil || d.Reason != catalog.DeclineNoRate {
			t.Fatalf("EUR card, GBP tenant, no FX: %+v, want no_rate", d)
		}
		f.wantAccount(t, "5", "0")
		f.wantClean(t)
	})
}

// A reservation nobody settles expires and is released; a late delivery then charges
// nothing.
func TestExpiredReservationsAreReleased(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		f.authorize(t, m)
		if got, err := f.engine.ExpireDue(f.ctx, 10); err != nil || len(got) != 0 {
			t.Fatalf("before expiry: %v %v", got, err)
		}
		f.clock.Advance(charging.DefaultReservationTTL + time.Second)
		got, err := f.engine.ExpireDue(f.ctx, 10)
		if err != nil || len(got) != 1 || got[0].Reason != catalog.ReleaseExpired || got[0].MessageID != m.MessageID {
			t.Fatalf("after expiry: %+v %v", got, err)
		}
		if err := f.engine.RecordReleased(f.ctx, got[0]); err != nil {
			t.Fatal(err)
		}
		if s := f.settle(t, m, true); s.Committed != nil {
			t.Fatalf("late delivery committed %+v", s.Committed)
		}
		f.wantAccount(t, "1", "0")
		f.wantCharge(t, m.MessageID, billing.ChargeReleased, "0")
		f.wantClean(t)
	})
}

func TestThresholdsSuspendAndTopUpReinstates(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "0.05", smsCard(func(c *billing.RateCard) {
			c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.02"), Unit: billing.PerMessage}
		}))
		if _, err := f.engine.PutSettings(f.ctx, billing.Settings{TenantID: f.tenant, CriticalLevel: dec("0.04"), SuspendLevel: dec("0.02")}); err != nil {
			t.Fatal(err)
		}
		var lows, suspensions int
		for i := range 2 {
			m := f.message("hi")
			if _, d := f.authorize(t, m); d != nil {
				t.Fatalf("message %d declined: %+v", i, d)
			}
			f.settle(t, m, true)
			a, err := f.engine.Thresholds(f.ctx, f.tenant)
			if err != nil {
				t.Fatal(err)
			}
			if a.Low != nil {
				lows++
			}
			if a.Suspended != nil {
				suspensions++
			}
		}
		// 0.05 → 0.03 (below critical 0.04: one alert) → 0.01 (below suspend 0.02).
		if lows != 1 || suspensions != 1 {
			t.Fatalf("%d balance.low and %d suspensions, want 1 and 1", lows, suspensions)
		}
		if _, d := f.authorize(t, f.message("hi")); d == nil || d.Reason != catalog.DeclineTenantSuspended {
			t.Fatalf("suspended tenant: %+v, want tenant_suspended", d)
		}
		_, _, alerts, err := f.engine.TopUp(f.ctx, f.tenant, "pay-2", "", dec("1"), "EUR")
		if err != nil || alerts.Reinstated == nil {
			t.Fatalf("top-up: alerts %+v, %v; want reinstated", alerts, err)
		}
		if _, d := f.authorize(t, f.message("hi")); d != nil {
			t.Fatalf("after top-up: declined %+v", d)
		}
		f.wantClean(t)
	})
}

// The wallet is a cache: a fresh one (a flushed Redis) is loaded from the ledger,
// open reservations included, and settles them.
func TestWalletReloadsFromTheLedger(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		open, done := f.message("one"), f.message("two")
		f.authorize(t, open)
		f.authorize(t, done)
		f.settle(t, done, true)
		if err := f.cfg.Wallet.Unload(f.ctx, f.tenant); err != nil {
			t.Fatal(err)
		}
		f.wantAccount(t, "0.985", "0.015") // loaded on first use
		f.settle(t, open, true)
		f.wantAccount(t, "0.97", "0")
		if n, err := f.engine.Rebuild(f.ctx); err != nil || n < 1 {
			t.Fatalf("rebuild: %d, %v", n, err)
		}
		f.wantClean(t)
	})
}

func TestCommissionGoesToThePartner(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard(func(c *billing.RateCard) {
			c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.1"), Unit: billing.PerMessage}
			c.Commission = &billing.Commission{PartnerID: "reseller-1", Percent: map[string]decimal.Decimal{"sms": dec("10")}, Cap: dec("0.005")}
		}))
		m := f.message("hi")
		f.authorize(t, m)
		f.settle(t, m, true)
		totals, err := f.cfg.Ledger.Accounts(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range totals {
			got[a.Account] = a.Balance.String()
		}
		// 10% of 0.1 is 0.01, capped at 0.005.
		if got[ledger.PartnerCommission("reseller-1")] != "0.005" || got[ledger.PlatformRevenue] == "" {
			t.Fatalf("accounts %v", got)
		}
		f.wantClean(t)
	})
}

// 64 goroutines reserve against one balance at once: never more than it holds, then
// half are committed and half released concurrently, and verify is clean.
func TestConcurrentReservesNeverOverdraw(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1.000000000000000001", smsCard(func(c *billing.RateCard) {
			c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.01"), Unit: billing.PerMessage}
		}))
		const workers, each = 64, 4 // 256 attempts for 100 affordable messages
		var ok atomic.Int64
		var mu sync.Mutex
		var authorized []catalog.MessageRequested
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					m := f.message("hi")
					a, d := f.authorize(t, m)
					if d != nil && d.Reason != catalog.DeclineInsufficientBalance {
						t.Errorf("declined %+v", d)
					}
					if a != nil {
						ok.Add(1)
						mu.Lock()
						authorized = append(authorized, m)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 100 {
			t.Fatalf("%d reservations of 0.01 against 1.000000000000000001, want exactly 100", ok.Load())
		}
		f.wantAccount(t, "1.000000000000000001", "1")
		for i, m := range authorized {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.settle(t, m, i%2 == 0)
			}()
		}
		wg.Wait()
		f.wantAccount(t, "0.500000000000000001", "0")
		f.wantClean(t)
	})
}

// A first-N-free promo prices the first messages at zero: they are authorized with
// nothing reserved, settle to a zero charge, and the third message pays.
func TestFirstNFreePromo(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		if _, err := f.cfg.Promos.Create(f.ctx, billing.Promo{Code: "WELCOME-" + f.tenant, TenantID: f.tenant,
			Kind: billing.PromoFirstNFree, FreeCount: 2}); err != nil {
			t.Fatal(err)
		}
		var amounts []string
		for range 3 {
			m := f.message("hi")
			a, d := f.authorize(t, m)
			if d != nil {
				t.Fatalf("declined %+v", d)
			}
			amounts = append(amounts, a.Amount.String())
			if s := f.settle(t, m, true); s.Committed == nil {
				t.Fatalf("settle: %+v", s)
			}
			c := f.wantCharge(t, m.MessageID, billing.ChargeCommitted, a.Amount.String())
			if c.Breakdown.PromoCode == "" && len(amounts) <= 2 {
				t.Fatalf("free message %d has no promo in its breakdown: %+v", len(amounts), c.Breakdown)
			}
		}
		if fmt.Sprint(amounts) != "[0 0 0.015]" {
			t.Fatalf("amounts %v, want two free then 0.015", amounts)
		}
		f.wantAccount(t, "0.985", "0")
		f.wantClean(t)
	})
}

// The platform's price list (config/rate-card.json) is a valid card, and prices a
// tenant that has no card of its own.
func TestDefaultPriceList(t *testing.T) {
	t.Parallel()
	card, err := charging.LoadDefaultCard("../../config")
	if err != nil || card == nil {
		t.Fatalf("config/rate-card.json: %v", err)
	}
	f := memory(t)
	f.cfg.DefaultCard = card
	f = newFixture(t, f.cfg, f.clock)
	// The tenant's own card takes effect only in an hour: until then the default prices.
	f.withTenant(t, "EUR", "1", smsCard(func(c *billing.RateCard) {
		c.EffectiveFrom = t0.Add(time.Hour)
		c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.5"), Unit: billing.PerMessage}
	}))
	a, d := f.authorize(t, f.message("hello"))
	if d != nil || a.Amount.String() != "0.015" {
		t.Fatalf("tenant priced by the default card: %+v %+v", a, d)
	}
	if c, _ := f.cfg.Charges.Get(f.ctx, f.tenant, a.ReservationID); c.Breakdown.RateCardID != "default" {
		t.Fatalf("breakdown names card %q, want default", c.Breakdown.RateCardID)
	}
}

// After the wallet forgot a settled message (a flushed Redis, or past its retention),
// a replay of its authorize neither reserves nor authorizes it again.
func TestReplayAfterTheWalletForgotASettledMessage(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		f.authorize(t, m)
		f.settle(t, m, true)
		f.cfg.Wallet = f.newWallet()
		f = newFixture(t, f.cfg, f.clock)
		f.tenant = m.TenantID
		if a, d := f.authorize(t, m); a != nil || d != nil {
			t.Fatalf("replay after the wallet forgot: authorized %+v declined %+v, want neither", a, d)
		}
		if s := f.settle(t, m, true); s.Committed == nil {
			t.Fatalf("a second delivery: %+v, want the commit described again", s)
		}
		f.wantAccount(t, "0.985", "0")
		f.wantClean(t)
	})
}

// A contract's monthly minimum: the month's committed spend falls short, the
// shortfall is charged once however often the month is closed.
func TestCloseMonthChargesTheContractShortfallOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "10", smsCard(func(c *billing.RateCard) {
			c.Rates["sms"] = billing.ChannelRate{BaseRate: dec("0.5"), Unit: billing.PerMessage}
			c.Contract = &billing.Contract{MonthlyMinimum: dec("2")}
			c.EffectiveFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		}))
		for range 2 {
			m := f.message("hi")
			if _, d := f.authorize(t, m); d != nil {
				t.Fatalf("declined %+v", d)
			}
			f.settle(t, m, true)
		}
		for range 2 {
			got, err := f.engine.CloseMonth(f.ctx, f.tenant, billing.MonthOf(t0))
			if err != nil {
				t.Fatal(err)
			}
			if got.Spend.String() != "1" || got.Shortfall.String() != "1" {
				t.Fatalf("close: %+v, want spend 1 and shortfall 1", got)
			}
		}
		f.wantAccount(t, "8", "0") // 10 − 2 × 0.5 − the shortfall 1, once
		f.wantCharge(t, "contract-"+billing.MonthOf(t0), billing.ChargeCommitted, "1")
		if got, err := f.engine.CloseMonth(f.ctx, f.tenant, "2026-10"); err != nil || !got.Shortfall.Equal(dec("2")) || !got.Charged {
			t.Fatalf("an idle month: %+v %v, want the whole minimum charged", got, err)
		}
		if got, err := f.engine.CloseMonth(f.ctx, f.tenant, "2026-09"); err != nil || !got.Shortfall.IsZero() {
			t.Fatalf("a month before the contract: %+v %v, want nothing", got, err)
		}
		if got, err := f.engine.CloseMonth(f.ctx, f.tenant, "2026-08"); err != nil || got.Charged {
			t.Fatalf("%+v %v", got, err)
		}
		f.wantAccount(t, "6", "0")
		f.wantClean(t)
	})
}
