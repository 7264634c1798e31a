package billing

import (
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// issueJSON is the example card from the issue.
const issueJSON = `{"name":"standard","tenant_id":"t1","currency":"EUR","effective_from":"2026-01-01T00:00:00Z","rates":{"sms":{"base_rate":"0.015","unit":"per-segment","min_charge":"0","max_charge":"0","charge_on_failure":false,"media_multiplier":"1"}},"time_bands":[{"name":"weekend","days":["sat","sun"],"start":"00:00","end":"24:00","timezone":"UTC","multiplier":"0.8"}],"destination_rates":{"44":"1.2"},"operator_rates":{"23415":"1.1"},"volume_discounts":[{"min_volume":0,"max_volume":0,"discount_percent":"5"}],"fees":{"api_overhead":"0","media_surcharge":"0","premium_routing":"0"},"tax":{"rate_percent":"8","exempt_b2b":true}}`

func TestDecodeIssueExample(t *testing.T) {
	t.Parallel()
	c, err := DecodeRateCard([]byte(issueJSON))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "standard" || c.Currency != "EUR" || !c.EffectiveFrom.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("card = %+v", c)
	}
	r := c.Rates["sms"]
	if r.Unit != PerSegment || !r.BaseRate.Equal(d("0.015")) || len(c.TimeBands) != 1 || !c.Tax.ExemptB2B {
		t.Errorf("card = %+v", c)
	}
	// Saturday, UK destination on 234-15, two segments, 5% discount, B2B (exempt):
	// 0.015 × 2 × 0.8 × 1.1 × 1.2 = 0.03168, less 5% = 0.030096.
	u := Usage{Channel: "sms", Destination: "447700900123", Operator: "23415", Segments: 2,
		At: time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC), MonthVolume: 10}
	b, err := Price(c, u, PriceOptions{B2B: true})
	if err != nil {
		t.Fatal(err)
	}
	wantDec(t, "Base", b.Base, "0.03168")
	wantDec(t, "Total", b.Total, "0.030096")
	if !b.TaxExempt || b.TimeBand != "weekend" {
		t.Errorf("exempt %v band %q", b.TaxExempt, b.TimeBand)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	replace := func(old, new string) string {
		if !strings.Contains(issueJSON, old) {
			t.Fatalf("example has no %s", old)
		}
		return strings.Replace(issueJSON, old, new, 1)
	}
	for _, tc := range []struct {
		name, body, field, reason string
	}{
		{"unknown top-level field", replace(`"name":`, `"colour":"red","name":`), "colour", "unknown field"},
		{"field case matters", replace(`"name":`, `"Name":`), "Name", "unknown field"},
		{"unknown rate field", replace(`"unit":`, `"colour":1,"unit":`), "rates.sms.colour", "unknown field"},
		{"unknown band field", replace(`"name":"weekend",`, `"nom":"weekend",`), "time_bands[0].nom", "unknown field"},
		{"unknown fee", replace(`"api_overhead"`, `"api_overheads"`), "fees.api_overheads", "unknown field"},
		{"amount as JSON number", replace(`"base_rate":"0.015"`, `"base_rate":0.015`), "rates.sms.base_rate", "JSON number"},
		{"multiplier as JSON number", replace(`{"44":"1.2"}`, `{"44":1.2}`), `destination_rates["44"]`, "JSON number"},
		{"percent as JSON number", replace(`"rate_percent":"8"`, `"rate_percent":8`), "tax.rate_percent", "JSON number"},
		{"amount with exponent", replace(`"base_rate":"0.015"`, `"base_rate":"1.5e-2"`), "rates.sms.base_rate", "no exponent"},
		{"amount not a number", replace(`"base_rate":"0.015"`, `"base_rate":"cheap"`), "rates.sms.base_rate", "no exponent"},
		{"amount as bool", replace(`"base_rate":"0.015"`, `"base_rate":true`), "rates.sms.base_rate", "decimal string"},
		{"amount with 19 digits", replace(`"base_rate":"0.015"`, `"base_rate":"0.0150000000000000001"`), "rates.sms.base_rate", "fractional digits"},
		{"string as number", replace(`"name":"standard"`, `"name":5`), "name", "want a string"},
		{"volume as string", replace(`"min_volume":0`, `"min_volume":"0"`), "volume_discounts[0].min_volume", "whole number"},
		{"volume fractional", replace(`"min_volume":0`, `"min_volume":1.5`), "volume_discounts[0].min_volume", "whole number"},
		{"bool as string", replace(`"exempt_b2b":true`, `"exempt_b2b":"yes"`), "tax.exempt_b2b", "true or false"},
		{"days not an array", replace(`["sat","sun"]`, `"sat"`), "time_bands[0].days", "array"},
		{"map not an object", replace(`{"44":"1.2"}`, `["1.2"]`), "destination_rates", "object"},
		{"struct not an object", replace(`{"rate_percent":"8","exempt_b2b":true}`, `"8"`), "tax", "object"},
		{"bad time", replace(`"2026-01-01T00:00:00Z"`, `"2026-01-01"`), "effective_from", "RFC 3339"},
		{"commission unknown field", replace(`"tax":`, `"commission":{"partner_id":"p","percent":{"*":"1"},"cut":"1"},"tax":`), "commission.cut", "unknown field"},
		{"decodes, then validates", replace(`"currency":"EUR"`, `"currency":"eur"`), "currency", "upper case"},
		{"validation path", replace(`"end":"24:00"`, `"end":"25:00"`), "time_bands[0].end", "HH:MM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeRateCard([]byte(tc.body))
			fields := fieldsOf(t, err)
			reason, ok := fields[tc.field]
			if !ok {
				t.Fatalf("no violation for %s; got %v", tc.field, fields)
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("%s: reason %q, want it to mention %q", tc.field, reason, tc.reason)
			}
		})
	}
	for name, body := range map[string]string{
		"not JSON": `{"name":`, "trailing data": issueJSON + `{}`, "array": `[]`, "empty": ``,
	} {
		if _, err := DecodeRateCard([]byte(body)); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
	}
}

func TestDecodeNullLeavesZero(t *testing.T) {
	t.Parallel()
	// null is encoding/json's "leave it": a null base_rate is then missing.
	_, err := DecodeRateCard([]byte(strings.Replace(issueJSON, `"base_rate":"0.015"`, `"base_rate":null`, 1)))
	if reason := fieldsOf(t, err)["rates.sms.base_rate"]; reason != "required" {
		t.Errorf("reason = %q, want required", reason)
	}
}
