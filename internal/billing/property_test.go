package billing

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestPriceMatchesRat prices random cards and usages and checks Tax and Total (and
// Subtotal and Converted) against modelPrice: the rules written out again, directly,
// in math/big.Rat, sharing no code with the package (its own prefix search, time-band
// matching and half-to-even rounding). BILLING_SEED=n reproduces another run.
func TestPriceMatchesRat(t *testing.T) {
	t.Parallel()
	seed := uint64(20260101)
	if s := os.Getenv("BILLING_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BILLING_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (BILLING_SEED=%d go test -run TestPriceMatchesRat reproduces it)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const runs = 3000
	// hits counts how often each rule took effect, so a generator that stopped
	// exercising one fails rather than passing vacuously.
	hits := map[string]int{}
	for i := range runs {
		g := gen{r}
		card, u, o := g.card(), g.usage(), g.options()
		if err := card.Validate(); err != nil {
			t.Fatalf("run %d: generated an invalid card: %v", i, err)
		}
		b, err := Price(card, u, o)
		if err != nil {
			t.Fatalf("run %d: Price: %v", i, err)
		}
		rate := card.Rates["sms"]
		for rule, hit := range map[string]bool{
			"time band":       b.TimeBand != "",
			"destination":     !b.DestinationMultiplier.Equal(one),
			"operator":        !b.OperatorMultiplier.Equal(one),
			"media":           !b.MediaMultiplier.Equal(one),
			"overage":         b.Overage,
			"volume discount": b.Discount.Sign() > 0,
			"promo":           b.Promo.Sign() > 0,
			"min/max clamp":   b.Base.Equal(rate.MinCharge) || b.Base.Equal(rate.MaxCharge),
			"tax exempt":      b.TaxExempt,
			"fx":              !b.FXRate.Equal(one),
			"tax rounded":     !b.Tax.Equal(b.Converted.Mul(b.TaxPercent.Shift(-2))),
		} {
			if hit {
				hits[rule]++
			}
		}
		m := modelPrice(card, u, o)
		for _, c := range []struct {
			name string
			got  decimal.Decimal
			want *big.Rat
		}{{"Subtotal", b.Subtotal, m.subtotal}, {"Converted", b.Converted, m.converted}, {"Tax", b.Tax, m.tax}, {"Total", b.Total, m.total}} {
			if ratOf(c.got).Cmp(c.want) != 0 {
				t.Fatalf("run %d (seed %d): %s = %s, model says %s\ncard %+v\nusage %+v\noptions %+v\nbreakdown %+v",
					i, seed, c.name, c.got, c.want.FloatString(30), card, u, o, b)
			}
		}
	}
	t.Logf("rules exercised in %d runs: %v", runs, hits)
	for _, rule := range []string{"time band", "destination", "operator", "media", "overage", "volume discount",
		"promo", "min/max clamp", "tax exempt", "fx", "tax rounded"} {
		if hits[rule] < runs/100 {
			t.Errorf("%s took effect in only %d of %d runs", rule, hits[rule], runs)
		}
	}
}

type gen struct{ r *rand.Rand }

// dec returns a random non-negative decimal below 10^intDigits with up to frac
// fractional digits, sometimes exactly 0.
func (g gen) dec(intDigits, frac int) decimal.Decimal {
	if g.r.IntN(8) == 0 {
		return decimal.Zero
	}
	f := g.r.IntN(frac + 1)
	var sb strings.Builder
	sb.WriteByte('0')
	for range intDigits + f {
		sb.WriteByte(byte('0' + g.r.IntN(10)))
	}
	coef, _ := new(big.Int).SetString(sb.String(), 10)
	return decimal.NewFromBigInt(coef, int32(-f))
}

func (g gen) positive(intDigits, frac int) decimal.Decimal {
	if x := g.dec(intDigits, frac); x.Sign() > 0 {
		return x
	}
	return decimal.NewFromInt(1)
}

// digits draws from a small alphabet so prefixes of generated numbers often match.
func (g gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "147"[g.r.IntN(3)]
	}
	return string(b)
}

// operators overlap by prefix (23415 / 234150); the last is never a card key.
var operators = []string{"23415", "234150", "23410", "31026", "310260", "20801"}

var zoneNames = []string{"", "UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"}

func (g gen) card() RateCard {
	unit := units[g.r.IntN(len(units))]
	rate := ChannelRate{BaseRate: g.dec(1, 18), Unit: unit, ChargeOnFailure: g.r.IntN(2) == 0}
	if g.r.IntN(3) == 0 {
		rate.MinCharge = g.dec(0, 6)
	}
	if g.r.IntN(3) == 0 {
		rate.MaxCharge = rate.MinCharge.Add(g.dec(1, 6))
	}
	if g.r.IntN(2) == 0 {
		rate.MediaMultiplier = g.dec(1, 4)
	}
	c := RateCard{Name: "random", TenantID: "t", Currency: "EUR", EffectiveFrom: time.Unix(1, 0),
		Rates: map[string]ChannelRate{"sms": rate}}
	for range g.r.IntN(4) {
		start := g.r.IntN(24*4) * 15
		end := start + 15*(1+g.r.IntN((24*60-start)/15))
		tb := TimeBand{Name: fmt.Sprint("b", start), Start: fmt.Sprintf("%02d:%02d", start/60, start%60),
			End: fmt.Sprintf("%02d:%02d", end/60, end%60), Timezone: zoneNames[g.r.IntN(len(zoneNames))], Multiplier: g.positive(1, 3)}
		for _, day := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			if g.r.IntN(2) == 0 {
				tb.Days = append(tb.Days, day)
			}
		}
		c.TimeBands = append(c.TimeBands, tb)
	}
	if g.r.IntN(4) != 0 {
		c.DestinationRates = map[string]decimal.Decimal{}
		for range g.r.IntN(12) {
			c.DestinationRates[g.digits(1+g.r.IntN(5))] = g.positive(1, 4)
		}
	}
	if g.r.IntN(2) == 0 {
		c.OperatorRates = map[string]decimal.Decimal{}
		for range g.r.IntN(6) {
			c.OperatorRates[operators[g.r.IntN(len(operators)-1)]] = g.positive(1, 4)
		}
	}
	lo := int64(0)
	for range g.r.IntN(4) {
		vd := VolumeDiscount{MinVolume: lo + int64(g.r.IntN(5000)), DiscountPercent: g.dec(2, 3)}
		if g.r.IntN(3) != 0 {
			vd.MaxVolume = vd.MinVolume + int64(g.r.IntN(5000))
		}
		lo = vd.MaxVolume
		c.VolumeDiscounts = append(c.VolumeDiscounts, vd)
	}
	c.Fees = Fees{APIOverhead: g.dec(0, 5), MediaSurcharge: g.dec(0, 5), PremiumRouting: g.dec(0, 18)}
	c.Tax = Tax{RatePercent: g.dec(2, 3), ExemptB2B: g.r.IntN(2) == 0}
	if g.r.IntN(3) == 0 {
		c.Contract = &Contract{MonthlyMinimum: g.dec(3, 2), IncludedVolume: int64(g.r.IntN(10000)), OverageRate: g.dec(0, 6)}
	}
	return c
}

