// Package readcache keeps the answers of a store's hot reads for a short time. The
// request path reads the same few rows for every message (a tenant's API key,
// settings, rate card, promos); a cached answer saves a database round trip each.
//
// An answer is kept for the cache's TTL, or until a write through the same process
// forgets it. Another process's write is therefore seen within the TTL, which is
// the staleness a deployment accepts when it turns caching on (see docs/tuning.md).
// NotFound answers are kept too: most tenants have no settings row or promo, and
// asking again for every message would save nothing. Other errors are not kept.
package readcache

import (
	"context"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// DefaultTTL is how long an answer is kept when the platform does not say.
const DefaultTTL = time.Second

// maxEntries bounds each cache: tenants whose answers do not fit are read again.
const maxEntries = 100_000

// Cache keeps answers of one read by key.
type Cache[K comparable, V any] struct {
	c *otter.Cache[K, answer[V]]
}

type answer[V any] struct {
	v   V
	err error // nil or a NotFound *errs.Error
}

// New returns a cache keeping answers for ttl (> 0).
func New[K comparable, V any](ttl time.Duration) *Cache[K, V] {
	return &Cache[K, V]{c: otter.Must(&otter.Options[K, answer[V]]{
		MaximumSize:      maxEntries,
		ExpiryCalculator: otter.ExpiryWriting[K, answer[V]](ttl),
	})}
}

// Get returns the kept answer for k, or load's (kept when it succeeded or said
// NotFound). Concurrent Gets of one missing key share one load.
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	a, err := c.c.Get(ctx, k, otter.LoaderFunc[K, answer[V]](func(ctx context.Context, _ K) (answer[V], error) {
		v, err := load(ctx)
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return answer[V]{}, err
		}
		return answer[V]{v: v, err: err}, nil
	}))
	if err != nil {
		var zero V
		return zero, err
	}
	return a.v, a.err
}

// Forget drops k's answer: the next Get loads it again.
func (c *Cache[K, V]) Forget(k K) { c.c.Invalidate(k) }

// ForgetAll drops every answer.
func (c *Cache[K, V]) ForgetAll() { c.c.InvalidateAll() }
