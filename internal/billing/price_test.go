package billing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func wantDec(t *testing.T, name string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(d(want)) {
		t.Errorf("%s = %s, want %s", name, got, want)
	}
}

// smsCard is a minimal valid card: sms at 0.015 EUR per message.
func smsCard() RateCard {
	return RateCard{
		ID: "rc1", Version: 3, Name: "standard", TenantID: "t1", Currency: "EUR",
		EffectiveFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Rates:         map[string]ChannelRate{"sms": {BaseRate: d("0.015"), Unit: PerMessage}},
	}
}

func withRate(c RateCard, r ChannelRate) RateCard {
	c.Rates = map[string]ChannelRate{"sms": r}
	return c
}

func mustBase(t *testing.T, c RateCard, u Usage) Breakdown {
	t.Helper()
	if u.Channel == "" {
		u.Channel = "sms"
	}
	b, err := Base(c, u)
	if err != nil {
		t.Fatalf("Base: %v", err)
	}
	return b
}

func TestBaseUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		unit  Unit
		u     Usage
		units string
	}{
		{"message ignores segments", PerMessage, Usage{Segments: 3}, "1"},
		{"segment zero counts one", PerSegment, Usage{}, "1"},
		{"segments", PerSegment, Usage{Segments: 3}, "3"},
		{"characters zero", PerCharacter, Usage{}, "0"},
		{"characters", PerCharacter, Usage{Characters: 160}, "160"},
		{"minute zero seconds", PerMinute, Usage{}, "0"},
		{"minute one second", PerMinute, Usage{Seconds: 1}, "1"},
		{"minute exact", PerMinute, Usage{Seconds: 60}, "1"},
		{"minute rounds up", PerMinute, Usage{Seconds: 61}, "2"},
		{"minutes exact", PerMinute, Usage{Seconds: 120}, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := mustBase(t, withRate(smsCard(), ChannelRate{BaseRate: d("0.01"), Unit: tc.unit}), tc.u)
			wantDec(t, "Units", b.Units, tc.units)
			wantDec(t, "Base", b.Base, d("0.01").Mul(d(tc.units)).String())
			if b.Unit != tc.unit {
				t.Errorf("Unit = %q", b.Unit)
			}
		})
	}
}

func TestBaseErrors(t *testing.T) {
	t.Parallel()
	if _, err := Base(smsCard(), Usage{Channel: "whatsapp"}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("no rate: err = %v, want NotFound", err)
	}
	if _, err := Base(withRate(smsCard(), ChannelRate{BaseRate: d("1"), Unit: "per-byte"}), Usage{Channel: "sms"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("bad unit: err = %v, want Invalid", err)
	}
	c := smsCard()
	c.TimeBands = []TimeBand{{Start: "00:00", End: "24:00", Timezone: "Mars/Olympus", Multiplier: d("2")}}
	if _, err := Base(c, Usage{Channel: "sms"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("bad zone: err = %v, want Invalid", err)
	}
}

func TestBaseFields(t *testing.T) {
	t.Parallel()
	b := mustBase(t, withRate(smsCard(), ChannelRate{BaseRate: d("0.015"), Unit: PerMessage, ChargeOnFailure: true}), Usage{})
	if b.RateCardID != "rc1" || b.RateCardVersion != 3 || b.CardCurrency != "EUR" || b.Currency != "EUR" || !b.ChargeOnFailure {
		t.Errorf("breakdown header = %+v", b)
	}
	for name, got := range map[string]decimal.Decimal{"FXRate": b.FXRate, "TimeMultiplier": b.TimeMultiplier,
		"OperatorMultiplier": b.OperatorMultiplier, "DestinationMultiplier": b.DestinationMultiplier, "MediaMultiplier": b.MediaMultiplier} {
		wantDec(t, name, got, "1")
	}
	wantDec(t, "Base", b.Base, "0.015")
}

func TestBaseClamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, min, max string
		segments       int
		want           string
	}{
		{"no limits", "0", "0", 3, "0.03"},
		{"raised to min", "0.05", "0", 3, "0.05"},
		{"at min", "0.03", "0", 3, "0.03"},
		{"lowered to max", "0", "0.025", 3, "0.025"},
		{"at max", "0", "0.03", 3, "0.03"},
		{"max 0 is no max", "0.001", "0", 1000, "10"},
		{"within", "0.005", "0.05", 2, "0.02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ChannelRate{BaseRate: d("0.01"), Unit: PerSegment, MinCharge: d(tc.min), MaxCharge: d(tc.max)}
			wantDec(t, "Base", mustBase(t, withRate(smsCard(), r), Usage{Segments: tc.segments}).Base, tc.want)
		})
	}
}