func (g gen) usage() Usage {
	u := Usage{Channel: "sms", Segments: g.r.IntN(6), Characters: g.r.IntN(700), Seconds: g.r.IntN(400),
		Media: g.r.IntN(2) == 0, Premium: g.r.IntN(3) == 0, MonthVolume: int64(g.r.IntN(20000)),
		At: time.Unix(1767225600+g.r.Int64N(3*365*86400), 0)} // 2026 to 2028
	if g.r.IntN(5) != 0 {
		u.Destination = g.digits(g.r.IntN(13))
	}
	if g.r.IntN(2) == 0 {
		u.Operator = operators[g.r.IntN(len(operators))]
	}
	return u
}

func (g gen) options() PriceOptions {
	o := PriceOptions{B2B: g.r.IntN(2) == 0, PromoUse: int64(g.r.IntN(5))}
	if g.r.IntN(2) == 0 {
		o.TenantCurrency, o.FXRate = "USD", g.positive(1, 8)
	}
	switch g.r.IntN(4) {
	case 1:
		o.Promo = &Promo{Code: "P", Kind: PromoPercent, Value: g.dec(2, 2)}
	case 2:
		o.Promo = &Promo{Code: "F", Kind: PromoFixed, Value: g.dec(0, 4)}
	case 3:
		o.Promo = &Promo{Code: "N", Kind: PromoFirstNFree, FreeCount: int64(g.r.IntN(4))}
	}
	return o
}

// ---- the model ----

func ratOf(x decimal.Decimal) *big.Rat {
	r := new(big.Rat).SetInt(x.Coefficient())
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(x.Exponent()))), nil)
	if x.Exponent() < 0 {
		return r.Quo(r, new(big.Rat).SetInt(p))
	}
	return r.Mul(r, new(big.Rat).SetInt(p))
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

func ratInt(n int64) *big.Rat { return new(big.Rat).SetInt64(n) }

func mul(xs ...*big.Rat) *big.Rat {
	r := ratInt(1)
	for _, x := range xs {
		r.Mul(r, x)
	}
	return r
}

// roundHalfEven rounds a non-negative x to 18 fractional digits.
func roundHalfEven(x *big.Rat) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	n := new(big.Int).Mul(x.Num(), scale)
	q, rem := new(big.Int).QuoRem(n, x.Denom(), new(big.Int))
	switch new(big.Int).Lsh(rem, 1).Cmp(x.Denom()) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, scale)
}

