package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// epoch is a test clock's start: recent, so Unix microseconds have today's size.
var epoch = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)

func TestMemory(t *testing.T) {
	storetest.RateLimiter(t, func(t *testing.T) (ratelimit.Limiter, func(time.Duration)) {
		c := storetest.NewClock(epoch)
		return ratelimit.NewMemory(c.Now), c.Advance
	})
}

func TestRedis(t *testing.T) {
	storetest.RateLimiter(t, func(t *testing.T) (ratelimit.Limiter, func(time.Duration)) {
		client, prefix := testenv.Redis(t)
		r := ratelimit.NewRedis(client, prefix)
		c := storetest.NewClock(epoch)
		ratelimit.SetClock(r, c.Now)
		return r, c.Advance
	})
}

// TestRedisTime checks the production path, Redis TIME, in real time with margins
// far above scheduling noise.
func TestRedisTime(t *testing.T) {
	client, prefix := testenv.Redis(t)
	r := ratelimit.NewRedis(client, prefix)
	ctx := context.Background()

	// Slow refill (one token a second) so the denial cannot be undone by a slow test.
	slow := ratelimit.Limit{Rate: 10, Period: 10 * time.Second, Burst: 10}
	if d, err := r.Allow(ctx, "slow", slow, 10); err != nil || !d.Allowed {
		t.Fatalf("first burst = %+v, %v", d, err)
	}
	d, err := r.Allow(ctx, "slow", slow, 1)
	if err != nil || d.Allowed || d.RetryAfter <= 500*time.Millisecond || d.RetryAfter > time.Second {
		t.Fatalf("after burst = %+v, %v; want denied with RetryAfter in (0.5s, 1s]", d, err)
	}
	ttl, err := client.PTTL(ctx, prefix+"slow").Result()
	if err != nil || ttl <= 9*time.Second || ttl > 10*time.Second {
		t.Fatalf("key TTL = %v, %v; want about 10s (until the bucket is full)", ttl, err)
	}

	// Fast refill: 10 per 200ms; after 400ms (2× the period) the bucket is full again
	// and its key gone.
	fast := ratelimit.Limit{Rate: 10, Period: 200 * time.Millisecond, Burst: 10}
	if d, err := r.Allow(ctx, "fast", fast, 10); err != nil || !d.Allowed {
		t.Fatalf("first burst = %+v, %v", d, err)
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := client.Exists(ctx, prefix+"fast").Result(); err != nil || n != 0 {
		t.Fatalf("key exists = %d, %v after the bucket refilled; want expired", n, err)
	}
	if d, err := r.Allow(ctx, "fast", fast, 10); err != nil || !d.Allowed {
		t.Fatalf("burst after refill = %+v, %v", d, err)
	}
}

// TestSameDecisions runs one random workload against Memory and Redis on the same
// clock and requires identical decisions, step by step.
func TestSameDecisions(t *testing.T) {
	client, prefix := testenv.Redis(t)
	c := storetest.NewClock(epoch)
	mem := ratelimit.NewMemory(c.Now)
	red := ratelimit.NewRedis(client, prefix)
	ratelimit.SetClock(red, c.Now)
	limits := []ratelimit.Limit{
		{Rate: 10, Period: 200 * time.Millisecond, Burst: 10},
		{Rate: 3, Period: time.Second, Burst: 5},       // 333333µs: inexact interval
		{Rate: 7, Period: time.Minute, Burst: 1},       // no burst
		{Rate: 1000, Period: time.Second, Burst: 2500}, // burst above rate
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for i := range 3000 {
		l := limits[rng.IntN(len(limits))]
		key := fmt.Sprintf("k%d-%d", rng.IntN(3), l.Rate)
		n := rng.IntN(l.Burst + 2)
		dm, err := mem.Allow(ctx, key, l, n)
		if err != nil {
			t.Fatal(err)
		}
		dr, err := red.Allow(ctx, key, l, n)
		if err != nil {
			t.Fatal(err)
		}
		if dm != dr {
			t.Fatalf("step %d: Allow(%s, %+v, %d): memory %+v, redis %+v", i, key, l, n, dm, dr)
		}
		c.Advance(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
	}
}

func TestMemoryEvictsFullBuckets(t *testing.T) {
	c := storetest.NewClock(epoch)
	m := ratelimit.NewMemory(c.Now)
	l := ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 10}
	ctx := context.Background()
	for i := range 1000 {
		if _, err := m.Allow(ctx, fmt.Sprint("k", i), l, 1); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", m.Len())
	}
	c.Advance(100 * time.Millisecond) // every bucket is full again
	for range 1000 {
		if _, err := m.Allow(ctx, "hot", l, 1); err != nil {
			t.Fatal(err)
		}
		c.Advance(100 * time.Millisecond)
	}
	if m.Len() > 1 {
		t.Fatalf("Len = %d after the buckets refilled, want at most 1", m.Len())
	}
}

func BenchmarkAllow(b *testing.B) {
	l := ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}
	bench := func(b *testing.B, lim ratelimit.Limiter) {
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := lim.Allow(ctx, fmt.Sprint("tenant-", i%64), l, 1); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	b.Run("Memory", func(b *testing.B) { bench(b, ratelimit.NewMemory(nil)) })
	b.Run("Redis", func(b *testing.B) {
		client, prefix := testenv.Redis(b)
		bench(b, ratelimit.NewRedis(client, prefix))
	})
}
