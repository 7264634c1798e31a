package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
)

// The cached wrappers forget what a write through them changes, so reads through
// them see it at once, even with a TTL of an hour.

func TestCachedRateCardsSeeWritesAndUpcomingVersions(t *testing.T) {
	ctx := context.Background()
	cards := billing.CachedRateCards(inmem.New().RateCards(), time.Hour)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := cards.InForce(ctx, "tenant-1", t0); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("InForce before any card: %v, want NotFound", err)
	}
	c := billing.RateCard{ID: "card-1", Name: "std", TenantID: "tenant-1", Currency: "EUR", EffectiveFrom: t0,
		Rates: map[string]billing.ChannelRate{"sms": {BaseRate: decimal.RequireFromString("0.01"), Unit: billing.PerSegment}}}
	if _, err := cards.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := cards.InForce(ctx, "tenant-1", t0.Add(time.Second))
	if err != nil || got.Version != 1 {
		t.Fatalf("InForce after Create = v%d, %v; want v1 (the kept NotFound forgotten)", got.Version, err)
	}
	// A version effective later takes over at its EffectiveFrom, not a TTL later.
	c.EffectiveFrom = t0.Add(time.Hour)
	c.Rates["sms"] = billing.ChannelRate{BaseRate: decimal.RequireFromString("0.02"), Unit: billing.PerSegment}
	if _, err := cards.Update(ctx, c, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{{t0.Add(2 * time.Minute), 1}, {t0.Add(time.Hour), 2}, {t0.Add(30 * time.Minute), 1}} {
		got, err := cards.InForce(ctx, "tenant-1", tc.at)
		if err != nil || got.Version != tc.want {
			t.Errorf("InForce(%s) = v%d, %v; want v%d", tc.at.Format(time.TimeOnly), got.Version, err, tc.want)
		}
	}
}

func TestCachedPromosCountUsesAndExpiry(t *testing.T) {
	ctx := context.Background()
	promos := billing.CachedPromos(inmem.New().Promos(), time.Hour)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if ps, err := promos.Active(ctx, "tenant-1", t0); err != nil || len(ps) != 0 {
		t.Fatalf("Active before any promo = %v, %v", ps, err)
	}
	exp := t0.Add(time.Hour)
	if _, err := promos.Create(ctx, billing.Promo{Code: "ONCE", TenantID: "tenant-1", Kind: billing.PromoPercent,
		Value: decimal.RequireFromString("10"), MaxUses: 1, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	if ps, err := promos.Active(ctx, "tenant-1", t0); err != nil || len(ps) != 1 {
		t.Fatalf("Active after Create = %v, %v; want the new promo", ps, err)
	}
	if ps, _ := promos.Active(ctx, "tenant-1", exp); len(ps) != 0 {
		t.Errorf("Active at its expiry = %v, want none", ps)
	}
	if _, ok, err := promos.Redeem(ctx, "ONCE", "tenant-1", "msg-1", t0); err != nil || !ok {
		t.Fatalf("Redeem = %v, %v", ok, err)
	}
	if ps, _ := promos.Active(ctx, "tenant-1", t0.Add(time.Second)); len(ps) != 0 {
		t.Errorf("Active after its one use = %v, want none", ps)
	}
}
