package inmem_test

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
)

func TestRateCardStore(t *testing.T) {
	t.Parallel()
	storetest.RateCardStore(t, func(t *testing.T, now func() time.Time) billing.RateCards {
		return inmem.New(inmem.WithClock(now)).RateCards()
	})
}

func TestFXRateStore(t *testing.T) {
	t.Parallel()
	storetest.FXRateStore(t, func(t *testing.T, now func() time.Time) billing.FXRates {
		return inmem.New(inmem.WithClock(now)).FXRates()
	})
}

func TestPromoStore(t *testing.T) {
	t.Parallel()
	storetest.PromoStore(t, func(t *testing.T, now func() time.Time) billing.Promos {
		return inmem.New(inmem.WithClock(now)).Promos()
	})
}

func TestSettingsStore(t *testing.T) {
	t.Parallel()
	storetest.SettingsStore(t, func(t *testing.T, now func() time.Time) billing.SettingsStore {
		return inmem.New(inmem.WithClock(now)).BillingSettings()
	})
}

func TestChargeStore(t *testing.T) {
	t.Parallel()
	storetest.ChargeStore(t, func(t *testing.T, now func() time.Time) billing.Charges {
		return inmem.New(inmem.WithClock(now)).Charges()
	})
}

// TestBillingStoresShared: a DB hands out the same billing stores each time.
func TestBillingStoresShared(t *testing.T) {
	t.Parallel()
	db := inmem.New()
	if db.RateCards() != db.RateCards() || db.FXRates() != db.FXRates() || db.Promos() != db.Promos() ||
		db.BillingSettings() != db.BillingSettings() || db.Charges() != db.Charges() {
		t.Fatal("a DB returned different billing store instances")
	}
}
