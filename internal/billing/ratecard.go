// Package billing prices messages and describes the stores billing keeps: rate cards
// (versioned, immutable once effective), FX rates, promo codes, per-tenant balance
// settings and the charge records behind the transactions API. Pricing is exact:
// shopspring/decimal everywhere, no float64; the one rounding rule is ledger's
// (half-to-even to ledger.Scale = 18 fractional digits), applied to tax and total only.
package billing

import (
	"time"

	"github.com/shopspring/decimal"
)

// Unit is what a channel rate counts.
type Unit string

const (
	PerMessage   Unit = "per-message"
	PerSegment   Unit = "per-segment"   // an SMS part (153/67 characters when concatenated)
	PerCharacter Unit = "per-character" // characters of the text (UTF-16 code units are not counted: runes are)
	PerMinute    Unit = "per-minute"    // voice/session channels: Usage.Seconds rounded up to whole minutes
)

// RateCard prices one tenant's traffic in one currency. A card is versioned: PUT makes
// a new Version of the same ID; a version whose EffectiveFrom has passed is immutable.
// The version in force at time t is the one with the latest EffectiveFrom <= t.
type RateCard struct {
	ID            string    `json:"rate_card_id"`
	Version       int       `json:"version"` // set by the store, from 1
	Name          string    `json:"name"`
	TenantID      string    `json:"tenant_id"` // the tenant the card is assigned to
	Currency      string    `json:"currency"`  // ISO 4217: the currency rates and fees are in
	EffectiveFrom time.Time `json:"effective_from"`
	// Rates per channel ("sms", "whatsapp", …). A channel without a rate cannot be
	// priced: billing declines its messages with reason no_rate.
	Rates     map[string]ChannelRate `json:"rates"`
	TimeBands []TimeBand             `json:"time_bands,omitempty"`
	// DestinationRates and OperatorRates are multipliers chosen by the longest prefix
	// of the destination's E.164 digits (no "+") and of its operator's MCC+MNC.
	DestinationRates map[string]decimal.Decimal `json:"destination_rates,omitempty"`
	OperatorRates    map[string]decimal.Decimal `json:"operator_rates,omitempty"`
	VolumeDiscounts  []VolumeDiscount           `json:"volume_discounts,omitempty"`
	Fees             Fees                       `json:"fees"`
	Tax              Tax                        `json:"tax"`
	// Commission, when set, shares each committed charge with a partner.
	Commission *Commission `json:"commission,omitempty"`
	// Contract, when set, is a monthly minimum spend with included volume and overage.
	Contract  *Contract `json:"contract,omitempty"`
	CreatedAt time.Time `json:"created_at"` // set by the store
}

// ChannelRate is a channel's price.
type ChannelRate struct {
	BaseRate        decimal.Decimal `json:"base_rate"`
	Unit            Unit            `json:"unit"`
	MinCharge       decimal.Decimal `json:"min_charge"`
	MaxCharge       decimal.Decimal `json:"max_charge"` // 0: no maximum
	ChargeOnFailure bool            `json:"charge_on_failure"`
	MediaMultiplier decimal.Decimal `json:"media_multiplier"` // applied to messages with media; 0 or absent means 1
}

// TimeBand multiplies the base price for messages sent on Days between Start and End
// ("00:00" to "24:00", End exclusive) in Timezone (IANA name). The first band that
// matches applies; none matching means multiplier 1.
type TimeBand struct {
	Name       string          `json:"name"`
	Days       []string        `json:"days"` // mon tue wed thu fri sat sun; empty: every day
	Start      string          `json:"start"`
	End        string          `json:"end"`
	Timezone   string          `json:"timezone"`
	Multiplier decimal.Decimal `json:"multiplier"`
}

// VolumeDiscount gives DiscountPercent to a tenant whose message count this month,
// this message included, is within [MinVolume, MaxVolume] (MaxVolume 0: no upper
// bound). The first matching tier applies.
type VolumeDiscount struct {
	MinVolume       int64           `json:"min_volume"`
	MaxVolume       int64           `json:"max_volume"`
	DiscountPercent decimal.Decimal `json:"discount_percent"`
}

// Fees are added per message after discounts.
type Fees struct {
	APIOverhead    decimal.Decimal `json:"api_overhead"`    // every message
	MediaSurcharge decimal.Decimal `json:"media_surcharge"` // messages with media
	PremiumRouting decimal.Decimal `json:"premium_routing"` // messages asking for premium routing
}

// Tax is applied to the converted subtotal. ExemptB2B exempts tenants that are
// businesses (a B2B tenant is reverse-charged).
type Tax struct {
	RatePercent decimal.Decimal `json:"rate_percent"`
	ExemptB2B   bool            `json:"exempt_b2b"`
}

// Commission shares each committed charge with a partner: Percent of the charge per
// channel ("*" for any other), at most Cap per charge (0: no cap), in the charge's
// currency.
type Commission struct {
	PartnerID string                     `json:"partner_id"`
	Percent   map[string]decimal.Decimal `json:"percent"`
	Cap       decimal.Decimal            `json:"cap"`
}

// Contract is a monthly commitment: the tenant pays at least MonthlyMinimum (in the
// card's currency) per calendar month; the first IncludedVolume messages of a month
// are priced normally and every later one at OverageRate per unit instead of the
// channel's BaseRate (OverageRate 0: no overage pricing).
type Contract struct {
	MonthlyMinimum decimal.Decimal `json:"monthly_minimum"`
	IncludedVolume int64           `json:"included_volume"`
	OverageRate    decimal.Decimal `json:"overage_rate"`
}
