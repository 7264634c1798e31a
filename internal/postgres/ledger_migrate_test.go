package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// migrateTo applies the embedded migrations up to and including version by hand, as
// Migrate would, recording them in schema_migrations.
func migrateTo(t *testing.T, ctx context.Context, conn *pgx.Conn, version string) {
	t.Helper()
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version > version {
			return
		}
		if _, err := conn.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("apply %s: %v", m.Version, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version); err != nil {
			t.Fatal(err)
		}
	}
}

// insert0004 records tx as the 0004 schema held it.
func insert0004(t *testing.T, ctx context.Context, conn *pgx.Conn, tx ledger.Transaction) {
	t.Helper()
	if _, err := conn.Exec(ctx, `INSERT INTO ledger_transactions (id, tenant_id, kind, key, reference, fingerprint, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tx.ID, tx.TenantID, string(tx.Kind), tx.Key, tx.Reference, tx.Fingerprint(), tx.At); err != nil {
		t.Fatal(err)
	}
	for i, p := range tx.Postings {
		if _, err := conn.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, seq, account, currency, amount)
			VALUES ($1, $2, $3, $4, $5::numeric)`, tx.ID, i+1, p.Account, p.Currency, p.Amount.String()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigration0007KeepsTheLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	migrateTo(t, ctx, conn, "0006_sms_pending")

	d := decimal.RequireFromString
	old := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	future := time.Date(2031, 5, 6, 0, 0, 0, 0, time.UTC) // beyond the partitions 0007 makes: in DEFAULT
	txs := []ledger.Transaction{
		ledger.NewTopup("acme", "pay-1", "invoice 1", d("10.5"), "EUR"),
		ledger.NewReserve("acme", "r1", d("0.016929"), "EUR"),
		ledger.NewCommit("acme", "r1", d("0.016929"), d("0.01"), "EUR", ledger.PartnerCommission("p1"), d("0.002")),
		ledger.NewReserve("acme", "r2", d("0.5"), "EUR"),
		ledger.NewTopup("beta", "pay-1", "", d("99999999999999999999.999999999999999999"), "USD"),
		ledger.NewTopup("beta", "pay-2", "", d("99999999999999999999.999999999999999999"), "USD"),
	}
	for i := range txs {
		txs[i].ID = "tx-" + string(rune('a'+i))
		txs[i].At = old.Add(time.Duration(i) * time.Hour)
	}
	txs[5].At = future
	for _, tx := range txs {
		insert0004(t, ctx, conn, tx)
	}

	db := open(t, dbURL, func() time.Time { return future.Add(time.Hour) })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	store := db.Ledger()
	b, err := store.Balance(ctx, "acme", "EUR")
	if err != nil || ledger.Format(b.Available) != "9.99" || ledger.Format(b.Blocked) != "0.5" {
		t.Fatalf("acme balance = %+v, %v; want 9.99 available, 0.5 blocked", b, err)
	}
	b, err = store.Balance(ctx, "beta", "USD")
	if err != nil || ledger.Format(b.Available) != "199999999999999999999.999999999999999998" {
		t.Fatalf("beta balance = %+v, %v", b, err)
	}
	accounts, err := store.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if !a.Credits.Sub(a.Debits).Equal(a.Balance) {
			t.Errorf("%s/%s: credits %s - debits %s != balance %s", a.Account, a.Currency, a.Credits, a.Debits, a.Balance)
		}
		if a.Account == ledger.PartnerCommission("p1") && (ledger.Format(a.Balance) != "0.002" || a.Postings != 1) {
			t.Errorf("partner account %+v", a)
		}
	}
	if len(accounts) != 7 {
		t.Errorf("%d accounts, want 7: %+v", len(accounts), accounts)
	}
	// Reservations were read back from the keys: r1 is settled, r2 open.
	open, err := store.OpenReservations(ctx, "acme")
	if err != nil || len(open) != 1 || open[0].Reservation != "r2" || open[0].ID != "tx-d" || !open[0].At.Equal(txs[3].At) {
		t.Fatalf("open reservations = %+v, %v; want tx-d of r2", open, err)
	}
	// The keys moved: a retry is answered with the old transaction, other postings
	// are Conflict, a settle of r1 is Conflict.
	rec, created, err := store.Post(ctx, ledger.NewTopup("acme", "pay-1", "", d("10.50"), "EUR"))
	if err != nil || created || rec.ID != "tx-a" || !rec.At.Equal(old) || rec.Reference != "invoice 1" {
		t.Fatalf("retry after migration = %+v, %v, %v", rec, created, err)
	}
	if _, _, err := store.Post(ctx, ledger.NewRelease("acme", "r1", d("0.016929"), "EUR")); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("release of a committed reservation: %v, want Conflict", err)
	}
	// The store made the partition of its month and moved beta's 2031 row out of DEFAULT.
	var inDefault, inPartition int
	if err := conn.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM ledger_transactions_default) + (SELECT count(*) FROM ledger_postings_default),
			(SELECT count(*) FROM ledger_transactions_p2031_05) + (SELECT count(*) FROM ledger_postings_p2031_05)`).Scan(&inDefault, &inPartition); err != nil {
		t.Fatal(err)
	}
	if inDefault != 0 || inPartition != 3 {
		t.Errorf("%d rows in DEFAULT, %d in the 2031-05 partitions; want 0 and 3", inDefault, inPartition)
	}
	var where string
	if err := conn.QueryRow(ctx, `SELECT tableoid::regclass::text FROM ledger_transactions WHERE id = 'tx-a'`).Scan(&where); err != nil || where != "ledger_transactions_p2024_01" {
		t.Errorf("an old transaction is in %q (%v), want ledger_transactions_p2024_01", where, err)
	}
}

func TestEnsureLedgerPartitionsMovesRowsOutOfDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	db := open(t, dbURL, nil)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	at := time.Date(2040, 2, 10, 0, 0, 0, 0, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO ledger_transactions (id, tenant_id, kind, key, at) VALUES ('x', 't', 'topup', 'k', $1)`, at); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		native, err := db.EnsureLedgerPartitions(ctx, at, 2)
		if err != nil || !native {
			t.Fatalf("EnsureLedgerPartitions = %v, %v", native, err)
		}
	}
	var where string
	if err := conn.QueryRow(ctx, `SELECT tableoid::regclass::text FROM ledger_transactions WHERE id = 'x'`).Scan(&where); err != nil || where != "ledger_transactions_p2040_02" {
		t.Fatalf("the row is in %q (%v), want ledger_transactions_p2040_02", where, err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'ledger_postings'::regclass
		AND inhrelid::regclass::text IN ('ledger_postings_p2040_02', 'ledger_postings_p2040_03')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d of the postings partitions for 2040-02 and 2040-03 attached (%v), want 2", n, err)
	}
}
