package inmem

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// LedgerStore is ledger.Store in memory: the recorded transactions by (tenant, key),
// running totals per account and currency, and each tenant's reserve transactions in
// posting order, all under one mutex.
type LedgerStore struct {
	now      func() time.Time
	mu       sync.Mutex
	byKey    map[ledgerKey]recordedTx
	ids      map[string]bool // transaction ids in use
	totals   map[accountCurrency]*accountTotal
	reserves map[string][]ledger.Transaction // tenant → its Reserve transactions, oldest first
}

type ledgerKey struct{ tenantID, key string }

type accountCurrency struct{ account, currency string }

// accountTotal is what ledger.AccountTotal reports; balance is kept on its own (as
// postgres keeps ledger_balances) so verify compares two independent sums.
type accountTotal struct {
	balance, credits, debits decimal.Decimal
	postings                 int64
}

type recordedTx struct {
	tx          ledger.Transaction
	fingerprint string
}

var _ ledger.Store = (*LedgerStore)(nil)

func newLedgerStore(now func() time.Time) *LedgerStore {
	return &LedgerStore{
		now:      now,
		byKey:    map[ledgerKey]recordedTx{},
		ids:      map[string]bool{},
		totals:   map[accountCurrency]*accountTotal{},
		reserves: map[string][]ledger.Transaction{},
	}
}

// Ledger returns the ledger store.
func (db *DB) Ledger() ledger.Store { return db.ledger }

// Post implements ledger.Store; see postgres.LedgerStore.Post.
func (s *LedgerStore) Post(_ context.Context, tx ledger.Transaction) (ledger.Transaction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.post(tx, s.now())
	return r.Transaction, r.Created, r.Err
}

// PostBatch implements ledger.Store: each transaction as Post would, under one lock
// hold, so the batch is atomic to readers. It never fails as a whole.
func (s *LedgerStore) PostBatch(ctx context.Context, txs []ledger.Transaction) ([]ledger.Posted, error) {
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "inmem: post ledger batch")
	}
	out := make([]ledger.Posted, len(txs))
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.now()
	first := map[ledgerKey]int{} // the first valid item of each key in the batch
	for i, tx := range txs {
		k := ledgerKey{tx.TenantID, tx.Key}
		if j, ok := first[k]; ok && out[j].Err != nil && tx.Validate() == nil && tx.Fingerprint() == txs[j].Fingerprint() {
			out[i].Err = out[j].Err // as postgres answers it: a retry of the failed first
			continue
		}
		out[i] = s.post(tx, at)
		if _, ok := first[k]; !ok && errs.CodeOf(out[i].Err) != errs.Invalid {
			first[k] = i
		}
	}
	return out, nil
}

// post records tx; s.mu is held.
func (s *LedgerStore) post(tx ledger.Transaction, at time.Time) ledger.Posted {
	if err := tx.Validate(); err != nil {
		return ledger.Posted{Err: err}
	}
	fp := tx.Fingerprint()
	k := ledgerKey{tx.TenantID, tx.Key}
	if r, ok := s.byKey[k]; ok {
		if r.fingerprint != fp {
			return ledger.Posted{Err: errs.E(errs.Conflict,
				"ledger transaction key %q of tenant %s is already used by transaction %s with other postings", tx.Key, tx.TenantID, r.tx.ID)}
		}
		return ledger.Posted{Transaction: r.tx.Clone()}
	}
	rec := tx.Clone()
	if rec.ID == "" {
		rec.ID = uuid.NewString()
	} else if s.ids[rec.ID] {
		return ledger.Posted{Err: errs.E(errs.Conflict, "ledger transaction id %s is already used", rec.ID)}
	}
	rec.At = at
	for i := range rec.Postings {
		p := &rec.Postings[i]
		p.Amount = ledger.Normalize(p.Amount)
		ac := accountCurrency{p.Account, p.Currency}
		t := s.totals[ac]
		if t == nil {
			t = &accountTotal{}
			s.totals[ac] = t
		}
		t.balance = t.balance.Add(p.Amount)
		if p.Amount.Sign() > 0 {
			t.credits = t.credits.Add(p.Amount)
		} else {
			t.debits = t.debits.Sub(p.Amount)
		}
		t.postings++
	}
	s.byKey[k] = recordedTx{tx: rec, fingerprint: fp}
	s.ids[rec.ID] = true
	if rec.Kind == ledger.Reserve {
		s.reserves[rec.TenantID] = append(s.reserves[rec.TenantID], rec)
	}
	return ledger.Posted{Transaction: rec.Clone(), Created: true}
}

// Balance implements ledger.Store; see postgres.LedgerStore.Balance.
func (s *LedgerStore) Balance(_ context.Context, tenantID, currency string) (ledger.Balance, error) {
	if err := ledger.CheckBalance(tenantID, currency); err != nil {
		return ledger.Balance{}, err
	}
	s.mu.Lock()
	available := s.balance(accountCurrency{ledger.TenantAvailable(tenantID), currency})
	blocked := s.balance(accountCurrency{ledger.TenantReserved(tenantID), currency})
	s.mu.Unlock()
	available, blocked = ledger.Normalize(available), ledger.Normalize(blocked)
	return ledger.Balance{TenantID: tenantID, Currency: currency,
		Available: available, Blocked: blocked, Amount: available.Add(blocked)}, nil
}

func (s *LedgerStore) balance(ac accountCurrency) decimal.Decimal {
	if t := s.totals[ac]; t != nil {
		return t.balance
	}
	return decimal.Zero
}

// Accounts implements ledger.Store.
func (s *LedgerStore) Accounts(context.Context) ([]ledger.AccountTotal, error) {
	s.mu.Lock()
	out := make([]ledger.AccountTotal, 0, len(s.totals))
	for ac, t := range s.totals {
		out = append(out, ledger.AccountTotal{Account: ac.account, Currency: ac.currency,
			Credits: ledger.Normalize(t.credits), Debits: ledger.Normalize(t.debits),
			Balance: ledger.Normalize(t.balance), Postings: t.postings})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}

// Get implements ledger.Store.
func (s *LedgerStore) Get(_ context.Context, tenantID, key string) (ledger.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byKey[ledgerKey{tenantID, key}]
	if !ok {
		return ledger.Transaction{}, errs.E(errs.NotFound, "ledger: tenant %s has no transaction %q", tenantID, key)
	}
	return r.tx.Clone(), nil
}

// OpenReservations implements ledger.Store.
func (s *LedgerStore) OpenReservations(_ context.Context, tenantID string) ([]ledger.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ledger.Transaction
	for _, tx := range s.reserves[tenantID] {
		if _, settled := s.byKey[ledgerKey{tenantID, ledger.SettleKey(tx.Reservation)}]; !settled {
			out = append(out, tx.Clone())
		}
	}
	return out, nil
}
