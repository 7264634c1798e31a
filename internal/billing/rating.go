package billing

import (
	"time"

	"github.com/shopspring/decimal"
)

// Usage is what one message consumed, as billing sees it.
type Usage struct {
	Channel     string    `json:"channel"`
	Destination string    `json:"destination,omitempty"` // E.164 digits without "+"; "" when not a phone number
	Operator    string    `json:"operator,omitempty"`    // MCC+MNC of the destination's network; "" when unknown
	Segments    int       `json:"segments"`              // SMS parts; 1 for other channels
	Characters  int       `json:"characters"`            // runes of the text
	Seconds     int       `json:"seconds,omitempty"`     // session length, for per-minute rates
	Media       bool      `json:"media,omitempty"`
	Premium     bool      `json:"premium,omitempty"` // premium routing asked for
	At          time.Time `json:"at"`                // when the message was requested (time bands use it)
	// MonthVolume is the tenant's count of messages committed this calendar month,
	// plus this one (volume discounts and contract overage use it).
	MonthVolume int64 `json:"month_volume"`
}

// Breakdown is a message's price, step by step, as the transactions API shows it.
// Every amount is exact; only Tax and Total are rounded (half-to-even to 18 digits).
// Amounts before Converted are in CardCurrency, from Converted on in Currency.
type Breakdown struct {
	RateCardID      string `json:"rate_card_id"`
	RateCardVersion int    `json:"rate_card_version"`
	CardCurrency    string `json:"card_currency"`
	Currency        string `json:"currency"` // the tenant's: what is reserved and charged

	Unit                  Unit            `json:"unit"`
	Units                 decimal.Decimal `json:"units"`
	BaseRate              decimal.Decimal `json:"base_rate"` // the channel's, or the contract's overage rate
	Overage               bool            `json:"overage,omitempty"`
	TimeBand              string          `json:"time_band,omitempty"`
	TimeMultiplier        decimal.Decimal `json:"time_multiplier"`
	OperatorMultiplier    decimal.Decimal `json:"operator_multiplier"`
	DestinationMultiplier decimal.Decimal `json:"destination_multiplier"`
	MediaMultiplier       decimal.Decimal `json:"media_multiplier"`
	Base                  decimal.Decimal `json:"base"` // clamped to [min_charge, max_charge]

	DiscountPercent decimal.Decimal `json:"discount_percent"`
	Discount        decimal.Decimal `json:"discount"` // base × discount%/100
	PromoCode       string          `json:"promo_code,omitempty"`
	Promo           decimal.Decimal `json:"promo"`
	Fees            decimal.Decimal `json:"fees"`
	Subtotal        decimal.Decimal `json:"subtotal"` // base − discount − promo + fees, never below 0

	FXRate     decimal.Decimal `json:"fx_rate"` // card currency → tenant currency; 1 when equal
	Converted  decimal.Decimal `json:"converted"`
	TaxPercent decimal.Decimal `json:"tax_percent"` // 0 when exempt
	TaxExempt  bool            `json:"tax_exempt,omitempty"`
	Tax        decimal.Decimal `json:"tax"`
	Total      decimal.Decimal `json:"total"`

	ChargeOnFailure bool `json:"charge_on_failure"`
}
