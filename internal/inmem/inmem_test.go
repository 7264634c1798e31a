package inmem_test

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

func TestTenantStore(t *testing.T) {
	t.Parallel()
	storetest.TenantStore(t, func(t *testing.T, now func() time.Time) tenant.Store {
		return inmem.New(inmem.WithClock(now)).Tenants()
	})
}

func TestMessageStore(t *testing.T) {
	t.Parallel()
	storetest.MessageStore(t, func(t *testing.T, now func() time.Time) message.Store {
		return inmem.New(inmem.WithClock(now)).Messages()
	})
}

func TestIdempotencyStore(t *testing.T) {
	t.Parallel()
	storetest.IdempotencyStore(t, func(t *testing.T, now func() time.Time) idempotency.Store {
		return inmem.New(inmem.WithClock(now)).Idempotency()
	})
}

func TestLedgerStore(t *testing.T) {
	t.Parallel()
	storetest.LedgerStore(t, func(t *testing.T, now func() time.Time) ledger.Store {
		return inmem.New(inmem.WithClock(now)).Ledger()
	})
}

func TestNumberStore(t *testing.T) {
	t.Parallel()
	storetest.NumberStore(t, func(t *testing.T, now func() time.Time) numbers.Store {
		return inmem.New(inmem.WithClock(now)).Numbers()
	})
}

// TestNewSharesStores: a DB hands out the same stores each time, so what one caller
// writes another reads.
func TestNewSharesStores(t *testing.T) {
	t.Parallel()
	db := inmem.New()
	if db.Tenants() != db.Tenants() || db.Messages() != db.Messages() || db.Idempotency() != db.Idempotency() ||
		db.Ledger() != db.Ledger() || db.Numbers() != db.Numbers() {
		t.Fatal("a DB returned different store instances")
	}
	if inmem.New().Messages() == db.Messages() {
		t.Fatal("two DBs share a message store")
	}
}
