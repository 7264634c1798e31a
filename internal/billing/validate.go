package billing

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

const maxNameLen = 100

var (
	amountLimit = decimal.New(1, ledger.IntegerDigits) // 1e20: the first amount NUMERIC(38,18) cannot hold
	hundred     = decimal.NewFromInt(100)
	// channelKey keeps channel names usable as dotted path segments and metric labels.
	channelKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	weekdays   = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // indexed by time.Weekday
	units      = []Unit{PerMessage, PerSegment, PerCharacter, PerMinute}
)

// violations collects every problem found, so a client fixes a card in one round trip.
type violations []errs.FieldViolation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, errs.FieldViolation{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// err returns nil or Invalid naming the first problem and counting the rest.
func (v violations) err(what string) error {
	if len(v) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s is invalid: %s %s", what, v[0].Field, v[0].Reason)
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(v)-1)
	}
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: v}
}

// amount checks a non-negative amount or multiplier (positive when strict) against
// ledger's storage limits; it reports at most one problem per field.
func (v *violations) amount(field string, d decimal.Decimal, strict bool) bool {
	switch {
	case strict && d.Sign() <= 0:
		v.add(field, "must be greater than 0")
	case d.Sign() < 0:
		v.add(field, "must not be negative")
	case ledger.Digits(d) > ledger.Scale:
		v.add(field, "%d fractional digits, at most %d allowed (amounts are never rounded)", ledger.Digits(d), ledger.Scale)
	case d.GreaterThanOrEqual(amountLimit):
		v.add(field, "more than %d integer digits", ledger.IntegerDigits)
	default:
		return true
	}
	return false
}

func (v *violations) percent(field string, d decimal.Decimal) {
	if v.amount(field, d, false) && d.GreaterThan(hundred) {
		v.add(field, "must be at most 100")
	}
}

// Validate checks everything a rate card must satisfy before it is stored or priced
// with: nil, or Invalid with one FieldViolation (JSON path) per problem, in a stable
// order (map keys sorted).
func (c RateCard) Validate() error {
	var v violations
	if strings.TrimSpace(c.Name) == "" {
		v.add("name", "required")
	} else if n := utf8.RuneCountInString(c.Name); n > maxNameLen {
		v.add("name", "%d characters, at most %d", n, maxNameLen)
	}
	if c.TenantID == "" {
		v.add("tenant_id", "required")
	}
	if err := ledger.CheckCurrency(c.Currency); err != nil {
		v.add("currency", "%q: %s", c.Currency, reasonOf(err))
	}
	if c.EffectiveFrom.IsZero() {
		v.add("effective_from", "required")
	}
	if len(c.Rates) == 0 {
		v.add("rates", "at least one channel rate is required")
	}
	for _, ch := range sortedKeys(c.Rates) {
		v.rate(mapPath("rates", ch, true), ch, c.Rates[ch])
	}
	for i, tb := range c.TimeBands {
		v.timeBand(fmt.Sprintf("time_bands[%d]", i), tb)
	}
	v.prefixes("destination_rates", c.DestinationRates, 1, 15, "an E.164 prefix: 1 to 15 digits")
	v.prefixes("operator_rates", c.OperatorRates, 5, 6, "an MCC+MNC: 5 or 6 digits")
	for i, vd := range c.VolumeDiscounts {
		p := fmt.Sprintf("volume_discounts[%d].", i)
		if vd.MinVolume < 0 {
			v.add(p+"min_volume", "must not be negative")
		}
		if vd.MaxVolume != 0 && vd.MaxVolume < vd.MinVolume {
			v.add(p+"max_volume", "%d is below min_volume %d (0 means no maximum)", vd.MaxVolume, vd.MinVolume)
		}
		v.percent(p+"discount_percent", vd.DiscountPercent)
	}
	v.amount("fees.api_overhead", c.Fees.APIOverhead, false)
	v.amount("fees.media_surcharge", c.Fees.MediaSurcharge, false)
	v.amount("fees.premium_routing", c.Fees.PremiumRouting, false)
	v.percent("tax.rate_percent", c.Tax.RatePercent)
	if cm := c.Commission; cm != nil {
		if cm.PartnerID == "" {
			v.add("commission.partner_id", "required")
		}
		for _, ch := range sortedKeys(cm.Percent) {
			p := mapPath("commission.percent", ch, false)
			if _, ok := c.Rates[ch]; !ok && ch != "*" {
				v.add(p, "not a channel of this card's rates, nor \"*\"")
				continue
			}
			v.percent(p, cm.Percent[ch])
		}
		v.amount("commission.cap", cm.Cap, false)
	}
	if ct := c.Contract; ct != nil {
		v.amount("contract.monthly_minimum", ct.MonthlyMinimum, false)
		if ct.IncludedVolume < 0 {
			v.add("contract.included_volume", "must not be negative")
		}
		v.amount("contract.overage_rate", ct.OverageRate, false)
	}
	return v.err(fmt.Sprintf("rate card %q", c.Name))
}

