// Package wallet is billing's hot path: each tenant's balance and the reservations on
// it, held where a reservation can be checked and taken atomically (Redis, with Lua
// scripts; memory in dev). It is a cache of the ledger (internal/ledger), the truth:
// an account is loaded from the ledger the first time it is needed (ErrNotLoaded tells
// the caller to), and `catalyst billing rebuild` reloads every account.
//
// Amounts are exact: shopspring/decimal in Go, and in Redis decimal strings that the
// scripts add and compare as integers of 18 fractional digits split into 15-digit
// limbs (Lua's numbers are doubles, exact only below 2^53), never as floats. Every
// amount is non-negative with at most 18 fractional digits and 20 integer digits.
package wallet

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// ErrNotLoaded says a tenant's account is not in the wallet: load it from the ledger
// (Load) and retry.
var ErrNotLoaded = errors.New("wallet: account not loaded")

// State is where a reservation is.
type State string

const (
	Reserved  State = "reserved"
	Committed State = "committed"
	Released  State = "released"
)

// Reservation blocks Amount of a tenant's balance for one message until it is
// committed (charged) or released (given back), or expires.
type Reservation struct {
	ID              string          `json:"id"`
	TenantID        string          `json:"tenant_id"`
	Currency        string          `json:"currency"`
	Amount          decimal.Decimal `json:"amount"`
	ChargeOnFailure bool            `json:"charge_on_failure"`
	CreatedAt       time.Time       `json:"created_at"`
	ExpiresAt       time.Time       `json:"expires_at"`
	State           State           `json:"state"`
	Charged         decimal.Decimal `json:"charged"` // set when committed
}

// Account is a tenant's balance: Balance = Available + Blocked, like ledger.Balance.
type Account struct {
	TenantID  string          `json:"tenant_id"`
	Currency  string          `json:"currency"`
	Balance   decimal.Decimal `json:"balance"`
	Blocked   decimal.Decimal `json:"blocked"`
	Available decimal.Decimal `json:"available"`
	Suspended bool            `json:"suspended"` // reservations are refused (Suspended outcome)
}

// Outcome is what a wallet call did.
type Outcome string

const (
	Done         Outcome = "done"         // the call changed the wallet
	Replayed     Outcome = "replayed"     // the same call was already done: nothing changed, the first result is returned
	Insufficient Outcome = "insufficient" // Reserve: available < amount; nothing changed
	Refused      Outcome = "suspended"    // Reserve: the account is suspended; nothing changed
	Unknown      Outcome = "unknown"      // Commit/Release: no such reservation (never made, or settled and forgotten)
	Settled      Outcome = "settled"      // Commit/Release: the reservation was already settled the other way (or expired and released)
)

// Result answers Reserve, Commit and Release: the reservation as it now is (as it was
// first recorded, for Replayed), what happened, and the account after it.
type Result struct {
	Reservation Reservation `json:"reservation"`
	Outcome     Outcome     `json:"outcome"`
	Account     Account     `json:"account"`
}

// Wallet is implemented by the Redis and memory adapters; both pass the contract in
// wallet_contract_test (wallettest). Every method is atomic per tenant. Errors other
// than ErrNotLoaded are *errs.Error (Invalid for a bad argument).
type Wallet interface {
	// Load puts a tenant's account and its open reservations in the wallet, unless
	// the account is already loaded (then it changes nothing and returns false).
	// acct.Blocked must equal the sum of open's amounts.
	Load(ctx context.Context, acct Account, open []Reservation) (loaded bool, err error)
	// Unload forgets a tenant's account and reservations (rebuild reloads it).
	Unload(ctx context.Context, tenantID string) error
	// Account returns a loaded account.
	Account(ctx context.Context, tenantID string) (Account, error)
	// Reserve blocks r.Amount of r.TenantID's available balance under r.ID, if
	// available >= r.Amount and the account is not suspended. A second Reserve of
	// the same ID is Replayed (whatever its amount), returning the first reservation.
	// r.Currency must be the account's (Invalid otherwise).
	Reserve(ctx context.Context, r Reservation) (Result, error)
	// Commit charges charged (<= the reserved amount; the rest goes back to the
	// available balance) and marks the reservation committed. A replay is Replayed;
	// committing a released reservation is Settled and changes nothing.
	Commit(ctx context.Context, tenantID, id string, charged decimal.Decimal) (Result, error)
	// Release gives the reservation back to the available balance; like Commit for
	// replays and settled reservations.
	Release(ctx context.Context, tenantID, id string) (Result, error)
	// Forget drops a settled reservation's record before its retention ends, once its
	// outcome is durable elsewhere (the ledger): then Commit and Release of the id are
	// Unknown and Reserve makes a new reservation, so the caller answers replays from
	// the ledger. An open reservation or an unknown id is left as it is.
	Forget(ctx context.Context, tenantID, id string) error
	// Credit adds amount (> 0) to the balance once per key (a top-up's ledger
	// transaction id): a second Credit with the same key is Replayed.
	Credit(ctx context.Context, tenantID, key string, amount decimal.Decimal) (Account, Outcome, error)
	// SetSuspended sets whether Reserve refuses the account.
	SetSuspended(ctx context.Context, tenantID string, suspended bool) error
	// Open returns a tenant's reservations still reserved, oldest first.
	Open(ctx context.Context, tenantID string) ([]Reservation, error)
	// Expired returns up to limit reservations of any tenant still reserved whose
	// ExpiresAt is <= now, soonest first (the caller releases them).
	Expired(ctx context.Context, now time.Time, limit int) ([]Reservation, error)
	// Tenants returns the ids of every loaded account.
	Tenants(ctx context.Context) ([]string, error)
}
