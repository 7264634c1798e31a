package billing

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// benchCard is a realistic production card: three time bands in different zones,
// ~200 destination prefixes, 50 operators, three volume tiers, fees, tax, contract.
func benchCard() RateCard {
	c := smsCard()
	c.Rates["sms"] = ChannelRate{BaseRate: d("0.0125"), Unit: PerSegment, MinCharge: d("0.001"), MaxCharge: d("1"), MediaMultiplier: d("3")}
	c.Rates["whatsapp"] = ChannelRate{BaseRate: d("0.004"), Unit: PerMessage}
	c.TimeBands = []TimeBand{
		{Name: "weekend", Days: []string{"sat", "sun"}, Start: "00:00", End: "24:00", Timezone: "Europe/London", Multiplier: d("0.8")},
		{Name: "night", Start: "22:00", End: "24:00", Timezone: "Europe/Berlin", Multiplier: d("0.9")},
		{Name: "peak", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00", Timezone: "America/New_York", Multiplier: d("1.15")},
	}
	c.DestinationRates = map[string]decimal.Decimal{}
	for i := range 200 {
		c.DestinationRates[fmt.Sprintf("%d%d", 1+i%9, i)] = d("1.05").Add(decimal.New(int64(i), -3))
	}
	c.DestinationRates["44"] = d("1.2")
	c.DestinationRates["447"] = d("1.35")
	c.OperatorRates = map[string]decimal.Decimal{}
	for i := range 50 {
		c.OperatorRates[fmt.Sprintf("234%02d", i)] = d("1.01").Add(decimal.New(int64(i), -3))
	}
	c.VolumeDiscounts = []VolumeDiscount{
		{MinVolume: 0, MaxVolume: 9999},
		{MinVolume: 10000, MaxVolume: 99999, DiscountPercent: d("5")},
		{MinVolume: 100000, DiscountPercent: d("10")},
	}
	c.Fees = Fees{APIOverhead: d("0.0002"), MediaSurcharge: d("0.01"), PremiumRouting: d("0.005")}
	c.Tax = Tax{RatePercent: d("20"), ExemptB2B: true}
	c.Contract = &Contract{MonthlyMinimum: d("500"), IncludedVolume: 1000000, OverageRate: d("0.011")}
	return c
}

func benchInput() (RateCard, Usage, PriceOptions) {
	u := Usage{Channel: "sms", Destination: "447700900123", Operator: "23415", Segments: 2,
		Characters: 200, At: time.Date(2026, 3, 4, 22, 30, 0, 0, time.UTC), MonthVolume: 12345}
	o := PriceOptions{Promo: &Promo{Code: "SPRING", Kind: PromoPercent, Value: d("15")}, PromoUse: 3,
		TenantCurrency: "USD", FXRate: d("1.0842")}
	return benchCard(), u, o
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ratings/s")
}

func BenchmarkPrice(b *testing.B) {
	c, u, o := benchInput()
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Price(c, u, o); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkPriceParallel(b *testing.B) {
	c, u, o := benchInput()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Price(c, u, o); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}
