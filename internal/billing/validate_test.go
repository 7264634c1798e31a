package billing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// fullCard uses every part of a card, validly.
func fullCard() RateCard {
	c := smsCard()
	c.Rates["voice"] = ChannelRate{BaseRate: d("0.01"), Unit: PerMinute, MinCharge: d("0.01"), MaxCharge: d("5"), MediaMultiplier: d("0")}
	c.TimeBands = []TimeBand{
		{Name: "weekend", Days: []string{"sat", "sun"}, Start: "00:00", End: "24:00", Timezone: "UTC", Multiplier: d("0.8")},
		{Name: "night", Start: "22:00", End: "23:59", Timezone: "Europe/Berlin", Multiplier: d("0.9")},
	}
	c.DestinationRates = map[string]decimal.Decimal{"4": d("1"), "447": d("1.5"), "123456789012345": d("2")}
	c.OperatorRates = map[string]decimal.Decimal{"23415": d("1.1"), "310260": d("0.9")}
	c.VolumeDiscounts = []VolumeDiscount{{MinVolume: 0, MaxVolume: 999}, {MinVolume: 1000, DiscountPercent: d("100")}}
	c.Fees = Fees{APIOverhead: d("0.0001"), MediaSurcharge: d("0.01"), PremiumRouting: d("0.000000000000000001")}
	c.Tax = Tax{RatePercent: d("19"), ExemptB2B: true}
	c.Commission = &Commission{PartnerID: "p1", Percent: map[string]decimal.Decimal{"sms": d("10"), "*": d("5")}, Cap: d("0.01")}
	c.Contract = &Contract{MonthlyMinimum: d("100"), IncludedVolume: 10000, OverageRate: d("0.012")}
	return c
}

func TestValidateOK(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]RateCard{"minimal": smsCard(), "full": fullCard()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// fieldsOf returns err's field paths, failing unless it is Invalid.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("err = %v, want Invalid", err)
	}
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Field] = f.Reason
	}
	return m
}