func (v *violations) rate(p, ch string, r ChannelRate) {
	if !channelKey.MatchString(ch) {
		v.add(p, "channel names are lower case letters, digits, '-' and '_'")
	}
	// The zero Decimal (nil coefficient) is what encoding/json leaves for an absent
	// field; an explicit "0" is a free channel and fine.
	if r.BaseRate == (decimal.Decimal{}) {
		v.add(p+".base_rate", "required")
	} else {
		v.amount(p+".base_rate", r.BaseRate, false)
	}
	if r.Unit == "" {
		v.add(p+".unit", "required")
	} else if !slices.Contains(units, r.Unit) {
		v.add(p+".unit", "%q: want one of per-message, per-segment, per-character, per-minute", r.Unit)
	}
	minOK := v.amount(p+".min_charge", r.MinCharge, false)
	if v.amount(p+".max_charge", r.MaxCharge, false) && minOK && r.MaxCharge.Sign() > 0 && r.MinCharge.GreaterThan(r.MaxCharge) {
		v.add(p+".max_charge", "below min_charge %s (0 means no maximum)", r.MinCharge)
	}
	v.amount(p+".media_multiplier", r.MediaMultiplier, false)
}

func (v *violations) timeBand(p string, tb TimeBand) {
	seen := map[string]bool{}
	for i, d := range tb.Days {
		dp := fmt.Sprintf("%s.days[%d]", p, i)
		switch {
		case !slices.Contains(weekdays[:], d):
			v.add(dp, "%q: want one of mon tue wed thu fri sat sun", d)
		case seen[d]:
			v.add(dp, "%q is listed twice", d)
		}
		seen[d] = true
	}
	start, okS := clock(tb.Start, false)
	if !okS {
		v.add(p+".start", "%q: want HH:MM from 00:00 to 23:59", tb.Start)
	}
	end, okE := clock(tb.End, true)
	if !okE {
		v.add(p+".end", "%q: want HH:MM from 00:01 to 24:00", tb.End)
	}
	if okS && okE && start >= end {
		v.add(p+".end", "%s is not after start %s (bands cannot wrap midnight: use two)", tb.End, tb.Start)
	}
	if _, err := location(tb.Timezone); err != nil {
		v.add(p+".timezone", "%q: not an IANA time zone name", tb.Timezone)
	}
	v.amount(p+".multiplier", tb.Multiplier, true)
}

func (v *violations) prefixes(field string, m map[string]decimal.Decimal, lo, hi int, want string) {
	for _, k := range sortedKeys(m) {
		p := mapPath(field, k, false)
		if len(k) < lo || len(k) > hi || strings.Trim(k, "0123456789") != "" {
			v.add(p, "key %q: want %s", k, want)
			continue
		}
		v.amount(p, m[k], true)
	}
}

// clock parses "HH:MM" into minutes of the day; "24:00" only when end is true.
func clock(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (!end || m != 0)) {
		return 0, false
	}
	return h*60 + m, true
}

// reasonOf returns the reason of err's first field violation, or its message.
func reasonOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields[0].Reason
	}
	return err.Error()
}

// mapPath is the JSON path of a map entry: dotted when the map holds objects and the
// key reads as an identifier (rates.sms.base_rate), else bracketed and quoted
// (destination_rates["44"]).
func mapPath(field, key string, objects bool) string {
	if objects && channelKey.MatchString(key) {
		return field + "." + key
	}
	return fmt.Sprintf("%s[%q]", field, key)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
