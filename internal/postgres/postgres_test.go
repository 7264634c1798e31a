package postgres_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// migrated returns the URL of a fresh, migrated database for the test.
func migrated(t *testing.T) string {
	t.Helper()
	dbURL := testenv.Postgres(t)
	db := open(t, dbURL, nil)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return dbURL
}

// open connects to dbURL with a small pool (subtests each open one, in parallel)
// and the given clock, closing it when the test ends.
func open(t *testing.T, dbURL string, now func() time.Time) *postgres.DB {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "8")
	u.RawQuery = q.Encode()
	db, err := postgres.Open(context.Background(), u.String(), postgres.WithClock(now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestTenantStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.TenantStore(t, func(t *testing.T, now func() time.Time) tenant.Store {
		return open(t, dbURL, now).Tenants()
	})
}

func TestMessageStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.MessageStore(t, func(t *testing.T, now func() time.Time) message.Store {
		return open(t, dbURL, now).Messages()
	})
}

func TestIdempotencyStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.IdempotencyStore(t, func(t *testing.T, now func() time.Time) idempotency.Store {
		return open(t, dbURL, now).Idempotency()
	})
}

func TestLedgerStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.LedgerStore(t, func(t *testing.T, now func() time.Time) ledger.Store {
		return open(t, dbURL, now).Ledger()
	})
}

func TestNumberStore(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.NumberStore(t, func(t *testing.T, now func() time.Time) numbers.Store {
		return open(t, dbURL, now).Numbers()
	})
}

// applied returns the versions recorded in schema_migrations of dbURL, in order.
func applied(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	db := open(t, dbURL, nil)
	want, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate run %d: %v", run+1, err)
		}
		got := applied(t, dbURL)
		if len(got) != len(want) {
			t.Fatalf("run %d: schema_migrations holds %v, want %d versions", run+1, got, len(want))
		}
		for i, m := range want {
			if got[i] != m.Version {
				t.Fatalf("run %d: version %d is %s, want %s", run+1, i, got[i], m.Version)
			}
		}
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	const n = 4
	dbs := make([]*postgres.DB, n)
	for i := range dbs {
		dbs[i] = open(t, dbURL, nil) // separate pools, as separate processes would have
	}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			if err := db.Migrate(ctx); err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	want, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if got := applied(t, dbURL); len(got) != len(want) {
		t.Fatalf("schema_migrations holds %v, want %d versions", got, len(want))
	}
	// The schema works: a store round trip.
	if _, err := dbs[1].Tenants().GetTenant(ctx, "nobody"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("GetTenant on the migrated schema: %v, want NotFound", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		name, url string
		want      errs.Code
	}{
		{"malformed url", "postgres://%zz", errs.Invalid},
		{"nothing listening", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", errs.Unavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := postgres.Open(ctx, c.url)
			if db != nil {
				db.Close()
			}
			if errs.CodeOf(err) != c.want {
				t.Fatalf("Open(%s): %v, want code %q", c.url, err, c.want)
			}
		})
	}
}

func TestSMSPending(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.SMSPending(t, func(t *testing.T) smsgw.Pending { return open(t, dbURL, nil).SMSPending() })
}

func TestSMSMOParts(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.SMSMOParts(t, func(t *testing.T) smsgw.MOParts { return open(t, dbURL, nil).SMSMOParts() })
}
