package billing

import (
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Pricing runs as separate steps (Base, ApplyDiscount, ApplyFees, ApplyTax, ApplyFX),
// each a function of its inputs and the Breakdown so far, because each runs as its
// own CloudEvents function in a Knative Sequence with the Breakdown as JSON between
// them. Every amount is exact (decimal Mul/Add/Sub, percent/100 as Shift(-2)); the only
// rounding is ledger's, half-to-even to ledger.Scale digits, on Tax and Total.

var one = decimal.NewFromInt(1)

// Base prices the usage before discounts: the channel's rate (or the contract's
// overage rate) × units × time, operator, destination and media multipliers, clamped
// to the rate's [min_charge, max_charge]. NotFound when the card has no rate for the
// channel; Invalid when the card is broken in a way Validate would have caught.
func Base(card RateCard, u Usage) (Breakdown, error) {
	rate, ok := card.Rates[u.Channel]
	if !ok {
		return Breakdown{}, errs.E(errs.NotFound, "no rate for channel %q on rate card %q", u.Channel, card.ID)
	}
	n, err := unitCount(rate.Unit, u)
	if err != nil {
		return Breakdown{}, err
	}
	b := Breakdown{
		RateCardID:      card.ID,
		RateCardVersion: card.Version,
		CardCurrency:    card.Currency,
		Currency:        card.Currency,
		Unit:            rate.Unit,
		Units:           decimal.NewFromInt(n),
		BaseRate:        rate.BaseRate,
		FXRate:          one,
		ChargeOnFailure: rate.ChargeOnFailure,
	}
	if c := card.Contract; c != nil && c.OverageRate.Sign() > 0 && u.MonthVolume > c.IncludedVolume {
		b.BaseRate, b.Overage = c.OverageRate, true
	}
	b.TimeMultiplier, b.TimeBand, err = timeMultiplier(card.TimeBands, u.At)
	if err != nil {
		return Breakdown{}, err
	}
	b.OperatorMultiplier = longestPrefix(card.OperatorRates, u.Operator)
	b.DestinationMultiplier = longestPrefix(card.DestinationRates, u.Destination)
	b.MediaMultiplier = one
	if u.Media && !rate.MediaMultiplier.IsZero() {
		b.MediaMultiplier = rate.MediaMultiplier
	}
	base := b.BaseRate.Mul(b.Units)
	for _, m := range [...]decimal.Decimal{b.TimeMultiplier, b.OperatorMultiplier, b.DestinationMultiplier, b.MediaMultiplier} {
		if m != one { // most multipliers are the shared 1: skip a big.Int multiplication
			base = base.Mul(m)
		}
	}
	if base.LessThan(rate.MinCharge) {
		base = rate.MinCharge
	}
	if rate.MaxCharge.Sign() > 0 && base.GreaterThan(rate.MaxCharge) {
		base = rate.MaxCharge
	}
	b.Base = base
	return b, nil
}

func unitCount(unit Unit, u Usage) (int64, error) {
	switch unit {
	case PerMessage:
		return 1, nil
	case PerSegment:
		return int64(max(u.Segments, 1)), nil
	case PerCharacter:
		return int64(max(u.Characters, 0)), nil
	case PerMinute:
		return (int64(max(u.Seconds, 0)) + 59) / 60, nil
	}
	return 0, errs.E(errs.Invalid, "rate for channel %q has unit %q, want one of per-message, per-segment, per-character, per-minute", u.Channel, unit)
}

// timeMultiplier returns the multiplier and name of the first band matching at, or 1.
func timeMultiplier(bands []TimeBand, at time.Time) (decimal.Decimal, string, error) {
	for i, tb := range bands {
		loc, err := location(tb.Timezone)
		if err != nil {
			return decimal.Decimal{}, "", errs.E(errs.Invalid, "time_bands[%d].timezone %q: %v", i, tb.Timezone, err)
		}
		start, okS := clock(tb.Start, false)
		end, okE := clock(tb.End, true)
		if !okS || !okE {
			return decimal.Decimal{}, "", errs.E(errs.Invalid, "time_bands[%d]: start %q or end %q is not HH:MM", i, tb.Start, tb.End)
		}
		local := at.In(loc)
		if len(tb.Days) > 0 && !hasDay(tb.Days, weekdays[local.Weekday()]) {
			continue
		}
		if m := local.Hour()*60 + local.Minute(); m >= start && m < end {
			return tb.Multiplier, tb.Name, nil
		}
	}
	return one, "", nil
}

func hasDay(days []string, day string) bool {
	for _, d := range days {
		if d == day {
			return true
		}
	}
	return false
}

// longestPrefix returns the multiplier of the longest key of m that prefixes s, or 1.
// It tries s's prefixes longest first, one map lookup each: substrings of s share its
// memory, so nothing is allocated.
func longestPrefix(m map[string]decimal.Decimal, s string) decimal.Decimal {
	if len(m) == 0 || s == "" {
		return one
	}
	for n := min(len(s), 15); n > 0; n-- {
		if d, ok := m[s[:n]]; ok {
			return d
		}
	}
	return one
}

// zones caches time zones: time.LoadLocation reads the zoneinfo database on every
// call, far too slow for a per-message step. Failures are not cached (rare, and a
// zoneinfo install can fix them).
var zones sync.Map // name → *time.Location

// location loads an IANA zone; "" is UTC. "Local" is refused: a rate card must not
// depend on the machine that prices it.
func location(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errs.E(errs.Invalid, "the machine's local zone is not allowed")
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}

// ApplyDiscount sets the volume discount (the first tier containing u.MonthVolume) and
// the promo's reduction of the discounted base. promo nil is none; promoUse is the
// use number Promos.Redeem returned (first_n_free counts it). Whether the promo is
// still valid is the Promos store's business, not this step's.
func (b *Breakdown) ApplyDiscount(card RateCard, u Usage, promo *Promo, promoUse int64) {
	b.DiscountPercent = decimal.Zero
	for _, t := range card.VolumeDiscounts {
		if u.MonthVolume >= t.MinVolume && (t.MaxVolume == 0 || u.MonthVolume <= t.MaxVolume) {
			b.DiscountPercent = t.DiscountPercent
			break
		}
	}
	b.Discount = b.Base.Mul(b.DiscountPercent.Shift(-2))
	b.PromoCode, b.Promo = "", decimal.Zero
	if promo == nil {
		return
	}
	b.PromoCode = promo.Code
	rest := b.Base.Sub(b.Discount)
	switch promo.Kind {
	case PromoPercent:
		b.Promo = rest.Mul(promo.Value.Shift(-2))
	case PromoFixed:
		b.Promo = decimal.Min(promo.Value, rest)
	case PromoFirstNFree:
		if promoUse >= 1 && promoUse <= promo.FreeCount {
			b.Promo = rest
		}
	}
	if b.Promo.Sign() < 0 { // a negative promo value would raise the price
		b.Promo = decimal.Zero
	}
}

// ApplyFees adds the card's per-message fees and sets the subtotal, never below 0.
func (b *Breakdown) ApplyFees(card RateCard, u Usage) {
	f := card.Fees.APIOverhead
	if u.Media {
		f = f.Add(card.Fees.MediaSurcharge)
	}
	if u.Premium {
		f = f.Add(card.Fees.PremiumRouting)
	}
	b.Fees = f
	b.Subtotal = decimal.Max(decimal.Zero, b.Base.Sub(b.Discount).Sub(b.Promo).Add(f))
}

// ApplyTax sets the tax percent: the card's, or 0 for a B2B tenant when the card
// exempts B2B (reverse charge).
func (b *Breakdown) ApplyTax(card RateCard, b2b bool) {
	b.TaxPercent, b.TaxExempt = card.Tax.RatePercent, false
	if card.Tax.ExemptB2B && b2b {
		b.TaxPercent, b.TaxExempt = decimal.Zero, true
	}
}

// ApplyFX converts the subtotal to the tenant's currency (exactly) and computes tax
// and total, the two amounts rounded half-to-even to ledger.Scale digits.
func (b *Breakdown) ApplyFX(tenantCurrency string, rate decimal.Decimal) {
	b.Currency, b.FXRate = tenantCurrency, rate
	b.Converted = b.Subtotal.Mul(rate)
	b.Tax = b.Converted.Mul(b.TaxPercent.Shift(-2)).RoundBank(ledger.Scale)
	b.Total = b.Converted.Add(b.Tax).RoundBank(ledger.Scale)
}

// PriceOptions are what pricing needs beyond the card and the usage.
type PriceOptions struct {
	Promo    *Promo // nil: none
	PromoUse int64  // the promo's use number (Promos.Redeem)
	B2B      bool   // the tenant is a business (Settings.B2B)
	// TenantCurrency is the currency charged ("" = the card's); FXRate converts the
	// card's currency to it (zero = 1, allowed only when the currencies are equal).
	TenantCurrency string
	FXRate         decimal.Decimal
}

// Price runs every step: Base, ApplyDiscount, ApplyFees, ApplyTax, ApplyFX. Invalid
// when the currencies differ and no FX rate is given (pricing EUR as USD 1:1 would be
// a silent loss), or the rate is negative.
func Price(card RateCard, u Usage, o PriceOptions) (Breakdown, error) {
	cur, rate := o.TenantCurrency, o.FXRate
	if cur == "" {
		cur = card.Currency
	}
	switch {
	case rate.IsZero() && cur != card.Currency:
		return Breakdown{}, errs.E(errs.Invalid, "no FX rate from %s to %s", card.Currency, cur)
	case rate.IsZero():
		rate = one
	case rate.Sign() < 0:
		return Breakdown{}, errs.E(errs.Invalid, "FX rate %s from %s to %s is negative", rate, card.Currency, cur)
	}
	b, err := Base(card, u)
	if err != nil {
		return Breakdown{}, err
	}
	b.ApplyDiscount(card, u, o.Promo, o.PromoUse)
	b.ApplyFees(card, u)
	b.ApplyTax(card, o.B2B)
	b.ApplyFX(cur, rate)
	return b, nil
}