func TestValidateRules(t *testing.T) {
	t.Parallel()
	rate := func(c *RateCard, f func(*ChannelRate)) {
		r := c.Rates["sms"]
		f(&r)
		c.Rates["sms"] = r
	}
	for _, tc := range []struct {
		name   string
		mutate func(*RateCard)
		field  string
		reason string // a substring of the reason
	}{
		{"name required", func(c *RateCard) { c.Name = " " }, "name", "required"},
		{"name too long", func(c *RateCard) { c.Name = strings.Repeat("é", 101) }, "name", "at most 100"},
		{"tenant required", func(c *RateCard) { c.TenantID = "" }, "tenant_id", "required"},
		{"currency lower case", func(c *RateCard) { c.Currency = "eur" }, "currency", "upper case"},
		{"currency unknown", func(c *RateCard) { c.Currency = "ABC" }, "currency", "ISO 4217"},
		{"currency XXX", func(c *RateCard) { c.Currency = "XXX" }, "currency", "no currency"},
		{"effective_from required", func(c *RateCard) { c.EffectiveFrom = time.Time{} }, "effective_from", "required"},
		{"a rate required", func(c *RateCard) { c.Rates, c.Commission = nil, nil }, "rates", "at least one"},
		{"channel upper case", func(c *RateCard) { c.Rates["SMS"] = c.Rates["sms"] }, `rates["SMS"]`, "lower case"},
		{"channel empty", func(c *RateCard) { c.Rates[""] = c.Rates["sms"] }, `rates[""]`, "lower case"},
		{"base_rate required", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.BaseRate = decimal.Decimal{} }) }, "rates.sms.base_rate", "required"},
		{"base_rate negative", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.BaseRate = d("-0.01") }) }, "rates.sms.base_rate", "negative"},
		{"base_rate 19 digits", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.BaseRate = d("0.0000000000000000001") }) }, "rates.sms.base_rate", "19 fractional digits"},
		{"base_rate too large", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.BaseRate = d("100000000000000000000") }) }, "rates.sms.base_rate", "integer digits"},
		{"unit required", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.Unit = "" }) }, "rates.sms.unit", "required"},
		{"unit unknown", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.Unit = "per-byte" }) }, "rates.sms.unit", "want one of"},
		{"min_charge negative", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.MinCharge = d("-1") }) }, "rates.sms.min_charge", "negative"},
		{"max_charge negative", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.MaxCharge = d("-1") }) }, "rates.sms.max_charge", "negative"},
		{"max below min", func(c *RateCard) {
			rate(c, func(r *ChannelRate) { r.MinCharge, r.MaxCharge = d("0.5"), d("0.4") })
		}, "rates.sms.max_charge", "below min_charge"},
		{"media_multiplier negative", func(c *RateCard) { rate(c, func(r *ChannelRate) { r.MediaMultiplier = d("-2") }) }, "rates.sms.media_multiplier", "negative"},
		{"day unknown", func(c *RateCard) { c.TimeBands[0].Days = []string{"sat", "Sunday"} }, "time_bands[0].days[1]", "want one of"},
		{"day twice", func(c *RateCard) { c.TimeBands[1].Days = []string{"mon", "mon"} }, "time_bands[1].days[1]", "twice"},
		{"start malformed", func(c *RateCard) { c.TimeBands[0].Start = "7:00" }, "time_bands[0].start", "HH:MM"},
		{"start 24:00", func(c *RateCard) { c.TimeBands[0].Start = "24:00" }, "time_bands[0].start", "HH:MM"},
		{"end minutes", func(c *RateCard) { c.TimeBands[0].End = "12:60" }, "time_bands[0].end", "HH:MM"},
		{"end 24:30", func(c *RateCard) { c.TimeBands[0].End = "24:30" }, "time_bands[0].end", "HH:MM"},
		{"start not before end", func(c *RateCard) { c.TimeBands[1].Start, c.TimeBands[1].End = "22:00", "06:00" }, "time_bands[1].end", "not after start"},
		{"start equals end", func(c *RateCard) { c.TimeBands[1].Start, c.TimeBands[1].End = "10:00", "10:00" }, "time_bands[1].end", "not after start"},
		{"timezone unknown", func(c *RateCard) { c.TimeBands[1].Timezone = "Europe/Atlantis" }, "time_bands[1].timezone", "IANA"},
		{"timezone Local", func(c *RateCard) { c.TimeBands[1].Timezone = "Local" }, "time_bands[1].timezone", "IANA"},
		{"band multiplier 0", func(c *RateCard) { c.TimeBands[0].Multiplier = decimal.Zero }, "time_bands[0].multiplier", "greater than 0"},
		{"destination letters", func(c *RateCard) { c.DestinationRates["4a"] = d("1") }, `destination_rates["4a"]`, "1 to 15 digits"},
		{"destination 16 digits", func(c *RateCard) { c.DestinationRates["1234567890123456"] = d("1") }, `destination_rates["1234567890123456"]`, "1 to 15 digits"},
		{"destination empty", func(c *RateCard) { c.DestinationRates[""] = d("1") }, `destination_rates[""]`, "1 to 15 digits"},
		{"destination plus", func(c *RateCard) { c.DestinationRates["+44"] = d("1") }, `destination_rates["+44"]`, "1 to 15 digits"},
		{"destination multiplier 0", func(c *RateCard) { c.DestinationRates["44"] = decimal.Zero }, `destination_rates["44"]`, "greater than 0"},
		{"operator 4 digits", func(c *RateCard) { c.OperatorRates["2341"] = d("1") }, `operator_rates["2341"]`, "5 or 6 digits"},
		{"operator 7 digits", func(c *RateCard) { c.OperatorRates["2341501"] = d("1") }, `operator_rates["2341501"]`, "5 or 6 digits"},
		{"operator multiplier negative", func(c *RateCard) { c.OperatorRates["23415"] = d("-1") }, `operator_rates["23415"]`, "greater than 0"},
		{"volume min negative", func(c *RateCard) { c.VolumeDiscounts[0].MinVolume = -1 }, "volume_discounts[0].min_volume", "negative"},
		{"volume max below min", func(c *RateCard) { c.VolumeDiscounts[1].MaxVolume = 999 }, "volume_discounts[1].max_volume", "below min_volume"},
		{"volume percent over 100", func(c *RateCard) { c.VolumeDiscounts[1].DiscountPercent = d("100.5") }, "volume_discounts[1].discount_percent", "at most 100"},
		{"volume percent negative", func(c *RateCard) { c.VolumeDiscounts[0].DiscountPercent = d("-5") }, "volume_discounts[0].discount_percent", "negative"},
		{"api_overhead negative", func(c *RateCard) { c.Fees.APIOverhead = d("-0.1") }, "fees.api_overhead", "negative"},
		{"media_surcharge negative", func(c *RateCard) { c.Fees.MediaSurcharge = d("-0.1") }, "fees.media_surcharge", "negative"},
		{"premium_routing digits", func(c *RateCard) { c.Fees.PremiumRouting = d("0.0000000000000000005") }, "fees.premium_routing", "fractional digits"},
		{"tax over 100", func(c *RateCard) { c.Tax.RatePercent = d("101") }, "tax.rate_percent", "at most 100"},
		{"tax negative", func(c *RateCard) { c.Tax.RatePercent = d("-1") }, "tax.rate_percent", "negative"},
		{"partner required", func(c *RateCard) { c.Commission.PartnerID = "" }, "commission.partner_id", "required"},
		{"commission channel unknown", func(c *RateCard) { c.Commission.Percent["rcs"] = d("1") }, `commission.percent["rcs"]`, "not a channel"},
		{"commission percent over 100", func(c *RateCard) { c.Commission.Percent["*"] = d("150") }, `commission.percent["*"]`, "at most 100"},
		{"commission cap negative", func(c *RateCard) { c.Commission.Cap = d("-1") }, "commission.cap", "negative"},
		{"minimum negative", func(c *RateCard) { c.Contract.MonthlyMinimum = d("-1") }, "contract.monthly_minimum", "negative"},
		{"included volume negative", func(c *RateCard) { c.Contract.IncludedVolume = -1 }, "contract.included_volume", "negative"},
		{"overage negative", func(c *RateCard) { c.Contract.OverageRate = d("-0.01") }, "contract.overage_rate", "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := fullCard()
			tc.mutate(&c)
			fields := fieldsOf(t, c.Validate())
			reason, ok := fields[tc.field]
			if !ok {
				t.Fatalf("no violation for %s; got %v", tc.field, fields)
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("%s: reason %q, want it to mention %q", tc.field, reason, tc.reason)
			}
			if len(fields) != 1 {
				t.Errorf("want only %s, got %v", tc.field, fields)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	var e *errs.Error
	err := RateCard{Rates: map[string]ChannelRate{"sms": {}}}.Validate()
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	want := "name tenant_id currency effective_from rates.sms.base_rate rates.sms.unit"
	if strings.Join(got, " ") != want {
		t.Errorf("fields = %v, want %s", got, want)
	}
	if !strings.Contains(e.Message, "(and 5 more)") {
		t.Errorf("message = %q", e.Message)
	}
}
