package catalog

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
)

// Billing event types. Billing is two-phase, like an online charging system: authorize
// reserves the price of a screened message, settle commits the reservation on delivery
// (or on failure when the rate says charge_on_failure) and releases it otherwise;
// unsettled reservations expire. Amounts are decimal strings (DecimalPattern) with an
// explicit ISO 4217 currency, never floats.
const (
	// BillingAuthorizedType: the price is reserved; the channel sender may send.
	BillingAuthorizedType = "io.catalyst.billing.authorized"
	// BillingDeclinedType: the message will not be sent, and nothing was reserved.
	BillingDeclinedType = "io.catalyst.billing.declined"
	// BillingCommittedType: the reservation became a charge in the ledger.
	BillingCommittedType = "io.catalyst.billing.committed"
	// BillingReleasedType: the reservation was given back to the balance.
	BillingReleasedType = "io.catalyst.billing.released"
	// BalanceLowType: a tenant's balance fell below its alert threshold.
	BalanceLowType = "io.catalyst.balance.low"
	// BillingRatingType is the work item inside the authorize Sequence: the message
	// and its price so far, passed from step to step (rate → discount → fees → tax →
	// fx → reserve). It never reaches the broker.
	BillingRatingType = "io.catalyst.billing.rating"
)

// BillingRating is the data of io.catalyst.billing.rating.
type BillingRating struct {
	Message   MessageRequested  `json:"message" jsonschema_description:"The message being priced, as requested."`
	Usage     billing.Usage     `json:"usage" jsonschema_description:"What the message consumes, as the rate card counts it."`
	Breakdown billing.Breakdown `json:"breakdown" jsonschema_description:"The price so far: each step fills its part."`
	B2B       bool              `json:"b2b,omitempty" jsonschema_description:"The tenant is a business (tax exemption)."`
	Currency  string            `json:"currency,omitempty" jsonschema_description:"The tenant's billing currency (ISO 4217), which the fx step converts to."`
}

// Decline reasons, the values of BillingDeclined.Reason.
const (
	DeclineInsufficientBalance = "insufficient_balance"
	DeclineNoRate              = "no_rate"
	DeclineTenantSuspended     = "tenant_suspended"
)

// Release reasons, the values of BillingReleased.Reason.
const (
	ReleaseFailed  = "failed"  // the message failed and its rate does not charge on failure
	ReleaseExpired = "expired" // nothing settled the reservation before it expired
)

// BillingAuthorized is the data of io.catalyst.billing.authorized.
type BillingAuthorized struct {
	MessageRef
	ReservationID string           `json:"reservation_id" jsonschema:"format=uuid" jsonschema_description:"The reservation; settle commits or releases it by this id."`
	Amount        decimal.Decimal  `json:"amount" jsonschema_description:"The reserved price of the whole message, after discounts, fees, tax and currency conversion."`
	Currency      string           `json:"currency" jsonschema:"pattern=^[A-Z]{3}$" jsonschema_description:"ISO 4217 code of amount and rate: the tenant's billing currency."`
	Rate          decimal.Decimal  `json:"rate" jsonschema_description:"The rate card's price per part that amount was computed from, in currency."`
	ExpiresAt     time.Time        `json:"expires_at" jsonschema_description:"When the reservation lapses if nothing settles it; the sender must not send after it."`
	Message       MessageRequested `json:"message" jsonschema_description:"The message to send, as requested: the channel's sender needs nothing else."`
}

// BillingDeclined is the data of io.catalyst.billing.declined.
type BillingDeclined struct {
	MessageRef
	Reason string `json:"reason" jsonschema:"enum=insufficient_balance,enum=no_rate,enum=tenant_suspended" jsonschema_description:"insufficient_balance: the balance cannot cover the price; no_rate: no rate card prices this destination; tenant_suspended: the tenant may not send."`
	Detail string `json:"detail,omitempty" jsonschema_description:"More about the reason, for humans."`
}

// BillingCommitted is the data of io.catalyst.billing.committed.
type BillingCommitted struct {
	MessageRef
	ReservationID string          `json:"reservation_id" jsonschema:"format=uuid" jsonschema_description:"The reservation that was committed."`
	Amount        decimal.Decimal `json:"amount" jsonschema_description:"The amount charged; it may differ from the reservation when the parts sent differ."`
	Currency      string          `json:"currency" jsonschema:"pattern=^[A-Z]{3}$" jsonschema_description:"ISO 4217 code of amount."`
	Available     decimal.Decimal `json:"available" jsonschema_description:"The tenant's available balance right after the commit (reservations deducted)."`
	OnFailure     bool            `json:"on_failure,omitempty" jsonschema_description:"The message failed and was charged because its rate charges on failure."`
	ReservedAt    time.Time       `json:"reserved_at" jsonschema_description:"When the reservation was made (the transaction's creation time)."`
}

// BillingReleased is the data of io.catalyst.billing.released.
type BillingReleased struct {
	MessageRef
	ReservationID string          `json:"reservation_id" jsonschema:"format=uuid" jsonschema_description:"The reservation that was released."`
	Amount        decimal.Decimal `json:"amount" jsonschema_description:"The amount given back to the balance."`
	Currency      string          `json:"currency" jsonschema:"pattern=^[A-Z]{3}$" jsonschema_description:"ISO 4217 code of amount."`
	Reason        string          `json:"reason" jsonschema:"enum=failed,enum=expired" jsonschema_description:"failed: the message failed and its rate does not charge on failure; expired: nothing settled the reservation in time."`
	Available     decimal.Decimal `json:"available" jsonschema_description:"The tenant's available balance right after the release."`
	ReservedAt    time.Time       `json:"reserved_at" jsonschema_description:"When the reservation was made (the transaction's creation time)."`
}

// BalanceLow is the data of io.catalyst.balance.low. It is a tenant's event, not a
// message's: billing settle emits it when a commit takes the balance below the
// threshold, once per crossing.
type BalanceLow struct {
	TenantID  string          `json:"tenant_id" jsonschema:"minLength=1" jsonschema_description:"The tenant; equal to the tenantid extension."`
	Balance   decimal.Decimal `json:"balance" jsonschema_description:"The available balance after the commit that crossed the threshold (reservations deducted)."`
	Threshold decimal.Decimal `json:"threshold" jsonschema_description:"The tenant's alert threshold."`
	Currency  string          `json:"currency" jsonschema:"pattern=^[A-Z]{3}$" jsonschema_description:"ISO 4217 code of balance and threshold."`
}
