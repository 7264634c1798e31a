package charging

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Counter counts a tenant's messages per calendar month for volume discounts and
// contract overage, once per message: counting the same message again returns the
// count without adding to it.
type Counter interface {
	Count(ctx context.Context, tenantID, month, messageID string) (int64, error)
}

// MemoryCounter is Counter in memory.
type MemoryCounter struct {
	mu     sync.Mutex
	counts map[[2]string]int64
	seen   map[[3]string]bool
}

// NewMemoryCounter returns an empty counter.
func NewMemoryCounter() *MemoryCounter {
	return &MemoryCounter{counts: map[[2]string]int64{}, seen: map[[3]string]bool{}}
}

// Count implements Counter.
func (c *MemoryCounter) Count(_ context.Context, tenantID, month, messageID string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{tenantID, month}
	if m := [3]string{tenantID, month, messageID}; !c.seen[m] {
		c.seen[m] = true
		c.counts[k]++
	}
	return c.counts[k], nil
}

// RedisCounter is Counter in Redis: a counter per tenant and month, and a marker per
// counted message (kept 40 days, past the month's end) so a replay is not counted.
type RedisCounter struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisCounter returns a counter whose keys start with prefix.
func NewRedisCounter(client redis.UniversalClient, prefix string) *RedisCounter {
	return &RedisCounter{client: client, prefix: prefix}
}

var countScript = redis.NewScript(`
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  local n = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return n
end
return tonumber(redis.call('GET', KEYS[1]) or '0')`)

const counterRetention = 40 * 24 * time.Hour

// Count implements Counter.
func (c *RedisCounter) Count(ctx context.Context, tenantID, month, messageID string) (int64, error) {
	base := c.prefix + "{" + tenantID + "}:volume:" + month
	n, err := countScript.Run(ctx, c.client, []string{base, base + ":" + messageID}, int(counterRetention.Seconds())).Int64()
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "billing: count message %s of tenant %s", messageID, tenantID)
	}
	return n, nil
}