func TestBaseTimeBands(t *testing.T) {
	t.Parallel()
	c := smsCard()
	c.TimeBands = []TimeBand{
		{Name: "weekend", Days: []string{"sat", "sun"}, Start: "00:00", End: "24:00", Timezone: "UTC", Multiplier: d("0.8")},
		{Name: "berlin-night", Start: "22:00", End: "24:00", Timezone: "Europe/Berlin", Multiplier: d("0.5")},
		{Name: "tokyo-monday-morning", Days: []string{"mon"}, Start: "09:00", End: "12:00", Timezone: "Asia/Tokyo", Multiplier: d("1.5")},
		{Name: "empty-zone-is-utc", Days: []string{"wed"}, Start: "12:00", End: "13:00", Multiplier: d("3")},
	}
	at := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	for _, tc := range []struct {
		name, at string
		day      time.Weekday // guards the calendar arithmetic of the case
		band     string
		mult     string
	}{
		{"saturday midnight starts weekend", "2026-01-03T00:00:00Z", time.Saturday, "weekend", "0.8"},
		{"sunday last second still weekend (24:00)", "2026-01-04T23:59:59Z", time.Sunday, "weekend", "0.8"},
		{"monday 05:00 utc is 06:00 berlin, 14:00 tokyo: none", "2026-01-05T05:00:00Z", time.Monday, "", "1"},
		{"friday 21:30 utc is 22:30 berlin (CET)", "2026-01-09T21:30:00Z", time.Friday, "berlin-night", "0.5"},
		{"friday 20:30 utc is 21:30 berlin (CET): none", "2026-01-09T20:30:00Z", time.Friday, "", "1"},
		{"friday 20:30 utc is 22:30 berlin (CEST)", "2026-07-10T20:30:00Z", time.Friday, "berlin-night", "0.5"},
		{"friday 23:30 utc is saturday in berlin, friday in utc: none", "2026-01-09T23:30:00Z", time.Friday, "", "1"},
		{"first match wins over berlin night", "2026-01-03T21:30:00Z", time.Saturday, "weekend", "0.8"},
		{"sunday utc is monday in tokyo", "2026-01-04T23:59:00Z", time.Sunday, "weekend", "0.8"},
		{"sunday 00:30 utc weekend", "2026-01-04T00:30:00Z", time.Sunday, "weekend", "0.8"},
		{"monday 00:00 utc is 09:00 tokyo: start inclusive", "2026-01-05T00:00:00Z", time.Monday, "tokyo-monday-morning", "1.5"},
		{"monday 00:30 utc is 09:30 tokyo", "2026-01-05T00:30:00Z", time.Monday, "tokyo-monday-morning", "1.5"},
		{"monday 03:00 utc is 12:00 tokyo: end exclusive", "2026-01-05T03:00:00Z", time.Monday, "", "1"},
		{"tuesday 00:30 utc is tuesday in tokyo", "2026-01-06T00:30:00Z", time.Tuesday, "", "1"},
		{"empty timezone is utc", "2026-01-07T12:59:00Z", time.Wednesday, "empty-zone-is-utc", "3"},
		{"offset input converted", "2026-01-07T14:30:00+02:00", time.Wednesday, "empty-zone-is-utc", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := Usage{At: at(tc.at)}
			if wd := u.At.UTC().Weekday(); wd != tc.day {
				t.Fatalf("case is a %s in UTC, not a %s", wd, tc.day)
			}
			b := mustBase(t, c, u)
			if b.TimeBand != tc.band {
				t.Errorf("TimeBand = %q, want %q", b.TimeBand, tc.band)
			}
			wantDec(t, "TimeMultiplier", b.TimeMultiplier, tc.mult)
			wantDec(t, "Base", b.Base, d("0.015").Mul(d(tc.mult)).String())
		})
	}
	// Alone, the Tokyo band sees the day change in its own zone: Sunday 23:59:59 UTC
	// is Monday 08:59:59 JST, one second before the band.
	tokyo := smsCard()
	tokyo.TimeBands = c.TimeBands[2:3]
	if b := mustBase(t, tokyo, Usage{At: at("2026-01-04T00:30:00Z")}); b.TimeBand != "" {
		t.Errorf("Sunday 09:30 JST: TimeBand = %q, want none", b.TimeBand)
	}
	if b := mustBase(t, tokyo, Usage{At: at("2026-01-04T23:59:59Z")}); b.TimeBand != "" {
		t.Errorf("08:59:59 JST: TimeBand = %q, want none", b.TimeBand)
	}
}

