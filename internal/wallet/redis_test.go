package wallet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
	"github.com/catalyst-cpaas/catalyst/internal/wallet/wallettest"
)

func TestRedis(t *testing.T) {
	wallettest.Run(t, func(t *testing.T, now func() time.Time) wallet.Wallet {
		client, prefix := testenv.Redis(t)
		return wallet.NewRedis(client, prefix, wallet.WithClock(now))
	})
}

// TestRedisRetention checks that settled reservations and credit keys get TTLs and
// open reservations do not.
func TestRedisRetention(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	w := wallet.NewRedis(client, prefix, wallet.WithRetention(time.Hour), wallet.WithCreditTTL(2*time.Hour))
	if _, err := w.Load(ctx, wallet.Account{TenantID: "t", Currency: "EUR", Balance: decimal.NewFromInt(5)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := w.Reserve(ctx, wallet.Reservation{ID: id, TenantID: "t", Currency: "EUR", Amount: decimal.NewFromInt(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx, "t", "a", decimal.NewFromInt(1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Credit(ctx, "t", "k", decimal.NewFromInt(1)); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{"{t}:res:a": time.Hour, "{t}:res:b": -1, "{t}:credit:k": 2 * time.Hour} {
		ttl, err := client.PTTL(ctx, prefix+key).Result()
		if err != nil || (want < 0 && ttl != -1) || (want > 0 && (ttl <= want-time.Minute || ttl > want)) {
			t.Errorf("PTTL %s = %v, %v; want %v", key, ttl, err, want)
		}
	}
	// Forgotten (the ledger has the settlement): the settled record goes at once, the
	// open one stays.
	for _, id := range []string{"a", "b"} {
		if err := w.Forget(ctx, "t", id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := client.Exists(ctx, prefix+"{t}:res:a", prefix+"{t}:res:b").Result(); err != nil || n != 1 {
		t.Errorf("after Forget, %d of the settled and the open record exist (%v), want the open one", n, err)
	}
	if ttl, _ := client.PTTL(ctx, prefix+"{t}:res:b").Result(); ttl != -1 {
		t.Errorf("the open record's PTTL after Forget = %v, want none", ttl)
	}
}

// TestLuaDecimal checks decimal.lua's add, sub, cmp and fmt against shopspring/decimal
// on random amounts of every size up to 20 integer and 18 fractional digits.
func TestLuaDecimal(t *testing.T) {
	client, _ := testenv.Redis(t)
	ctx := context.Background()
	s := redis.NewScript(wallet.DecimalLua() + `
local out = {}
for k = 1, #ARGV, 2 do
  local a, b = dec(ARGV[k]), dec(ARGV[k + 1])
  local c = cmp(a, b)
  local d = '-'
  if c >= 0 then d = fmt(sub(a, b)) end
  out[#out + 1] = fmt(a)
  out[#out + 1] = fmt(add(a, b))
  out[#out + 1] = d
  out[#out + 1] = tostring(c)
end
return out`)
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() decimal.Decimal {
		ip, fp := rng.IntN(21), rng.IntN(19)
		digits := func(n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte('0' + rng.IntN(10))
			}
			return string(b)
		}
		s := "0" + digits(ip)
		if fp > 0 {
			s += "." + digits(fp)
		}
		if rng.IntN(8) == 0 { // edge values
			s = []string{"0", "99999999999999999999.999999999999999999", "0.000000000000000001", "1", "999999999999999.999"}[rng.IntN(5)]
		}
		return decimal.RequireFromString(s)
	}
	for round := 0; round < 20; round++ {
		var args []any
		var pairs [][2]decimal.Decimal
		for range 500 {
			a, b := random(), random()
			if rng.IntN(10) == 0 {
				b = a
			}
			pairs = append(pairs, [2]decimal.Decimal{a, b})
			args = append(args, a.String(), b.String())
		}
		out, err := s.Run(ctx, client, nil, args...).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pairs {
			a, b := p[0], p[1]
			want := []string{a.String(), a.Add(b).String(), "-", fmt.Sprint(a.Cmp(b))}
			if a.Cmp(b) >= 0 {
				want[2] = a.Sub(b).String()
			}
			for j, w := range want {
				if out[4*i+j] != w {
					t.Fatalf("op %d on %s, %s = %q, want %q", j, a, b, out[4*i+j], w)
				}
			}
		}
	}
}

// TestRedisConcurrent has 64 goroutines race to reserve one balance, then settles
// half by commit and half by release concurrently; the totals must be exact.
func TestRedisConcurrent(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	w := wallet.NewRedis(client, prefix)
	balance := decimal.RequireFromString("10.000000000000000001")
	amount := decimal.RequireFromString("0.1")
	if _, err := w.Load(ctx, wallet.Account{TenantID: "t", Currency: "EUR", Balance: balance}, nil); err != nil {
		t.Fatal(err)
	}
	const workers, each = 64, 10
	var ok, insufficient atomic.Int64
	var mu sync.Mutex
	var won []string
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("g%d-%d", g, i)
				res, err := w.Reserve(ctx, wallet.Reservation{ID: id, TenantID: "t", Currency: "EUR", Amount: amount})
				if err != nil {
					t.Error(err)
					return
				}
				switch res.Outcome {
				case wallet.Done:
					ok.Add(1)
					mu.Lock()
					won = append(won, id)
					mu.Unlock()
				case wallet.Insufficient:
					insufficient.Add(1)
				default:
					t.Errorf("Reserve = %s", res.Outcome)
				}
				if res.Account.Blocked.GreaterThan(res.Account.Balance) {
					t.Errorf("overdrawn: %+v", res.Account)
				}
			}
		})
	}
	wg.Wait()
	want := balance.Div(amount).Floor().IntPart()
	if ok.Load() != want || ok.Load()+insufficient.Load() != workers*each {
		t.Fatalf("%d reserves succeeded, %d insufficient; want %d succeeded", ok.Load(), insufficient.Load(), want)
	}
	a, _ := w.Account(ctx, "t")
	if !a.Blocked.Equal(amount.Mul(decimal.NewFromInt(want))) || !a.Balance.Equal(balance) {
		t.Fatalf("after reserving: %+v", a)
	}
	// Commit half (charging 0.07 of each 0.1), release the other half, concurrently.
	charged := decimal.RequireFromString("0.07")
	var commits atomic.Int64
	for i, id := range won {
		wg.Go(func() {
			var res wallet.Result
			var err error
			if i%2 == 0 {
				res, err = w.Commit(ctx, "t", id, charged)
				commits.Add(1)
			} else {
				res, err = w.Release(ctx, "t", id)
			}
			if err != nil || res.Outcome != wallet.Done {
				t.Errorf("settle %s = %s, %v", id, res.Outcome, err)
			}
		})
	}
	wg.Wait()
	a, _ = w.Account(ctx, "t")
	wantBalance := balance.Sub(charged.Mul(decimal.NewFromInt(commits.Load())))
	if a.Balance.String() != wantBalance.String() || !a.Blocked.IsZero() || a.Available.String() != wantBalance.String() {
		t.Fatalf("after settling: %+v, want balance %s, blocked 0", a, wantBalance)
	}
	if open, _ := w.Open(ctx, "t"); len(open) != 0 {
		t.Fatalf("%d still open", len(open))
	}
}
