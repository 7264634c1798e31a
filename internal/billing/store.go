package billing

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// RateCards stores rate cards. Errors are *errs.Error: Invalid (with field paths) for a
// card that fails RateCard.Validate, NotFound, Conflict for a duplicate ID.
type RateCards interface {
	// Create stores version 1 of a new card; an empty ID is set to a new UUID. It
	// does not judge EffectiveFrom against the clock (the API refuses one in the past).
	// Create and Update refuse a version effective at the same instant as another card
	// of the tenant (Invalid: effective_from, ErrSameInstant).
	Create(ctx context.Context, c RateCard) (RateCard, error)
	// Update stores a new version of card c.ID. Versions already effective at now are
	// immutable, so c.EffectiveFrom must not be before now (Invalid: effective_from);
	// a version not yet effective with the same EffectiveFrom is superseded by it.
	Update(ctx context.Context, c RateCard, now time.Time) (RateCard, error)
	// Get returns the latest version of a card.
	Get(ctx context.Context, id string) (RateCard, error)
	// Versions returns every version of a card, oldest first.
	Versions(ctx context.Context, id string) ([]RateCard, error)
	// List returns the latest version of every card assigned to tenantID ("" = all).
	List(ctx context.Context, tenantID string) ([]RateCard, error)
	// InForce returns the version in force for tenantID at t: of all versions of all
	// cards assigned to the tenant, the one with the latest EffectiveFrom <= t, the
	// highest version of its card on a tie (NotFound when none).
	InForce(ctx context.Context, tenantID string, t time.Time) (RateCard, error)
}

// FXRate converts an amount in From to To: to = from × Rate, from ValidFrom on.
type FXRate struct {
	From      string          `json:"from"`
	To        string          `json:"to"`
	Rate      decimal.Decimal `json:"rate"`
	ValidFrom time.Time       `json:"valid_from"`
	CreatedAt time.Time       `json:"created_at"`
}

// FXRates stores exchange rates; every ISO 4217 code is accepted.
type FXRates interface {
	// Put stores a rate (Invalid: bad currency, from == to, rate <= 0 or more than 18
	// fractional digits). A second Put for the same pair and ValidFrom replaces it.
	Put(ctx context.Context, r FXRate) (FXRate, error)
	// Rate returns the rate for from → to valid at t: the latest ValidFrom <= t.
	// from == to is always rate 1. NotFound when there is none (no inverse is guessed).
	Rate(ctx context.Context, from, to string, t time.Time) (FXRate, error)
}

// PromoKind is how a promo code reduces a price.
type PromoKind string

const (
	PromoFixed      PromoKind = "fixed"        // Value off each message, in the card's currency
	PromoPercent    PromoKind = "percent"      // Value percent off each message's discounted base
	PromoFirstNFree PromoKind = "first_n_free" // the first FreeCount messages cost nothing but fees
)

