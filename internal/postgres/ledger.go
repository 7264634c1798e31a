package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// LedgerStore is ledger.Store on the tables of migration 0007: ledger_keys (one row
// per (tenant, key): idempotency), the time-partitioned ledger_transactions and
// ledger_postings, and ledger_balances (running totals). Amounts cross the driver as
// decimal strings cast to and from numeric in SQL ($n::numeric, amount::text), so no
// value ever passes through a float.
type LedgerStore struct {
	db    *DB
	parts partitions
}

var _ ledger.Store = (*LedgerStore)(nil)

// Ledger returns the ledger store.
func (db *DB) Ledger() ledger.Store { return &LedgerStore{db: db} }

// Post implements ledger.Store: PostBatch of one. An empty tx.ID is set to a new UUID;
// an ID already used by another transaction is Conflict. At is the DB's clock. The
// postings come back normalized (ledger.Normalize).
func (s *LedgerStore) Post(ctx context.Context, tx ledger.Transaction) (ledger.Transaction, bool, error) {
	out, err := s.PostBatch(ctx, []ledger.Transaction{tx})
	if err != nil {
		return ledger.Transaction{}, false, err
	}
	return out[0].Transaction, out[0].Created, out[0].Err
}

// batchItem is one valid transaction of a batch, the first with its (tenant, key).
type batchItem struct {
	i   int // its index in the batch
	rec ledger.Transaction
	fp  string
}

