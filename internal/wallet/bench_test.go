package wallet_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// benchParallelism × GOMAXPROCS goroutines keep requests in flight while others wait
// on the network; benchPool connections serve them.
const (
	benchParallelism = 32
	benchPool        = 64
	benchTenants     = 8
)

// benchClient returns a client on testenv's Redis with a pool sized for the benchmark.
func benchClient(b *testing.B) (*redis.Client, string) {
	c, prefix := testenv.Redis(b)
	opts := *c.Options()
	opts.PoolSize = benchPool
	client := redis.NewClient(&opts)
	b.Cleanup(func() { client.Close() })
	return client, prefix
}

// BenchmarkRedisReserveCommit: each iteration is one Reserve and one Commit of a
// fresh id, on a few tenants.
func BenchmarkRedisReserveCommit(b *testing.B) {
	for _, p := range []int{wallet.DefaultPipelines, 0} {
		name := fmt.Sprintf("pipelines=%d", p)
		if p == 0 {
			name = "unbatched"
		}
		b.Run(name, func(b *testing.B) {
			client, prefix := benchClient(b)
			benchReserveCommit(b, client, wallet.NewRedis(client, prefix, wallet.WithBatching(p)))
		})
	}
}

func benchReserveCommit(b *testing.B, client *redis.Client, w wallet.Wallet) {
	ctx := context.Background()
	for i := range benchTenants {
		acct := wallet.Account{TenantID: fmt.Sprint("t", i), Currency: "EUR", Balance: decimal.New(1, 15)}
		if _, err := w.Load(ctx, acct, nil); err != nil {
			b.Fatal(err)
		}
	}
	amount := decimal.RequireFromString("0.016929")
	charged := decimal.RequireFromString("0.015")
	var seq atomic.Int64
	b.SetParallelism(benchParallelism)
	cpu0, self0 := redisCPU(b, client), selfCPU()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			tenant, id := fmt.Sprint("t", n%benchTenants), fmt.Sprint("m", n)
			res, err := w.Reserve(ctx, wallet.Reservation{ID: id, TenantID: tenant, Currency: "EUR", Amount: amount})
			if err != nil || res.Outcome != wallet.Done {
				b.Errorf("Reserve = %s, %v", res.Outcome, err)
				return
			}
			if res, err = w.Commit(ctx, tenant, id, charged); err != nil || res.Outcome != wallet.Done {
				b.Errorf("Commit = %s, %v", res.Outcome, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reserve+commit/s")
	b.ReportMetric((selfCPU()-self0).Seconds()*1e6/float64(b.N), "client-cpu-µs/op")
	b.ReportMetric((redisCPU(b, client)-cpu0).Seconds()*1e6/float64(b.N), "redis-cpu-µs/op")
}

// selfCPU returns this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU returns the Redis server's CPU time so far (INFO cpu): the benchmark
// shares the machine with it, and this says which side is the bottleneck.
func redisCPU(b *testing.B, client *redis.Client) time.Duration {
	info, err := client.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_user" || k == "used_cpu_sys" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkRedisEvalSha is the ceiling: EVALSHA of `return 1`, same concurrency.
func BenchmarkRedisEvalSha(b *testing.B) {
	client, _ := benchClient(b)
	ctx := context.Background()
	s := redis.NewScript("return 1")
	if err := s.Load(ctx, client).Err(); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.EvalSha(ctx, client, nil).Err(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "evalsha/s")
}