func TestBaseLongestPrefix(t *testing.T) {
	t.Parallel()
	c := smsCard()
	c.DestinationRates = map[string]decimal.Decimal{"4": d("1.1"), "44": d("1.2"), "447": d("1.5"), "4479": d("2")}
	c.OperatorRates = map[string]decimal.Decimal{"23410": d("0.9"), "23415": d("1.1"), "234150": d("1.3")}
	for _, tc := range []struct {
		dest, op   string
		dMul, oMul string
	}{
		{"447911123456", "234150", "2", "1.3"},
		{"447811123456", "234151", "1.5", "1.1"},
		{"441234567890", "23410", "1.2", "0.9"},
		{"4930123456", "23415", "1.1", "1.1"},
		{"15551234567", "310260", "1", "1"},
		{"4479", "2341", "2", "1"},
		{"", "", "1", "1"},
	} {
		b := mustBase(t, c, Usage{Destination: tc.dest, Operator: tc.op})
		wantDec(t, "DestinationMultiplier("+tc.dest+")", b.DestinationMultiplier, tc.dMul)
		wantDec(t, "OperatorMultiplier("+tc.op+")", b.OperatorMultiplier, tc.oMul)
		wantDec(t, "Base", b.Base, d("0.015").Mul(d(tc.dMul)).Mul(d(tc.oMul)).String())
	}
}

func TestBaseMediaAndOverage(t *testing.T) {
	t.Parallel()
	r := ChannelRate{BaseRate: d("0.02"), Unit: PerMessage, MediaMultiplier: d("2.5")}
	c := withRate(smsCard(), r)
	wantDec(t, "media", mustBase(t, c, Usage{Media: true}).Base, "0.05")
	wantDec(t, "no media", mustBase(t, c, Usage{}).Base, "0.02")
	r.MediaMultiplier = decimal.Zero
	b := mustBase(t, withRate(smsCard(), r), Usage{Media: true})
	wantDec(t, "media multiplier 0 means 1", b.MediaMultiplier, "1")

	c.Contract = &Contract{MonthlyMinimum: d("100"), IncludedVolume: 1000, OverageRate: d("0.011")}
	for _, tc := range []struct {
		volume  int64
		overage bool
		rate    string
	}{{1, false, "0.02"}, {1000, false, "0.02"}, {1001, true, "0.011"}} {
		b := mustBase(t, c, Usage{MonthVolume: tc.volume})
		if b.Overage != tc.overage {
			t.Errorf("volume %d: Overage = %v", tc.volume, b.Overage)
		}
		wantDec(t, "BaseRate", b.BaseRate, tc.rate)
		wantDec(t, "Base", b.Base, tc.rate)
	}
	c.Contract.OverageRate = decimal.Zero
	if b := mustBase(t, c, Usage{MonthVolume: 5000}); b.Overage || !b.BaseRate.Equal(d("0.02")) {
		t.Errorf("overage rate 0: %v %s, want the channel's rate", b.Overage, b.BaseRate)
	}
}