// PostBatch implements ledger.Store in one database transaction:
//
//  1. insert the valid items' ledger_keys rows (in (tenant, key) order, so concurrent
//     batches wait for each other instead of deadlocking) with ON CONFLICT DO NOTHING
//     RETURNING, which says which keys are new; a key another transaction is
//     inserting makes this wait for it to commit, so exactly one post creates a key;
//  2. for the new ones, insert the transactions and postings and upsert
//     ledger_balances once per (account, currency), in that order (row locks taken in
//     one order by every batch) — three statements in one round trip;
//  3. read the recorded transactions of the keys that were taken: the same fingerprint
//     is a retry (created=false), another is Conflict. A key not found was not taken:
//     its transaction id was (ledger_keys.transaction_id is unique), also Conflict.
//
// Of items sharing a (tenant, key), the first valid one is posted and the later ones
// are answered as retries of it.
func (s *LedgerStore) PostBatch(ctx context.Context, txs []ledger.Transaction) ([]ledger.Posted, error) {
	out := make([]ledger.Posted, len(txs))
	at := s.db.clock()
	var items []*batchItem
	first := map[[2]string]*batchItem{}
	dups := map[int]*batchItem{} // a later item → the first with its key
	for i, tx := range txs {
		if err := tx.Validate(); err != nil {
			out[i].Err = err
			continue
		}
		k := [2]string{tx.TenantID, tx.Key}
		if f, ok := first[k]; ok {
			dups[i] = f
			continue
		}
		rec := tx.Clone()
		if rec.ID == "" {
			rec.ID = uuid.NewString()
		}
		rec.At = at
		for j := range rec.Postings {
			rec.Postings[j].Amount = ledger.Normalize(rec.Postings[j].Amount)
		}
		it := &batchItem{i: i, rec: rec, fp: tx.Fingerprint()}
		first[k] = it
		items = append(items, it)
	}
	if len(items) == 0 {
		return out, nil
	}
	sort.Slice(items, func(a, b int) bool {
		x, y := items[a].rec, items[b].rec
		return x.TenantID < y.TenantID || x.TenantID == y.TenantID && x.Key < y.Key
	})
	if err := s.parts.ensure(ctx, s.db, at); err != nil {
		return nil, err
	}
	var results map[int]ledger.Posted
	err := s.db.inTx(ctx, pgx.TxOptions{}, func(dbtx pgx.Tx) error {
		var err error
		results, err = s.postItems(ctx, dbtx, items, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, r := range results {
		out[i] = r
	}
	for i, f := range dups {
		r := results[f.i]
		switch {
		case errs.CodeOf(r.Err) == errs.Conflict && txs[i].Fingerprint() != f.fp:
			// The first was refused for postings other than those recorded; this one
			// may be the recorded transaction's own retry: answer it on its own.
			rec, created, err := s.Post(ctx, txs[i])
			out[i] = ledger.Posted{Transaction: rec, Created: created, Err: err}
		case r.Err != nil:
			out[i].Err = r.Err
		case txs[i].Fingerprint() != f.fp:
			out[i].Err = errs.E(errs.Conflict, "ledger transaction key %q of tenant %s is already used by transaction %s with other postings",
				txs[i].Key, txs[i].TenantID, r.Transaction.ID)
		default:
			out[i] = ledger.Posted{Transaction: r.Transaction.Clone()}
		}
	}
	return out, nil
}

// postItems does PostBatch's work in dbtx: items are valid, sorted by (tenant, key)
// and have distinct keys. It returns the result by batch index.
func (s *LedgerStore) postItems(ctx context.Context, dbtx pgx.Tx, items []*batchItem, at time.Time) (map[int]ledger.Posted, error) {
	n := len(items)
	tenants, keys, ids, fps := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for j, it := range items {
		tenants[j], keys[j], ids[j], fps[j] = it.rec.TenantID, it.rec.Key, it.rec.ID, it.fp
	}
	rows, _ := dbtx.Query(ctx, `INSERT INTO ledger_keys (tenant_id, key, transaction_id, fingerprint, at)
		SELECT k.tenant_id, k.key, k.id, k.fp, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k (tenant_id, key, id, fp)
		ON CONFLICT DO NOTHING RETURNING tenant_id, key`, tenants, keys, ids, fps, at)
	var tenant, key string
	created := map[[2]string]bool{}
	if _, err := pgx.ForEachRow(rows, []any{&tenant, &key}, func() error {
		created[[2]string{tenant, key}] = true
		return nil
	}); err != nil {
		return nil, wrap(err, "postgres: record %d ledger keys", n)
	}
	results := make(map[int]ledger.Posted, n)
	var fresh, taken []*batchItem
	for _, it := range items {
		if created[[2]string{it.rec.TenantID, it.rec.Key}] {
			fresh = append(fresh, it)
			results[it.i] = ledger.Posted{Transaction: it.rec.Clone(), Created: true}
		} else {
			taken = append(taken, it)
		}
	}
	if len(fresh) > 0 {
		if err := insertNew(ctx, dbtx, fresh, at); err != nil {
			return nil, err
		}
	}
	if len(taken) > 0 {
		if err := s.resolveTaken(ctx, dbtx, taken, results); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// insertNew inserts the transactions and postings of items, whose keys were just
// recorded, and adds their postings to ledger_balances: one pipelined round trip.
func insertNew(ctx context.Context, dbtx pgx.Tx, items []*batchItem, at time.Time) error {
	var t struct{ ids, tenants, kinds, keys, refs, resv []string }
	var p struct {
		ids                         []string
		seqs                        []int32
		accounts, currencies, amnts []string
	}
	type acc struct{ account, currency string }
	type sums struct {
		balance, credits, debits decimal.Decimal
		n                        int64
	}
	totals := map[acc]*sums{}
	for _, it := range items {
		r := it.rec
		t.ids, t.tenants, t.kinds = append(t.ids, r.ID), append(t.tenants, r.TenantID), append(t.kinds, string(r.Kind))
		t.keys, t.refs, t.resv = append(t.keys, r.Key), append(t.refs, r.Reference), append(t.resv, r.Reservation)
		for j, q := range r.Postings {
			p.ids, p.seqs = append(p.ids, r.ID), append(p.seqs, int32(j+1))
			p.accounts, p.currencies, p.amnts = append(p.accounts, q.Account), append(p.currencies, q.Currency), append(p.amnts, q.Amount.String())
			a := acc{q.Account, q.Currency}
			sm := totals[a]
			if sm == nil {
				sm = &sums{}
				totals[a] = sm
			}
			sm.balance = sm.balance.Add(q.Amount)
			if q.Amount.Sign() > 0 {
				sm.credits = sm.credits.Add(q.Amount)
			} else {
				sm.debits = sm.debits.Sub(q.Amount)
			}
			sm.n++
		}
	}
	// Every batch locks ledger_balances rows in this order: no deadlocks between them.
	order := make([]acc, 0, len(totals))
	for a := range totals {
		order = append(order, a)
	}
	sort.Slice(order, func(i, j int) bool {
		x, y := order[i], order[j]
		return x.account < y.account || x.account == y.account && x.currency < y.currency
	})
	var b struct {
		accounts, currencies, balances, credits, debits []string
		counts                                          []int64
	}
	for _, a := range order {
		sm := totals[a]
		b.accounts, b.currencies = append(b.accounts, a.account), append(b.currencies, a.currency)
		b.balances, b.credits, b.debits = append(b.balances, sm.balance.String()), append(b.credits, sm.credits.String()), append(b.debits, sm.debits.String())
		b.counts = append(b.counts, sm.n)
	}
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO ledger_transactions (id, tenant_id, kind, key, reference, reservation, at)
		SELECT t.*, $7::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t`,
		t.ids, t.tenants, t.kinds, t.keys, t.refs, t.resv, at)
	batch.Queue(`INSERT INTO ledger_postings (transaction_id, seq, at, account, currency, amount)
		SELECT p.id, p.seq, $6, p.account, p.currency, p.amount::numeric
		FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[]) AS p (id, seq, account, currency, amount)`,
		p.ids, p.seqs, p.accounts, p.currencies, p.amnts, at)
	batch.Queue(`INSERT INTO ledger_balances AS b (account, currency, balance, credits, debits, postings)
		SELECT u.account, u.currency, u.balance::numeric, u.credits::numeric, u.debits::numeric, u.n
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[]) WITH ORDINALITY
			AS u (account, currency, balance, credits, debits, n, ord)
		ORDER BY u.ord
		ON CONFLICT (account, currency) DO UPDATE SET balance = b.balance + EXCLUDED.balance,
			credits = b.credits + EXCLUDED.credits, debits = b.debits + EXCLUDED.debits, postings = b.postings + EXCLUDED.postings`,
		b.accounts, b.currencies, b.balances, b.credits, b.debits, b.counts)
	if err := dbtx.SendBatch(ctx, batch).Close(); err != nil {
		return wrap(err, "postgres: record %d ledger transactions", len(items))
	}
	return nil
}

// resolveTaken answers the items whose keys were already recorded: a retry, a
// Conflict for other postings, or a Conflict for a transaction id in use.
func (s *LedgerStore) resolveTaken(ctx context.Context, dbtx pgx.Tx, items []*batchItem, results map[int]ledger.Posted) error {
	tenants, keys := make([]string, len(items)), make([]string, len(items))
	for j, it := range items {
		tenants[j], keys[j] = it.rec.TenantID, it.rec.Key
	}
	recs, fps, err := readTransactions(ctx, dbtx, `SELECT t.id, t.tenant_id, t.kind, t.key, t.reference, t.reservation, t.at, k.fingerprint
		FROM unnest($1::text[], $2::text[]) AS q (tenant_id, key)
		JOIN ledger_keys k ON k.tenant_id = q.tenant_id AND k.key = q.key
		JOIN ledger_transactions t ON t.id = k.transaction_id AND t.at = k.at`, tenants, keys)
	if err != nil {
		return err
	}
	byKey := make(map[[2]string]int, len(recs))
	for j, r := range recs {
		byKey[[2]string{r.TenantID, r.Key}] = j
	}
	for _, it := range items {
		j, ok := byKey[[2]string{it.rec.TenantID, it.rec.Key}]
		switch {
		case !ok:
			results[it.i] = ledger.Posted{Err: errs.E(errs.Conflict, "ledger transaction id %s is already used", it.rec.ID)}
		case fps[j] != it.fp:
			results[it.i] = ledger.Posted{Err: errs.E(errs.Conflict,
				"ledger transaction key %q of tenant %s is already used by transaction %s with other postings", it.rec.Key, it.rec.TenantID, recs[j].ID)}
		default:
			results[it.i] = ledger.Posted{Transaction: recs[j]}
		}
	}
	return nil
}

// querier is what readTransactions needs of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readTransactions runs query, which selects id, tenant_id, kind, key, reference,
// reservation, at and one more text column (returned alongside), and reads the
// transactions' postings in one more query.
func readTransactions(ctx context.Context, q querier, query string, args ...any) ([]ledger.Transaction, []string, error) {
	var txs []ledger.Transaction
	var extra []string
	rows, _ := q.Query(ctx, query, args...)
	var tx ledger.Transaction
	var kind, x string
	_, err := pgx.ForEachRow(rows, []any{&tx.ID, &tx.TenantID, &kind, &tx.Key, &tx.Reference, &tx.Reservation, &tx.At, &x}, func() error {
		tx.Kind, tx.At = ledger.Kind(kind), tx.At.UTC()
		txs, extra = append(txs, tx), append(extra, x)
		return nil
	})
	if err != nil {
		return nil, nil, wrap(err, "postgres: read ledger transactions")
	}
	if len(txs) == 0 {
		return nil, nil, nil
	}
	ids, ats := make([]string, len(txs)), make([]time.Time, len(txs))
	index := make(map[string]int, len(txs))
	for j, t := range txs {
		ids[j], ats[j], index[t.ID] = t.ID, t.At, j
	}
	rows, _ = q.Query(ctx, `SELECT p.transaction_id, p.account, p.currency, p.amount::text
		FROM unnest($1::text[], $2::timestamptz[]) AS q (id, at)
		JOIN ledger_postings p ON p.transaction_id = q.id AND p.at = q.at
		ORDER BY p.transaction_id, p.seq`, ids, ats)
	var id, amount string
	var p ledger.Posting
	_, err = pgx.ForEachRow(rows, []any{&id, &p.Account, &p.Currency, &amount}, func() error {
		var err error
		if p.Amount, err = parseNumeric(amount); err != nil {
			return err
		}
		j := index[id]
		txs[j].Postings = append(txs[j].Postings, p)
		return nil
	})
	if err != nil {
		return nil, nil, wrap(err, "postgres: read postings of %d ledger transactions", len(txs))
	}
	return txs, extra, nil
}

// parseNumeric reads a numeric's text form, normalized.
func parseNumeric(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errs.Wrap(errs.Internal, err, "postgres: numeric %q", s)
	}
	return ledger.Normalize(d), nil
}

// Balance implements ledger.Store from ledger_balances: one index lookup per account,
// whatever the number of postings. An empty tenant id or a bad currency is Invalid.
func (s *LedgerStore) Balance(ctx context.Context, tenantID, currency string) (ledger.Balance, error) {
	if err := ledger.CheckBalance(tenantID, currency); err != nil {
		return ledger.Balance{}, err
	}
	available, reserved := ledger.TenantAvailable(tenantID), ledger.TenantReserved(tenantID)
	var av, bl string
	err := s.db.pool.QueryRow(ctx, `SELECT
			COALESCE(SUM(balance) FILTER (WHERE account = $1), 0)::text,
			COALESCE(SUM(balance) FILTER (WHERE account = $2), 0)::text
		FROM ledger_balances WHERE account IN ($1, $2) AND currency = $3`,
		available, reserved, currency).Scan(&av, &bl)
	if err != nil {
		return ledger.Balance{}, wrap(err, "postgres: balance of tenant %s in %s", tenantID, currency)
	}
	b := ledger.Balance{TenantID: tenantID, Currency: currency}
	if b.Available, err = parseNumeric(av); err != nil {
		return ledger.Balance{}, err
	}
	if b.Blocked, err = parseNumeric(bl); err != nil {
		return ledger.Balance{}, err
	}
	b.Amount = b.Available.Add(b.Blocked)
	return b, nil
}

// Accounts implements ledger.Store: Balance from ledger_balances, Credits, Debits and
// Postings summed from the postings themselves (a full scan: for verify and rebuild),
// so a drift between the two shows. Sorted bytewise (COLLATE "C"), as Go sorts.
func (s *LedgerStore) Accounts(ctx context.Context) ([]ledger.AccountTotal, error) {
	rows, _ := s.db.pool.Query(ctx, `SELECT account, currency::text,
			COALESCE(p.credits, 0)::text, COALESCE(p.debits, 0)::text, COALESCE(b.balance, 0)::text, COALESCE(p.n, 0)
		FROM ledger_balances b FULL JOIN (
			SELECT account, currency, COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0) AS credits,
				COALESCE(-SUM(amount) FILTER (WHERE amount < 0), 0) AS debits, count(*) AS n
			FROM ledger_postings GROUP BY account, currency) p USING (account, currency)
		ORDER BY account COLLATE "C", currency COLLATE "C"`)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.AccountTotal, error) {
		var a ledger.AccountTotal
		var cr, dr, bal string
		if err := row.Scan(&a.Account, &a.Currency, &cr, &dr, &bal, &a.Postings); err != nil {
			return a, err
		}
		var err error
		if a.Credits, err = parseNumeric(cr); err == nil {
			if a.Debits, err = parseNumeric(dr); err == nil {
				a.Balance, err = parseNumeric(bal)
			}
		}
		return a, err
	})
	if err != nil {
		return nil, wrap(err, "postgres: read ledger accounts")
	}
	return out, nil
}

// Get implements ledger.Store: ledger_keys' primary key, then the transaction in
// its partition.
func (s *LedgerStore) Get(ctx context.Context, tenantID, key string) (ledger.Transaction, error) {
	txs, _, err := readTransactions(ctx, s.db.pool, `SELECT t.id, t.tenant_id, t.kind, t.key, t.reference, t.reservation, t.at, ''
		FROM ledger_keys k JOIN ledger_transactions t ON t.id = k.transaction_id AND t.at = k.at
		WHERE k.tenant_id = $1 AND k.key = $2`, tenantID, key)
	if err != nil {
		return ledger.Transaction{}, err
	}
	if len(txs) == 0 {
		return ledger.Transaction{}, errs.E(errs.NotFound, "ledger: tenant %s has no transaction %q", tenantID, key)
	}
	return txs[0], nil
}

// OpenReservations implements ledger.Store: the tenant's reserve transactions (a
// partial index) with no ledger_keys row under their SettleKey, oldest first.
func (s *LedgerStore) OpenReservations(ctx context.Context, tenantID string) ([]ledger.Transaction, error) {
	txs, _, err := readTransactions(ctx, s.db.pool, `SELECT t.id, t.tenant_id, t.kind, t.key, t.reference, t.reservation, t.at, ''
		FROM ledger_transactions t
		WHERE t.tenant_id = $1 AND t.kind = $2 AND NOT EXISTS (
			SELECT 1 FROM ledger_keys k WHERE k.tenant_id = t.tenant_id AND k.key = $3 || t.reservation)
		ORDER BY t.at, t.id`, tenantID, string(ledger.Reserve), ledger.SettleKey(""))
	if err != nil {
		return nil, err
	}
	return txs, nil
}
