package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// Cards stored before 0014 that tie stop the migration with their names, rather than
// the exclusion constraint failing on its own; without a tie it applies.
func TestMigration0014NamesTyingCards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	migrateTo(t, ctx, conn, "0013_sms_mo_parts")
	insert := func(id string, version int, at string) {
		t.Helper()
		if _, err := conn.Exec(ctx, `INSERT INTO rate_cards (id, version, tenant_id, name, currency, effective_from, body, created_at)
			VALUES ($1, $2, 'acme', 'standard', 'EUR', $3, '{}', now())`, id, version, at); err != nil {
			t.Fatal(err)
		}
	}
	insert("card-a", 1, "2026-01-01T00:00:00Z")
	insert("card-a", 2, "2026-01-01T00:00:00Z") // versions of one card may share the instant
	insert("card-b", 1, "2026-01-01T00:00:00Z")
	db := open(t, dbURL, time.Now)
	err = db.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "card-a") || !strings.Contains(err.Error(), "card-b") {
		t.Fatalf("migrating tying cards: %v, want an error naming card-a and card-b", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE rate_cards SET effective_from = '2026-02-01T00:00:00Z' WHERE id = 'card-b'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating once the tie is resolved: %v", err)
	}
}
