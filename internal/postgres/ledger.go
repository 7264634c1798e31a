package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// LedgerStore is ledger.Store on the ledger_transactions and ledger_postings tables.
// Amounts cross the driver as decimal strings cast to and from numeric in SQL
// ($n::numeric, amount::text), so no value ever passes through a float.
type LedgerStore struct{ db *DB }

var _ ledger.Store = (*LedgerStore)(nil)

// Ledger returns the ledger store.
func (db *DB) Ledger() ledger.Store { return &LedgerStore{db: db} }

// Post implements ledger.Store. In one transaction it inserts the transaction row with
// ON CONFLICT (tenant_id, key) DO NOTHING and, when that inserted it, the postings.
// When the key is taken it reads the recorded transaction: the same fingerprint
// (ledger.Transaction.Fingerprint) is a retry, answered with the recorded transaction
// and created=false; another is Conflict. Concurrent posts of one key wait on the
// unique index for the first to commit, so exactly one of them creates it. An empty
// tx.ID is set to a new UUID; an ID already used by another transaction is Conflict.
// At is the DB's clock. The postings come back normalized (ledger.Normalize).
func (s *LedgerStore) Post(ctx context.Context, tx ledger.Transaction) (ledger.Transaction, bool, error) {
	if err := tx.Validate(); err != nil {
		return ledger.Transaction{}, false, err
	}
	rec := tx.Clone()
	if rec.ID == "" {
		rec.ID = uuid.NewString()
	}
	rec.At = s.db.clock()
	fp := tx.Fingerprint()
	accounts := make([]string, len(rec.Postings))
	currencies := make([]string, len(rec.Postings))
	amounts := make([]string, len(rec.Postings))
	for i := range rec.Postings {
		p := &rec.Postings[i]
		p.Amount = ledger.Normalize(p.Amount)
		accounts[i], currencies[i], amounts[i] = p.Account, p.Currency, p.Amount.String()
	}
	var out ledger.Transaction
	var created bool
	err := s.db.inTx(ctx, pgx.TxOptions{}, func(dbtx pgx.Tx) error {
		var id string
		err := dbtx.QueryRow(ctx, `INSERT INTO ledger_transactions (id, tenant_id, kind, key, reference, fingerprint, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id`,
			rec.ID, rec.TenantID, string(rec.Kind), rec.Key, rec.Reference, fp, rec.At).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			created = false
			out, err = s.recorded(ctx, dbtx, rec.TenantID, rec.Key, fp)
			return err
		}
		if err != nil {
			return wrap(err, "postgres: record ledger transaction %q of tenant %s", rec.Key, rec.TenantID)
		}
		if _, err := dbtx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, seq, account, currency, amount)
			SELECT $1, p.seq, p.account, p.currency, p.amount::numeric
			FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p (account, currency, amount, seq)`,
			rec.ID, accounts, currencies, amounts); err != nil {
			return wrap(err, "postgres: record postings of ledger transaction %q of tenant %s", rec.Key, rec.TenantID)
		}
		created, out = true, rec
		return nil
	})
	if err != nil {
		return ledger.Transaction{}, false, err
	}
	return out, created, nil
}

// recorded reads the transaction recorded for (tenantID, key): Conflict unless its
// fingerprint is fp.
func (s *LedgerStore) recorded(ctx context.Context, q pgx.Tx, tenantID, key, fp string) (ledger.Transaction, error) {
	tx := ledger.Transaction{TenantID: tenantID, Key: key}
	var kind, gotFP string
	var at time.Time
	err := q.QueryRow(ctx, `SELECT id, kind, reference, fingerprint, at FROM ledger_transactions
		WHERE tenant_id = $1 AND key = $2`, tenantID, key).Scan(&tx.ID, &kind, &tx.Reference, &gotFP, &at)
	if err != nil {
		// ErrNoRows cannot happen: the conflicting row was committed before DO NOTHING.
		return ledger.Transaction{}, wrap(err, "postgres: read ledger transaction %q of tenant %s", key, tenantID)
	}
	if gotFP != fp {
		return ledger.Transaction{}, errs.E(errs.Conflict,
			"ledger transaction key %q of tenant %s is already used by transaction %s with other postings", key, tenantID, tx.ID)
	}
	tx.Kind, tx.At = ledger.Kind(kind), at.UTC()
	rows, _ := q.Query(ctx, `SELECT account, currency, amount::text FROM ledger_postings
		WHERE transaction_id = $1 ORDER BY seq`, tx.ID)
	tx.Postings, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Posting, error) {
		var p ledger.Posting
		var amount string
		if err := row.Scan(&p.Account, &p.Currency, &amount); err != nil {
			return p, err
		}
		var err error
		p.Amount, err = parseNumeric(amount)
		return p, err
	})
	if err != nil {
		return ledger.Transaction{}, wrap(err, "postgres: read postings of ledger transaction %s", tx.ID)
	}
	return tx, nil
}

// parseNumeric reads a numeric's text form, normalized.
func parseNumeric(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errs.Wrap(errs.Internal, err, "postgres: numeric %q", s)
	}
	return ledger.Normalize(d), nil
}

// Balance implements ledger.Store: one query sums the tenant's available and reserved
// accounts in currency (exactly, in numeric). An empty tenant id or a bad currency
// is Invalid.
func (s *LedgerStore) Balance(ctx context.Context, tenantID, currency string) (ledger.Balance, error) {
	if err := ledger.CheckBalance(tenantID, currency); err != nil {
		return ledger.Balance{}, err
	}
	available, reserved := ledger.TenantAvailable(tenantID), ledger.TenantReserved(tenantID)
	var av, bl string
	err := s.db.pool.QueryRow(ctx, `SELECT
			COALESCE(SUM(amount) FILTER (WHERE account = $1), 0)::text,
			COALESCE(SUM(amount) FILTER (WHERE account = $2), 0)::text
		FROM ledger_postings WHERE account IN ($1, $2) AND currency = $3`,
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
