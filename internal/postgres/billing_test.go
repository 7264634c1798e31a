package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
)

func TestRateCardStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.RateCardStore(t, func(t *testing.T, now func() time.Time) billing.RateCards {
		return open(t, dbURL, now).RateCards()
	})
}

func TestFXRateStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.FXRateStore(t, func(t *testing.T, now func() time.Time) billing.FXRates {
		return open(t, dbURL, now).FXRates()
	})
}

func TestPromoStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.PromoStore(t, func(t *testing.T, now func() time.Time) billing.Promos {
		return open(t, dbURL, now).Promos()
	})
}

func TestSettingsStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.SettingsStore(t, func(t *testing.T, now func() time.Time) billing.SettingsStore {
		return open(t, dbURL, now).BillingSettings()
	})
}

func TestChargeStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.ChargeStore(t, func(t *testing.T, now func() time.Time) billing.Charges {
		return open(t, dbURL, now).Charges()
	})
}

// TestChargePartitions: Record creates the partitions of the current and next month
// and of the batch's months; a charge recorded into the default partition before its
// month had one moves into it when the partition is made, and stays readable.
func TestChargePartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A row in the default partition, as if written before its month had a partition.
	if _, err := conn.Exec(ctx, `INSERT INTO billing_charges (tenant_id, id, status, amount, currency, breakdown, created_at)
		VALUES ('t', 'early', 'reserved', 1.5, 'EUR', '{}', '2031-08-31 23:59:59.999999+00');
		INSERT INTO billing_charge_ids VALUES ('t', 'early', '2031-08-31 23:59:59.999999+00')`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2031, 7, 15, 12, 0, 0, 0, time.UTC)
	store := open(t, dbURL, func() time.Time { return now }).Charges()
	late := time.Date(2031, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := store.Record(ctx, []billing.Charge{{ID: "late", TenantID: "t", Channel: "sms", Amount: decimal.RequireFromString("2"),
		Currency: "EUR", CreatedAt: late}}); err != nil {
		t.Fatalf("Record: %v", err)
	}
	rows, _ := conn.Query(ctx, `SELECT id || ' ' || tableoid::regclass::text FROM billing_charges ORDER BY id`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := "[early billing_charges_2031_08 late billing_charges_2031_12]"; fmt.Sprint(got) != want {
		t.Fatalf("charges are in %v, want %s", got, want)
	}
	rows, _ = conn.Query(ctx, `SELECT relname::text FROM pg_class WHERE relkind = 'r' AND relname ~ '^billing_charges_2' ORDER BY relname`)
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := "[billing_charges_2031_07 billing_charges_2031_08 billing_charges_2031_12]"; fmt.Sprint(parts) != want {
		t.Fatalf("partitions %v, want %s", parts, want)
	}
	early, err := store.Get(ctx, "t", "early")
	if err != nil || early.Amount.String() != "1.5" {
		t.Fatalf("Get(early) = %+v, %v", early, err)
	}
}

// TestChargePartitionsConcurrently: processes meeting a new month at once each try to
// create its partition; one does, the others find it made, and every charge is kept.
func TestChargePartitionsConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	at := time.Date(2032, 3, 31, 23, 59, 59, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		store := open(t, dbURL, func() time.Time { return at }).Charges() // a DB each: no shared memo
		wg.Go(func() {
			err := store.Record(ctx, []billing.Charge{{ID: fmt.Sprint("c", i), TenantID: "t", Amount: decimal.RequireFromString("1"),
				Currency: "EUR", CreatedAt: at}})
			if err != nil {
				t.Errorf("Record %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	page, err := open(t, dbURL, nil).Charges().List(ctx, billing.ChargeFilter{TenantID: "t"})
	if err != nil || len(page.Charges) != 8 {
		t.Fatalf("List = %d charges, %v; want 8", len(page.Charges), err)
	}
}
