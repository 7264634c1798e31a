package postgres_test

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// The read caches (stores.CacheReads) keep each store's contract: writes through a
// wrapper are seen at once by reads through it. The TTL is long, so a write that
// failed to forget a kept answer would fail these.
const contractCacheTTL = time.Hour

func TestCachedTenantStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.TenantStore(t, func(t *testing.T, now func() time.Time) tenant.Store {
		return tenant.Cached(open(t, dbURL, now).Tenants(), contractCacheTTL)
	})
}

func TestCachedSettingsStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.SettingsStore(t, func(t *testing.T, now func() time.Time) billing.SettingsStore {
		return billing.CachedSettings(open(t, dbURL, now).BillingSettings(), contractCacheTTL)
	})
}

func TestCachedRateCardStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.RateCardStore(t, func(t *testing.T, now func() time.Time) billing.RateCards {
		return billing.CachedRateCards(open(t, dbURL, now).RateCards(), contractCacheTTL)
	})
}

func TestCachedPromoStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.PromoStore(t, func(t *testing.T, now func() time.Time) billing.Promos {
		return billing.CachedPromos(open(t, dbURL, now).Promos(), contractCacheTTL)
	})
}
