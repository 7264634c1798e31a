package postgres

import (
	"context"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/migrations"
)

// migrateLockKey is the pg_advisory_xact_lock key that serializes migrators: any
// number of processes may run Migrate at once (every replica at start-up).
const migrateLockKey int64 = 0x636174616c797374 // "catalyst"

var migrationName = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)

// Migration is one embedded migration file.
type Migration struct {
	Version string // the file name without .sql, for example "0001_tenants"
	SQL     string
}

// Migrations returns the embedded migrations in the order Migrate applies them. A
// file in migrations.FS not named NNNN_description.sql is an error.
func Migrations() ([]Migration, error) {
	return readMigrations(migrations.FS)
}

func readMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "postgres: read migrations")
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		if !migrationName.MatchString(e.Name()) {
			return nil, errs.E(errs.Internal, "postgres: migration %q is not named NNNN_description.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "postgres: read migration %s", e.Name())
		}
		out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version[:4] == out[i-1].Version[:4] {
			return nil, errs.E(errs.Internal, "postgres: migrations %s and %s share a number", out[i-1].Version, out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies every embedded migration not yet recorded in schema_migrations, in
// name order, each in its own transaction together with its schema_migrations row.
// It is idempotent, and safe to run from several processes at once: each transaction
// first takes a transaction-scoped advisory lock, so migrators wait for each other.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless it is already recorded.
func (db *DB) apply(ctx context.Context, m Migration) error {
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return wrap(err, "postgres: lock for migration %s", m.Version)
		}
		const ddl = `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    text        PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return wrap(err, "postgres: create schema_migrations")
		}
		var done bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil {
			return wrap(err, "postgres: check migration %s", m.Version)
		}
		if done {
			return nil
		}
		// Without arguments pgx uses the simple protocol, so a file may hold several
		// statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return wrap(err, "postgres: apply migration %s", m.Version)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version); err != nil {
			return wrap(err, "postgres: record migration %s", m.Version)
		}
		return nil
	})
}
