// Package inmem keeps tenant.Store, message.Store and idempotency.Store in memory:
// the embedded default of `catalyst dev` and the fast double of unit tests. Each
// store is a mutex-guarded set of maps; values are deep-copied on the way in and out,
// so a caller never shares memory with the store. It passes the same contract suites
// (internal/storetest) as internal/postgres. Nothing survives the process.
package inmem

import (
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// DB holds one instance of each store; its methods return the same store each time.
type DB struct {
	tenants     *TenantStore
	messages    *MessageStore
	idempotency *IdempotencyStore
	ledger      *LedgerStore
	numbers     *NumberStore
	billing     *billingStores
}

// Option configures New.
type Option func(*config)

type config struct{ now func() time.Time }

// WithClock makes the stores read the time from now instead of time.Now: CreatedAt,
// UpdatedAt, an entry's missing At and idempotency expiry all come from it. A nil now
// keeps time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// New returns empty stores.
func New(opts ...Option) *DB {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	clock := func() time.Time { return c.now().UTC().Truncate(time.Microsecond) }
	return &DB{
		tenants:     newTenantStore(clock),
		messages:    newMessageStore(clock),
		idempotency: newIdempotencyStore(clock),
		ledger:      newLedgerStore(clock),
		numbers:     newNumberStore(clock),
		billing:     newBillingStores(clock),
	}
}

// Tenants returns the tenant store.
func (db *DB) Tenants() tenant.Store { return db.tenants }

// Messages returns the message store.
func (db *DB) Messages() message.Store { return db.messages }

// Idempotency returns the idempotency-key store.
func (db *DB) Idempotency() idempotency.Store { return db.idempotency }

// cloneBytes copies b; nil and empty both give nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
