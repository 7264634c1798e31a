package charging

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Counter counts a tenant's committed messages per calendar month, for volume
// discounts and contract overage: rating reads the count, settling adds one for each
// message committed. It keeps one number per tenant and month, nothing per message:
// the engine adds only when the ledger records a commit for the first time (its
// PostgreSQL uniqueness on the settle key), so a replayed commit is not counted again.
type Counter interface {
	// Count returns the tenant's count for month ("2026-11"), 0 when there is none.
	Count(ctx context.Context, tenantID, month string) (int64, error)
	// Add counts one more message in month and returns the new count.
	Add(ctx context.Context, tenantID, month string) (int64, error)
}

// MemoryCounter is Counter in memory. It keeps each tenant's last memoryMonths
// months, so it stays as small as the number of tenants.
type MemoryCounter struct {
	mu     sync.Mutex
	counts map[string]map[string]int64 // tenant → month → count
}

const memoryMonths = 3

// NewMemoryCounter returns an empty counter.
func NewMemoryCounter() *MemoryCounter {
	return &MemoryCounter{counts: map[string]map[string]int64{}}
}

// Count implements Counter.
func (c *MemoryCounter) Count(_ context.Context, tenantID, month string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[tenantID][month], nil
}

// Add implements Counter.
func (c *MemoryCounter) Add(_ context.Context, tenantID, month string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	months := c.counts[tenantID]
	if months == nil {
		months = map[string]int64{}
		c.counts[tenantID] = months
	}
	months[month]++
	n := months[month]
	if len(months) > memoryMonths { // "YYYY-MM" sorts by time: drop the oldest
		keys := make([]string, 0, len(months))
		for m := range months {
			keys = append(keys, m)
		}
		sort.Strings(keys)
		for _, m := range keys[:len(keys)-memoryMonths] {
			delete(months, m)
		}
	}
	return n, nil
}

// RedisCounter is Counter in Redis: one counter per tenant and month, kept 40 days
// from its last message (past the month's end, for the month's close).
type RedisCounter struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisCounter returns a counter whose keys start with prefix.
func NewRedisCounter(client redis.UniversalClient, prefix string) *RedisCounter {
	return &RedisCounter{client: client, prefix: prefix}
}

var addScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n`)

const counterRetention = 40 * 24 * time.Hour

func (c *RedisCounter) key(tenantID, month string) string {
	return c.prefix + "{" + tenantID + "}:volume:" + month
}

// Count implements Counter.
func (c *RedisCounter) Count(ctx context.Context, tenantID, month string) (int64, error) {
	n, err := c.client.Get(ctx, c.key(tenantID, month)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "billing: read the month's volume of tenant %s", tenantID)
	}
	return n, nil
}

// Add implements Counter.
func (c *RedisCounter) Add(ctx context.Context, tenantID, month string) (int64, error) {
	n, err := addScript.Run(ctx, c.client, []string{c.key(tenantID, month)}, int(counterRetention.Seconds())).Int64()
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "billing: count a committed message of tenant %s", tenantID)
	}
	return n, nil
}
