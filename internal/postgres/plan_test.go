package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// The batch statements join an unnest of keys to a table. A plan cached while the
// table was small must not outlive its growth: with the pool's plan_cache_mode, a
// statement prepared and run on a nearly empty table uses its primary key once the
// table holds 20,000 rows, though nothing analyzed it.
func TestPlansFollowTheTablesGrowth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var mode string
	if err := conn.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil || mode != planCacheMode {
		t.Fatalf("plan_cache_mode = %q (%v), want %q", mode, err, planCacheMode)
	}
	for _, q := range []string{
		`CREATE TEMP TABLE grows (tenant text, id uuid, v text, PRIMARY KEY (tenant, id)) ON COMMIT PRESERVE ROWS`,
		`ALTER TABLE grows SET (autovacuum_enabled = off)`,
		`INSERT INTO grows SELECT 't', gen_random_uuid(), 'x' FROM generate_series(1, 20)`,
		`PREPARE lock_grows (text[], uuid[]) AS SELECT g.v FROM grows g
			JOIN unnest($1::text[], $2::uuid[]) AS k (t, i) ON g.tenant = k.t AND g.id = k.i FOR UPDATE OF g`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	run := `EXECUTE lock_grows(ARRAY['t','t'], ARRAY[gen_random_uuid(), gen_random_uuid()])`
	for range 8 { // past the five custom plans after which PostgreSQL may keep a generic one
		if _, err := conn.Exec(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO grows SELECT 't', gen_random_uuid(), 'x' FROM generate_series(1, 20000)`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "EXPLAIN "+run)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	t.Logf("plan at 20,020 rows:\n%s", plan)
	if strings.Contains(plan, "Seq Scan on grows") || !strings.Contains(plan, "grows_pkey") {
		t.Fatalf("the statement scans the grown table instead of using its key:\n%s", plan)
	}
}