// Promo is a promo code granted to a tenant.
type Promo struct {
	Code      string          `json:"code"`
	TenantID  string          `json:"tenant_id"`
	Kind      PromoKind       `json:"kind"`
	Value     decimal.Decimal `json:"value"`
	FreeCount int64           `json:"free_count,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	MaxUses   int64           `json:"max_uses,omitempty"` // 0: unlimited
	Uses      int64           `json:"uses"`               // set by the store
	CreatedAt time.Time       `json:"created_at"`
}

// Promos stores promo codes and counts their uses.
type Promos interface {
	Create(ctx context.Context, p Promo) (Promo, error)
	Get(ctx context.Context, code string) (Promo, error)
	// Active returns the tenant's promos usable at t (not expired, uses left), oldest first.
	Active(ctx context.Context, tenantID string, t time.Time) ([]Promo, error)
	// Redeem counts one use of code by tenantID, once per key (a retry with the same
	// key returns the same use number). ok is false, and nothing is counted, when the
	// promo has expired at t or reached MaxUses. use is 1 for the first redemption.
	Redeem(ctx context.Context, code, tenantID, key string, t time.Time) (use int64, ok bool, err error)
}

// Settings are a tenant's balance settings. Levels are in the tenant's currency:
// below CriticalLevel billing emits balance.low, below SuspendLevel it suspends the
// tenant's sending (new messages are declined) until a top-up lifts the balance above
// it again. Zero levels are off.
type Settings struct {
	TenantID      string          `json:"tenant_id"`
	CriticalLevel decimal.Decimal `json:"critical_level"`
	SuspendLevel  decimal.Decimal `json:"suspend_level"`
	Expiry        *time.Time      `json:"expiry,omitempty"` // the prepaid balance may not be spent after it
	B2B           bool            `json:"b2b"`              // the tenant is a business (tax exemption)
	Suspended     bool            `json:"suspended"`        // set by billing's thresholds step
	// LowNotified is set once balance.low was emitted for the current crossing and
	// cleared when the balance is above CriticalLevel again, so a crossing alerts once.
	LowNotified bool `json:"low_notified"`
	// Alerts are the tenant events the last balance checks called for and that are
	// not emitted yet (the outbox): stored with the state change that called for
	// them, removed once emitted, re-emitted by a sweep meanwhile.
	Alerts []Alert `json:"alerts,omitempty"`
	// Version counts the writes of the row (0: never written), for Swap.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SettingsStore keeps Settings. Get of a tenant without settings returns the zero
// Settings for that tenant, not NotFound.
type SettingsStore interface {
	Get(ctx context.Context, tenantID string) (Settings, error)
	// Put stores s whatever the stored version (the stored Version is incremented).
	Put(ctx context.Context, s Settings) (Settings, error)
	// Swap stores s only if the stored row's Version is still s.Version (0: no row
	// yet), and returns it with the next Version; Conflict when another write came
	// first (read again, apply the change again, swap again).
	Swap(ctx context.Context, s Settings) (Settings, error)
	// Pending returns up to limit tenants' settings that hold alerts not emitted yet.
	Pending(ctx context.Context, limit int) ([]Settings, error)
}

// ChargeStatus is where a charge is in its life.
type ChargeStatus string

const (
	ChargeReserved  ChargeStatus = "reserved"
	ChargeCommitted ChargeStatus = "committed"
	ChargeReleased  ChargeStatus = "released"
)

// Charge is one message's price and what became of it: the rows of the transactions
// API. ID is the reservation id.
type Charge struct {
	ID        string          `json:"transaction_id"`
	TenantID  string          `json:"tenant_id"`
	MessageID string          `json:"message_id"`
	Channel   string          `json:"channel"`
	Status    ChargeStatus    `json:"status"`
	Amount    decimal.Decimal `json:"amount"`           // reserved
	Charged   decimal.Decimal `json:"charged"`          // committed (0 until committed, and when released)
	Currency  string          `json:"currency"`         // the tenant's
	Reason    string          `json:"reason,omitempty"` // why released (failed, expired)
	Breakdown Breakdown       `json:"breakdown"`
	CreatedAt time.Time       `json:"created_at"`
	SettledAt *time.Time      `json:"settled_at,omitempty"`
}

// Settlement moves a reserved charge to committed or released.
type Settlement struct {
	TenantID  string
	ID        string
	CreatedAt time.Time // the charge's, so a time-partitioned store finds it without a scan
	Status    ChargeStatus
	Charged   decimal.Decimal
	Reason    string
	At        time.Time
}

// ChargeFilter selects charges for the transactions API. Zero fields do not filter.
type ChargeFilter struct {
	TenantID string
	Channel  string
	Status   ChargeStatus
	From, To time.Time // CreatedAt in [From, To)
	Limit    int       // 1..1000, default 100
	Cursor   string    // from a previous page's NextCursor
}

// ChargePage is one page of charges, newest first.
type ChargePage struct {
	Charges    []Charge `json:"transactions"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Charges stores charge records, written in batches.
type Charges interface {
	// Record inserts charges; one already recorded (same tenant and ID) is left as is.
	Record(ctx context.Context, cs []Charge) error
	// Settle applies settlements to reserved charges; a charge already settled is left
	// as is (the first settlement wins), so replays change nothing.
	Settle(ctx context.Context, ss []Settlement) error
	// Get returns one charge of tenantID ("" = any tenant).
	Get(ctx context.Context, tenantID, id string) (Charge, error)
	List(ctx context.Context, f ChargeFilter) (ChargePage, error)
	// RecordDecline records a message's decline unless one is recorded (the first
	// answer stands) and returns the recorded one.
	RecordDecline(ctx context.Context, d Decline) (Decline, error)
	// Decline returns a message's recorded decline (NotFound when none).
	Decline(ctx context.Context, tenantID, messageID string) (Decline, error)
	// RecordRepair keeps the audit record of a reconciliation.
	RecordRepair(ctx context.Context, r Repair) (Repair, error)
	// Repairs returns a tenant's ("" = every tenant's) repairs, newest first, at most limit.
	Repairs(ctx context.Context, tenantID string, limit int) ([]Repair, error)
}
