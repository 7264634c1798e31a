package velocity_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
	"github.com/catalyst-cpaas/catalyst/internal/velocity/velocitytest"
)

// Traffic shape: benchTenants tenants of benchSenders senders each, a pool of
// benchDests destinations, 16 contents, 1 message in 8 high-cost; At advances
// 20 µs per message per goroutine, so windows turn over as they would.
const (
	benchTenants = 8
	benchSenders = 256
	benchDests   = 4096
	// benchParallelism × GOMAXPROCS goroutines keep Redis requests in flight;
	// benchPool connections serve them.
	benchParallelism = 32
	benchPool        = 64
)

var (
	benchTenantIDs = names("tenant", benchTenants)
	benchSenderIDs = names("sender", benchSenders)
	benchDestIDs   = func() []string {
		out := make([]string, benchDests)
		for i := range out {
			out[i] = strconv.Itoa(447700000000 + i*7919)
		}
		return out
	}()
)

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

// benchObserve runs c.Observe in parallel on fresh message ids.
func benchObserve(b *testing.B, c velocity.Counter) {
	ctx := context.Background()
	var goroutines atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := goroutines.Add(1)
		id := make([]byte, 0, 32)
		at := velocitytest.Start
		for n := uint64(0); pb.Next(); n++ {
			id = strconv.AppendUint(strconv.AppendInt(id[:0], g, 10), n, 10)
			at = at.Add(20 * time.Microsecond)
			o := velocity.Observation{
				// The counters keep no reference to MessageID (Memory keeps a hash,
				// Redis copies it into keys), so the id buffer is reused without
				// charging its allocation to Observe.
				MessageID:   unsafe.String(unsafe.SliceData(id), len(id)),
				TenantID:    benchTenantIDs[n%benchTenants],
				Sender:      benchSenderIDs[(n*31+uint64(g))%benchSenders],
				Destination: benchDestIDs[(n*7919+uint64(g)*13)%benchDests],
				ContentHash: n % 16,
				HighCost:    n%8 == 0,
				At:          at,
			}
			if _, err := c.Observe(ctx, o); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemoryObserve(b *testing.B) {
	benchObserve(b, velocity.NewMemory())
}

// benchClient returns a client on testenv's Redis with a pool sized for the benchmark.
func benchClient(b *testing.B) (*redis.Client, string) {
	c, prefix := testenv.Redis(b)
	opts := *c.Options()
	opts.PoolSize = benchPool
	client := redis.NewClient(&opts)
	b.Cleanup(func() { client.Close() })
	// Runs before testenv's key-by-key cleanup (cleanups run last first): a benchmark
	// leaves millions of keys, so unlink them in batches.
	b.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 5000).Iterator()
		batch := make([]string, 0, 5000)
		flush := func() {
			if len(batch) > 0 {
				if err := client.Unlink(ctx, batch...).Err(); err != nil {
					b.Errorf("unlink benchmark keys: %v", err)
				}
				batch = batch[:0]
			}
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		if err := iter.Err(); err != nil {
			b.Errorf("scan benchmark keys: %v", err)
		}
	})
	return client, prefix
}

// BenchmarkRedisObserve: "velocity" is Observe (one script, one round trip);
// "evalsha-return-1" is the ceiling, one EVALSHA of a script that returns 1 on the
// same kind of client, so the script's own cost over a bare round trip shows.
func BenchmarkRedisObserve(b *testing.B) {
	b.Run("velocity", func(b *testing.B) {
		client, prefix := benchClient(b)
		b.SetParallelism(benchParallelism)
		benchObserve(b, velocity.NewRedis(client, prefix))
	})
	b.Run("evalsha-return-1", func(b *testing.B) {
		client, prefix := benchClient(b)
		ctx := context.Background()
		trivial := redis.NewScript("return 1")
		if err := trivial.Load(ctx, client).Err(); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(benchParallelism)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			keys := []string{prefix + "{bench}:x"}
			for pb.Next() {
				if err := trivial.EvalSha(ctx, client, keys).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
