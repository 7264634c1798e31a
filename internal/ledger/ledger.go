// Package ledger is the double-entry ledger that holds the truth about money: every
// movement is a transaction of postings that sum to zero per currency, and every
// balance is the sum of an account's postings. Amounts are shopspring/decimal, never
// float64. Adapters (internal/postgres, internal/inmem) implement Store and pass
// storetest's contract.
package ledger

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Scale is the number of fractional digits money is kept to (NUMERIC(38,18)). The one
// rounding rule: a computed amount is rounded half-to-even to Scale digits
// (decimal.RoundBank); an amount given by a caller with more digits is rejected, never
// rounded silently.
const Scale = 18

// Account names. A tenant's prepaid funds sit in its available account; funds blocked
// by reservations (billing's authorize step) sit in its reserved account; money enters
// through the platform's top-up clearing account.
func TenantAvailable(tenantID string) string { return "tenant:" + tenantID + ":available" }

// TenantReserved is the account holding a tenant's blocked funds.
func TenantReserved(tenantID string) string { return "tenant:" + tenantID + ":reserved" }

// PlatformTopups is the clearing account top-ups are drawn from.
const PlatformTopups = "platform:topups"

// Kind says what a transaction is for.
type Kind string

const (
	// Topup credits a tenant's available account from PlatformTopups.
	Topup Kind = "topup"
)

// Posting is one leg: a positive amount credits the account (it holds more), a
// negative one debits it.
type Posting struct {
	Account  string          `json:"account"`
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
}

// Transaction is a balanced set of postings, recorded once per (TenantID, Key).
type Transaction struct {
	ID       string    `json:"transaction_id"`
	TenantID string    `json:"tenant_id"`
	Kind     Kind      `json:"kind"`
	Key      string    `json:"key"` // idempotency key: a retry with the same key records nothing new
	Postings []Posting `json:"postings"`
	// Reference is free text for humans (an invoice number, a payment id).
	Reference string    `json:"reference,omitempty"`
	At        time.Time `json:"at"` // set by the store
}

// Balance is a tenant's money in one currency.
type Balance struct {
	TenantID  string          `json:"tenant_id"`
	Currency  string          `json:"currency"`
	Available decimal.Decimal `json:"available"` // may be spent: the available account
	Blocked   decimal.Decimal `json:"blocked"`   // reserved for messages in flight
	Amount    decimal.Decimal `json:"amount"`    // available + blocked
}

// Store records transactions and sums balances. Errors are *errs.Error: Invalid for
// an unbalanced transaction, a posting with more than Scale fractional digits, an empty
// key or account, or a bad currency; Conflict when Key was already used for a
// different transaction.
type Store interface {
	// Post records tx atomically unless (tx.TenantID, tx.Key) is already recorded, in
	// which case it returns the recorded transaction and created=false (the same
	// postings) or Conflict (different postings).
	Post(ctx context.Context, tx Transaction) (recorded Transaction, created bool, err error)
	// Balance sums the tenant's available and reserved accounts in currency; a tenant
	// with no postings has a zero balance.
	Balance(ctx context.Context, tenantID, currency string) (Balance, error)
}
