package wallet_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
	"github.com/catalyst-cpaas/catalyst/internal/wallet/wallettest"
)

func TestMemory(t *testing.T) {
	wallettest.Run(t, func(t *testing.T, now func() time.Time) wallet.Wallet { return wallet.NewMemory(now) })
}

// TestMemoryBounded checks the memory wallet holds only open reservations and the
// settlements of the last retention: forgotten ones go at once, the rest when their
// retention ends.
func TestMemoryBounded(t *testing.T) {
	clock := storetest.NewClock(wallettest.Start)
	w := wallet.NewMemory(clock.Now)
	ctx := context.Background()
	if _, err := w.Load(ctx, wallet.Account{TenantID: "t", Currency: "EUR", Balance: decimal.NewFromInt(1_000_000)}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := range n {
		id := strconv.Itoa(i)
		if _, err := w.Reserve(ctx, wallet.Reservation{ID: id, TenantID: "t", Currency: "EUR", Amount: decimal.NewFromInt(1)}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			continue // stays open
		}
		if _, err := w.Commit(ctx, "t", id, decimal.NewFromInt(1)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 1 {
			if err := w.Forget(ctx, "t", id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := w.Records(); got != 2*n/3 {
		t.Fatalf("%d records, want %d open and settled unforgotten", got, 2*n/3)
	}
	clock.Advance(wallet.DefaultRetention)
	for range n { // enough calls for a sweep
		if _, err := w.Account(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Records(); got != n/3 {
		t.Fatalf("%d records after the retention, want the %d open ones", got, n/3)
	}
}