type model struct{ subtotal, converted, tax, total *big.Rat }

func modelPrice(c RateCard, u Usage, o PriceOptions) model {
	rate := c.Rates[u.Channel]
	var units int64
	switch rate.Unit {
	case PerMessage:
		units = 1
	case PerSegment:
		units = max(1, int64(u.Segments))
	case PerCharacter:
		units = int64(u.Characters)
	case PerMinute:
		units = int64(u.Seconds) / 60
		if u.Seconds%60 != 0 {
			units++
		}
	}
	baseRate := ratOf(rate.BaseRate)
	if c.Contract != nil && c.Contract.OverageRate.Sign() > 0 && u.MonthVolume > c.Contract.IncludedVolume {
		baseRate = ratOf(c.Contract.OverageRate)
	}
	media := ratInt(1)
	if u.Media && rate.MediaMultiplier.Sign() != 0 {
		media = ratOf(rate.MediaMultiplier)
	}
	base := mul(baseRate, ratInt(units), modelBand(c.TimeBands, u.At), modelPrefix(c.OperatorRates, u.Operator),
		modelPrefix(c.DestinationRates, u.Destination), media)
	if lo := ratOf(rate.MinCharge); base.Cmp(lo) < 0 {
		base = lo
	}
	if hi := ratOf(rate.MaxCharge); hi.Sign() > 0 && base.Cmp(hi) > 0 {
		base = hi
	}
	pct := ratInt(0)
	for _, vd := range c.VolumeDiscounts {
		if vd.MinVolume <= u.MonthVolume && (vd.MaxVolume == 0 || u.MonthVolume <= vd.MaxVolume) {
			pct = ratOf(vd.DiscountPercent)
			break
		}
	}
	hundredth := big.NewRat(1, 100)
	rest := new(big.Rat).Sub(base, mul(base, pct, hundredth))
	promo := ratInt(0)
	if p := o.Promo; p != nil {
		switch p.Kind {
		case PromoPercent:
			promo = mul(rest, ratOf(p.Value), hundredth)
		case PromoFixed:
			promo = ratOf(p.Value)
			if promo.Cmp(rest) > 0 {
				promo = rest
			}
		case PromoFirstNFree:
			if o.PromoUse >= 1 && o.PromoUse <= p.FreeCount {
				promo = rest
			}
		}
	}
	fees := ratOf(c.Fees.APIOverhead)
	if u.Media {
		fees.Add(fees, ratOf(c.Fees.MediaSurcharge))
	}
	if u.Premium {
		fees.Add(fees, ratOf(c.Fees.PremiumRouting))
	}
	sub := new(big.Rat).Add(new(big.Rat).Sub(rest, promo), fees)
	if sub.Sign() < 0 {
		sub = ratInt(0)
	}
	fx := ratInt(1)
	if !o.FXRate.IsZero() {
		fx = ratOf(o.FXRate)
	}
	taxPct := ratOf(c.Tax.RatePercent)
	if c.Tax.ExemptB2B && o.B2B {
		taxPct = ratInt(0)
	}
	conv := mul(sub, fx)
	tax := roundHalfEven(mul(conv, taxPct, hundredth))
	return model{subtotal: sub, converted: conv, tax: tax, total: roundHalfEven(new(big.Rat).Add(conv, tax))}
}

// modelPrefix scans every key and keeps the longest that prefixes s.
func modelPrefix(m map[string]decimal.Decimal, s string) *big.Rat {
	best, found := "", false
	for k := range m {
		if strings.HasPrefix(s, k) && len(k) > len(best) {
			best, found = k, true
		}
	}
	if !found {
		return ratInt(1)
	}
	return ratOf(m[best])
}

var modelZones = map[string]*time.Location{}

func modelBand(bands []TimeBand, at time.Time) *big.Rat {
	for _, tb := range bands {
		name := tb.Timezone
		if name == "" {
			name = "UTC"
		}
		loc, ok := modelZones[name]
		if !ok {
			var err error
			if loc, err = time.LoadLocation(name); err != nil {
				panic(err)
			}
			modelZones[name] = loc
		}
		local := at.In(loc)
		day := strings.ToLower(local.Format("Mon"))
		dayOK := len(tb.Days) == 0
		for _, x := range tb.Days {
			dayOK = dayOK || x == day
		}
		var sh, sm, eh, em int
		fmt.Sscanf(tb.Start, "%d:%d", &sh, &sm)
		fmt.Sscanf(tb.End, "%d:%d", &eh, &em)
		now := local.Hour()*60 + local.Minute()
		if dayOK && sh*60+sm <= now && now < eh*60+em {
			return ratOf(tb.Multiplier)
		}
	}
	return ratInt(1)
}
