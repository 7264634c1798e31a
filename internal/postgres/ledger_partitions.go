package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// partitionLockKey serializes EnsureLedgerPartitions across processes.
const partitionLockKey int64 = 0x6c65646765727061 // "ledgerpa"

// partitionedTables are the ledger tables migration 0007 partitions by month on at.
var partitionedTables = []string{"ledger_transactions", "ledger_postings"}

// partitions remembers which months a LedgerStore has made sure of, so a post pays
// for the check once per month and store, not once per batch.
type partitions struct {
	mu     sync.Mutex
	native *bool // nil until known: false under TimescaleDB (it makes its own chunks)
	done   map[time.Time]bool
}

// monthOf returns the start of t's month in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// ensure makes sure the partitions of at's month and the next exist before rows at
// at are inserted: creating them ahead of time keeps rows out of DEFAULT.
func (p *partitions) ensure(ctx context.Context, db *DB, at time.Time) error {
	m := monthOf(at)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.native != nil && (!*p.native || p.done[m] && p.done[m.AddDate(0, 1, 0)]) {
		return nil
	}
	native, err := db.EnsureLedgerPartitions(ctx, m, 2)
	if err != nil {
		return err
	}
	p.native = &native
	if p.done == nil {
		p.done = map[time.Time]bool{}
	}
	p.done[m], p.done[m.AddDate(0, 1, 0)] = true, true
	return nil
}

// EnsureLedgerPartitions creates, unless they exist, the monthly partitions of the
// ledger tables for the months months starting with from's month (UTC), and reports
// whether the ledger is natively partitioned (false under TimescaleDB, where it does
// nothing). The store calls it before the first post in a month; a cron job may call
// it to create months ahead.
//
// A partition cannot be created over rows that already sit in the DEFAULT partition
// for its range (PostgreSQL refuses rather than move them), so a new month's partition
// is built detached: create a plain table like the parent, move that month's rows out
// of DEFAULT into it, then ATTACH it — one transaction, under an advisory lock.
func (db *DB) EnsureLedgerPartitions(ctx context.Context, from time.Time, months int) (native bool, err error) {
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var kind string
		if err := tx.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = 'ledger_transactions'::regclass`).Scan(&kind); err != nil {
			return wrap(err, "postgres: inspect ledger_transactions")
		}
		if native = kind == "p"; !native {
			return nil
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", partitionLockKey); err != nil {
			return wrap(err, "postgres: lock ledger partitions")
		}
		m := monthOf(from)
		for range months {
			for _, table := range partitionedTables {
				if err := createPartition(ctx, tx, table, m); err != nil {
					return err
				}
			}
			m = m.AddDate(0, 1, 0)
		}
		return nil
	})
	return native, err
}

// createPartition creates table's partition for the month starting at m, moving its
// rows out of the DEFAULT partition.
func createPartition(ctx context.Context, tx pgx.Tx, table string, m time.Time) error {
	name := fmt.Sprintf("%s_p%04d_%02d", table, m.Year(), m.Month())
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		return wrap(err, "postgres: look for partition %s", name)
	}
	if exists {
		return nil
	}
	// DDL takes no parameters; every value below is generated here, never input.
	lo, hi := m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339)
	stmts := []string{
		fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`, name, table),
		fmt.Sprintf(`WITH moved AS (DELETE FROM %s_default WHERE at >= '%s' AND at < '%s' RETURNING *)
			INSERT INTO %s SELECT * FROM moved`, table, lo, hi, name),
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`, table, name, lo, hi),
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return wrap(err, "postgres: create partition %s", name)
		}
	}
	return nil
}