func TestBaseAllMultipliers(t *testing.T) {
	t.Parallel()
	c := withRate(smsCard(), ChannelRate{BaseRate: d("0.0123"), Unit: PerSegment, MediaMultiplier: d("1.75")})
	c.TimeBands = []TimeBand{{Name: "all", Start: "00:00", End: "24:00", Multiplier: d("0.85")}}
	c.DestinationRates = map[string]decimal.Decimal{"33": d("1.07")}
	c.OperatorRates = map[string]decimal.Decimal{"20801": d("1.0003")}
	b := mustBase(t, c, Usage{Segments: 3, Destination: "33612345678", Operator: "20801", Media: true})
	// 0.0123 × 3 × 0.85 × 1.0003 × 1.07 × 1.75, exactly.
	wantDec(t, "Base", b.Base, "0.05874858178875")
}

func TestApplyDiscount(t *testing.T) {
	t.Parallel()
	c := smsCard()
	c.VolumeDiscounts = []VolumeDiscount{
		{MinVolume: 1000, MaxVolume: 9999, DiscountPercent: d("5")},
		{MinVolume: 10000, MaxVolume: 0, DiscountPercent: d("12.5")},
		{MinVolume: 5000, MaxVolume: 0, DiscountPercent: d("99")}, // shadowed: the first match applies
	}
	for _, tc := range []struct {
		volume        int64
		pct, discount string
	}{{0, "0", "0"}, {999, "0", "0"}, {1000, "5", "0.05"}, {9999, "5", "0.05"}, {10000, "12.5", "0.125"}, {1 << 40, "12.5", "0.125"}} {
		b := Breakdown{Base: d("1")}
		b.ApplyDiscount(c, Usage{MonthVolume: tc.volume}, nil, 0)
		wantDec(t, "DiscountPercent", b.DiscountPercent, tc.pct)
		wantDec(t, "Discount", b.Discount, tc.discount)
	}
	b := Breakdown{Base: d("1")}
	b.ApplyDiscount(smsCard(), Usage{MonthVolume: 5}, nil, 0)
	wantDec(t, "no tiers", b.Discount, "0")
}

func TestApplyDiscountPromo(t *testing.T) {
	t.Parallel()
	c := smsCard()
	c.VolumeDiscounts = []VolumeDiscount{{DiscountPercent: d("20")}}
	for _, tc := range []struct {
		name  string
		promo *Promo
		use   int64
		want  string
	}{
		{"none", nil, 0, "0"},
		{"percent of discounted base", &Promo{Code: "P", Kind: PromoPercent, Value: d("10")}, 1, "0.008"},
		{"fixed below base", &Promo{Code: "P", Kind: PromoFixed, Value: d("0.03")}, 1, "0.03"},
		{"fixed capped at discounted base", &Promo{Code: "P", Kind: PromoFixed, Value: d("5")}, 1, "0.08"},
		{"first n free: use 0 (not redeemed)", &Promo{Code: "P", Kind: PromoFirstNFree, FreeCount: 3}, 0, "0"},
		{"first n free: first", &Promo{Code: "P", Kind: PromoFirstNFree, FreeCount: 3}, 1, "0.08"},
		{"first n free: last", &Promo{Code: "P", Kind: PromoFirstNFree, FreeCount: 3}, 3, "0.08"},
		{"first n free: after", &Promo{Code: "P", Kind: PromoFirstNFree, FreeCount: 3}, 4, "0"},
		{"unknown kind", &Promo{Code: "P", Kind: "bogo", Value: d("1")}, 1, "0"},
		{"negative value", &Promo{Code: "P", Kind: PromoFixed, Value: d("-1")}, 1, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := Breakdown{Base: d("0.1")}
			b.ApplyDiscount(c, Usage{}, tc.promo, tc.use)
			wantDec(t, "Discount", b.Discount, "0.02")
			wantDec(t, "Promo", b.Promo, tc.want)
			if code := b.PromoCode; (tc.promo == nil) != (code == "") {
				t.Errorf("PromoCode = %q", code)
			}
		})
	}
}

