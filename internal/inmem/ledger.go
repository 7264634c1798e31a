package inmem

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// LedgerStore is ledger.Store in memory: the recorded transactions by (tenant, key)
// and a running sum per account and currency, both under one mutex.
type LedgerStore struct {
	now      func() time.Time
	mu       sync.Mutex
	byKey    map[ledgerKey]recordedTx
	ids      map[string]bool // transaction ids in use
	balances map[accountCurrency]decimal.Decimal
}

type ledgerKey struct{ tenantID, key string }

type accountCurrency struct{ account, currency string }

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
		balances: map[accountCurrency]decimal.Decimal{},
	}
}

// Ledger returns the ledger store.
func (db *DB) Ledger() ledger.Store { return db.ledger }

// Post implements ledger.Store; see postgres.LedgerStore.Post.
func (s *LedgerStore) Post(_ context.Context, tx ledger.Transaction) (ledger.Transaction, bool, error) {
	if err := tx.Validate(); err != nil {
		return ledger.Transaction{}, false, err
	}
	fp := tx.Fingerprint()
	k := ledgerKey{tx.TenantID, tx.Key}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byKey[k]; ok {
		if r.fingerprint != fp {
			return ledger.Transaction{}, false, errs.E(errs.Conflict,
				"ledger transaction key %q of tenant %s is already used by transaction %s with other postings", tx.Key, tx.TenantID, r.tx.ID)
		}
		return r.tx.Clone(), false, nil
	}
	rec := tx.Clone()
	if rec.ID == "" {
		rec.ID = uuid.NewString()
	} else if s.ids[rec.ID] {
		return ledger.Transaction{}, false, errs.E(errs.Conflict, "ledger transaction id %s is already used", rec.ID)
	}
	rec.At = s.now()
	for i := range rec.Postings {
		p := &rec.Postings[i]
		p.Amount = ledger.Normalize(p.Amount)
		ac := accountCurrency{p.Account, p.Currency}
		s.balances[ac] = s.balances[ac].Add(p.Amount)
	}
	s.byKey[k] = recordedTx{tx: rec, fingerprint: fp}
	s.ids[rec.ID] = true
	return rec.Clone(), true, nil
}

// Balance implements ledger.Store; see postgres.LedgerStore.Balance.
func (s *LedgerStore) Balance(_ context.Context, tenantID, currency string) (ledger.Balance, error) {
	if err := ledger.CheckBalance(tenantID, currency); err != nil {
		return ledger.Balance{}, err
	}
	s.mu.Lock()
	available := s.balances[accountCurrency{ledger.TenantAvailable(tenantID), currency}]
	blocked := s.balances[accountCurrency{ledger.TenantReserved(tenantID), currency}]
	s.mu.Unlock()
	available, blocked = ledger.Normalize(available), ledger.Normalize(blocked)
	return ledger.Balance{TenantID: tenantID, Currency: currency,
		Available: available, Blocked: blocked, Amount: available.Add(blocked)}, nil
}
