package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// benchTenants is how many tenants the benchmarks spread reservations over: enough
// that concurrent batches rarely wait on each other's ledger_balances rows.
const benchTenants = 10000

// benchBatch is the batch size, the Batcher's default.
const benchBatch = 256

// benchDB returns a migrated database with a pool of 32 connections and the real clock
// (rows go to the current month's partition).
func benchDB(b *testing.B) (*postgres.DB, string) {
	b.Helper()
	dbURL := testenv.Postgres(b)
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "32")
	u.RawQuery = q.Encode()
	db, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db, dbURL
}

// reserves makes reservation transactions with unique keys, over benchTenants tenants.
type reserves struct {
	prefix string
	n      atomic.Int64
}

func newReserves() *reserves { return &reserves{prefix: uuid.NewString()[:8]} }

var benchAmount = decimal.RequireFromString("0.016929")

func (r *reserves) next() ledger.Transaction {
	i := r.n.Add(1)
	return ledger.NewReserve(fmt.Sprintf("tenant-%d", i%benchTenants), fmt.Sprintf("%s-%d", r.prefix, i), benchAmount, "EUR")
}

// report adds transactions/s and rows/s (a transaction row and two posting rows each).
func report(b *testing.B, txs int64) {
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(txs)/secs, "transactions/s")
	b.ReportMetric(float64(txs*3)/secs, "rows/s")
}

func BenchmarkLedgerPostBatch(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			db, _ := benchDB(b)
			store, gen := db.Ledger(), newReserves()
			ctx := context.Background()
			post := func() {
				txs := make([]ledger.Transaction, benchBatch)
				for i := range txs {
					txs[i] = gen.next()
				}
				out, err := store.PostBatch(ctx, txs)
				if err != nil {
					b.Error(err)
					return
				}
				for _, r := range out {
					if r.Err != nil || !r.Created {
						b.Errorf("item: created %v, %v", r.Created, r.Err)
						return
					}
				}
			}
			post() // the partitions check, once
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post()
					}
				})
			} else {
				for b.Loop() {
					post()
				}
			}
			report(b, int64(b.N)*benchBatch)
		})
	}
}

func BenchmarkLedgerBatcherParallel(b *testing.B) {
	db, _ := benchDB(b)
	batcher := ledger.NewBatcher(db.Ledger(), ledger.BatcherOptions{})
	defer batcher.Close()
	gen := newReserves()
	ctx := context.Background()
	if _, _, err := batcher.Post(ctx, gen.next()); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(64) // GOMAXPROCS×64 concurrent posts: enough to fill batches
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, created, err := batcher.Post(ctx, gen.next()); err != nil || !created {
				b.Errorf("Post: created %v, %v", created, err)
				return
			}
		}
	})
	report(b, int64(b.N))
}

// BenchmarkPostgresCopyRaw is the ceiling: COPY of the same rows (256 transaction rows
// and 512 posting rows per op, the columns of ledger_transactions and ledger_postings)
// into plain and unlogged tables with the same primary keys, no partitions, no
// idempotency or balances.
func BenchmarkPostgresCopyRaw(b *testing.B) {
	for _, unlogged := range []bool{false, true} {
		name, kind := "plain", "TABLE"
		if unlogged {
			name, kind = "unlogged", "UNLOGGED TABLE"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			_, dbURL := benchDB(b)
			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, ddl := range []string{
				`CREATE ` + kind + ` raw_transactions (id text, tenant_id text, kind text, key text, reference text,
					reservation text, at timestamptz, PRIMARY KEY (id, at))`,
				`CREATE ` + kind + ` raw_postings (transaction_id text, seq integer, at timestamptz, account text,
					currency char(3), amount NUMERIC(38,18), PRIMARY KEY (transaction_id, seq, at))`,
			} {
				if _, err := conn.Exec(ctx, ddl); err != nil {
					b.Fatal(err)
				}
			}
			gen := newReserves()
			b.ResetTimer()
			for b.Loop() {
				at := time.Now().UTC()
				txRows, postRows := make([][]any, 0, benchBatch), make([][]any, 0, 2*benchBatch)
				for range benchBatch {
					tx := gen.next()
					id := uuid.NewString()
					txRows = append(txRows, []any{id, tx.TenantID, string(tx.Kind), tx.Key, "", tx.Reservation, at})
					for j, p := range tx.Postings {
						postRows = append(postRows, []any{id, int32(j + 1), at, p.Account, p.Currency, p.Amount.String()})
					}
				}
				err := pgx.BeginFunc(ctx, conn, func(dbtx pgx.Tx) error {
					if _, err := dbtx.CopyFrom(ctx, pgx.Identifier{"raw_transactions"},
						[]string{"id", "tenant_id", "kind", "key", "reference", "reservation", "at"}, pgx.CopyFromRows(txRows)); err != nil {
						return err
					}
					_, err := dbtx.CopyFrom(ctx, pgx.Identifier{"raw_postings"},
						[]string{"transaction_id", "seq", "at", "account", "currency", "amount"}, pgx.CopyFromRows(postRows))
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			report(b, int64(b.N)*benchBatch)
		})
	}
}