func TestApplyFees(t *testing.T) {
	t.Parallel()
	c := smsCard()
	c.Fees = Fees{APIOverhead: d("0.001"), MediaSurcharge: d("0.02"), PremiumRouting: d("0.3")}
	for _, tc := range []struct {
		u          Usage
		fees, want string
	}{
		{Usage{}, "0.001", "0.081"},
		{Usage{Media: true}, "0.021", "0.101"},
		{Usage{Premium: true}, "0.301", "0.381"},
		{Usage{Media: true, Premium: true}, "0.321", "0.401"},
	} {
		b := Breakdown{Base: d("0.1"), Discount: d("0.01"), Promo: d("0.01")}
		b.ApplyFees(c, tc.u)
		wantDec(t, "Fees", b.Fees, tc.fees)
		wantDec(t, "Subtotal", b.Subtotal, tc.want)
	}
	b := Breakdown{Base: d("0.1"), Discount: d("0.05"), Promo: d("0.2")}
	b.ApplyFees(smsCard(), Usage{})
	wantDec(t, "Subtotal floor", b.Subtotal, "0")
}

func TestApplyTax(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		exempt, b2b bool
		pct         string
		exemptOut   bool
	}{{false, false, "8", false}, {false, true, "8", false}, {true, false, "8", false}, {true, true, "0", true}} {
		c := smsCard()
		c.Tax = Tax{RatePercent: d("8"), ExemptB2B: tc.exempt}
		b := Breakdown{TaxExempt: !tc.exemptOut}
		b.ApplyTax(c, tc.b2b)
		wantDec(t, "TaxPercent", b.TaxPercent, tc.pct)
		if b.TaxExempt != tc.exemptOut {
			t.Errorf("exempt_b2b %v b2b %v: TaxExempt = %v", tc.exempt, tc.b2b, b.TaxExempt)
		}
	}
}

func TestApplyFXAndRounding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, subtotal, rate, pct string
		converted, tax, total     string
	}{
		{"converted stays exact", "0.123456789012345678", "1.23456789", "0",
			"0.15241578751714678763907942", "0", "0.152415787517146788"},
		// 60e-18 × 7.5% = 4.5e-18: half-to-even gives 4 (half-up would give 5).
		{"tie rounds to even (down)", "0.00000000000000006", "1", "7.5",
			"0.00000000000000006", "0.000000000000000004", "0.000000000000000064"},
		// 20e-18 × 7.5% = 1.5e-18: even neighbour is 2.
		{"tie rounds to even (up)", "0.00000000000000002", "1", "7.5",
			"0.00000000000000002", "0.000000000000000002", "0.000000000000000022"},
		// 18-digit subtotal × 7.5% needs 21 digits: 0.092592592592592592 5 → tie, even 2.
		{"18-digit subtotal", "1.234567901234567900", "1", "7.5",
			"1.2345679012345679", "0.092592592592592592", "1.327160493827160492"},
		{"above half rounds up", "1.234567901234567901", "1", "7.5",
			"1.234567901234567901", "0.092592592592592593", "1.327160493827160494"},
		{"total rounds the converted amount", "0.0000000000000000015", "1", "0",
			"0.0000000000000000015", "0", "0.000000000000000002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := Breakdown{Subtotal: d(tc.subtotal), TaxPercent: d(tc.pct)}
			b.ApplyFX("USD", d(tc.rate))
			if b.Currency != "USD" {
				t.Errorf("Currency = %q", b.Currency)
			}
			wantDec(t, "FXRate", b.FXRate, tc.rate)
			wantDec(t, "Converted", b.Converted, tc.converted)
			wantDec(t, "Tax", b.Tax, tc.tax)
			wantDec(t, "Total", b.Total, tc.total)
		})
	}
}

