package testenv

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestPostgresGivesEachTestItsOwnDatabase(t *testing.T) {
	t.Parallel()
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatalf("connect to %s: %v", a, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var n int
	if err := other.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table created in %s is visible in %s", a, b)
	}
}

func TestRedisPrefixesAreUniqueAndCleaned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var key string
	t.Run("writer", func(t *testing.T) {
		client, prefix := Redis(t)
		key = prefix + "k"
		if err := client.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		_, other := Redis(t)
		if other == prefix {
			t.Fatalf("two calls returned the same prefix %s", prefix)
		}
	})
	client, _ := Redis(t)
	if n, err := client.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("key %s left behind after its test (exists=%d, err=%v)", key, n, err)
	}
}
