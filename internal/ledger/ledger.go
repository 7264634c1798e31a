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
	// Reserve moves a message's price from the tenant's available account to its
	// reserved account (billing authorize).
	Reserve Kind = "reserve"
	// Commit moves a reservation out of the reserved account: what is charged to
	// PlatformRevenue (less a partner's commission, to the partner's account), any
	// remainder back to available (billing settle on delivery).
	Commit Kind = "commit"
	// Release moves a reservation back from reserved to available (billing settle on
	// failure, or expiry).
	Release Kind = "release"
	// Adjustment corrects a tenant's available account against PlatformTopups (an
	// operator's correction: a top-up reversed, say); its amount may be negative.
	Adjustment Kind = "adjustment"
)

// PlatformRevenue is the account committed charges are credited to.
const PlatformRevenue = "platform:revenue"

// PartnerCommission is the account a partner's commission is credited to.
func PartnerCommission(partnerID string) string { return "partner:" + partnerID + ":commission" }

// Keys of the transactions of one reservation: a reservation is reserved once and
// settled once (committed or released), whatever the replays.
func ReserveKey(reservationID string) string { return "reserve:" + reservationID }

// SettleKey is the key of a reservation's commit or release: one key for both, so a
// reservation can never be both committed and released.
func SettleKey(reservationID string) string { return "settle:" + reservationID }

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
	Reference string `json:"reference,omitempty"`
	// Reservation is the billing reservation a Reserve, Commit or Release belongs to.
	Reservation string    `json:"reservation_id,omitempty"`
	At          time.Time `json:"at"` // set by the store
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
	// PostBatch records many transactions at once (one database round trip for the
	// lot), each exactly as Post would: result i answers txs[i], with its own error
	// (Invalid, Conflict) in Posted.Err. The returned error is for the batch as a
	// whole (the database is down): then nothing was recorded.
	PostBatch(ctx context.Context, txs []Transaction) ([]Posted, error)
	// Accounts returns every account's totals per currency, sorted by account then
	// currency (for `catalyst billing verify` and `rebuild`).
	Accounts(ctx context.Context) ([]AccountTotal, error)
	// OpenReservations returns the tenant's Reserve transactions that have no
	// transaction under their SettleKey yet, oldest first.
	OpenReservations(ctx context.Context, tenantID string) ([]Transaction, error)
	// Get returns the transaction recorded under (tenantID, key), NotFound if none:
	// billing's durable answer to a replay the wallet no longer remembers (is
	// SettleKey(id) taken, and by a commit or a release?).
	Get(ctx context.Context, tenantID, key string) (Transaction, error)
}

// Posted is one transaction's result in PostBatch.
type Posted struct {
	Transaction Transaction
	Created     bool
	Err         error
}

// AccountTotal sums an account's postings in one currency. Balance is the account's
// running balance as the store keeps it (updated with each transaction); verify checks
// it equals Credits − Debits, the sum of the postings themselves.
type AccountTotal struct {
	Account  string          `json:"account"`
	Currency string          `json:"currency"`
	Credits  decimal.Decimal `json:"credits"` // sum of the positive postings
	Debits   decimal.Decimal `json:"debits"`  // sum of the negative postings, as a positive number
	Balance  decimal.Decimal `json:"balance"`
	Postings int64           `json:"postings"`
}