// issueCard is the issue's worked example: EUR 0.015 per message, 5% volume discount,
// 8% tax (not exempt), priced to a USD tenant at 1.10.
func issueCard() RateCard {
	c := smsCard()
	c.VolumeDiscounts = []VolumeDiscount{{DiscountPercent: d("5")}}
	c.Tax = Tax{RatePercent: d("8")}
	return c
}

func TestPriceWorkedExample(t *testing.T) {
	t.Parallel()
	u := Usage{Channel: "sms", Segments: 1, At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), MonthVolume: 1}
	b, err := Price(issueCard(), u, PriceOptions{TenantCurrency: "USD", FXRate: d("1.10"), B2B: true})
	if err != nil {
		t.Fatal(err)
	}
	wantDec(t, "Base", b.Base, "0.015")
	wantDec(t, "Discount", b.Discount, "0.00075")
	wantDec(t, "Subtotal", b.Subtotal, "0.01425")
	wantDec(t, "Converted", b.Converted, "0.015675")
	wantDec(t, "Tax", b.Tax, "0.001254")
	if got := b.Total.String(); got != "0.016929" || b.Currency != "USD" || b.CardCurrency != "EUR" {
		t.Errorf("Total = %s %s (card %s), want 0.016929 USD (card EUR)", got, b.Currency, b.CardCurrency)
	}
}

func TestPriceOptions(t *testing.T) {
	t.Parallel()
	u := Usage{Channel: "sms"}
	b, err := Price(issueCard(), u, PriceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Currency != "EUR" || !b.FXRate.Equal(one) {
		t.Errorf("defaults: %s at %s, want EUR at 1", b.Currency, b.FXRate)
	}
	wantDec(t, "Total", b.Total, "0.01539")
	if _, err := Price(issueCard(), u, PriceOptions{TenantCurrency: "USD"}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("USD without a rate: err = %v, want Invalid", err)
	}
	if _, err := Price(issueCard(), u, PriceOptions{FXRate: d("-1")}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("negative rate: err = %v, want Invalid", err)
	}
	if _, err := Price(issueCard(), Usage{Channel: "rcs"}, PriceOptions{}); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("no rate: err = %v, want NotFound", err)
	}
}

// TestStepsSurviveJSON runs the steps as the Knative Sequence does, the Breakdown
// serialised between each, and expects exactly Price's result.
func TestStepsSurviveJSON(t *testing.T) {
	t.Parallel()
	c := issueCard()
	c.DestinationRates = map[string]decimal.Decimal{"44": d("1.2")}
	c.Fees.APIOverhead = d("0.0005")
	u := Usage{Channel: "sms", Destination: "447700900123", MonthVolume: 3, Media: true}
	promo := &Promo{Code: "WELCOME", Kind: PromoPercent, Value: d("33.3")}
	o := PriceOptions{Promo: promo, PromoUse: 1, TenantCurrency: "USD", FXRate: d("1.0987")}
	want, err := Price(c, u, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Base(c, u)
	if err != nil {
		t.Fatal(err)
	}
	hop := func() {
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b = Breakdown{}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
	}
	hop()
	b.ApplyDiscount(c, u, promo, 1)
	hop()
	b.ApplyFees(c, u)
	hop()
	b.ApplyTax(c, false)
	hop()
	b.ApplyFX("USD", d("1.0987"))
	hop()
	got, _ := json.Marshal(b)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("steps over JSON:\n got %s\nwant %s", got, exp)
	}
}
