package billing

import (
	"time"

	"github.com/shopspring/decimal"
)

// Shortfall is what a tenant owes on top of monthSpend (the month's committed charges,
// in the card's currency) to reach the contract's monthly minimum: 0 when reached.
func (c Contract) Shortfall(monthSpend decimal.Decimal) decimal.Decimal {
	return decimal.Max(decimal.Zero, c.MonthlyMinimum.Sub(monthSpend))
}

// MonthOf names t's calendar month in UTC ("2026-11"): contracts and volume counters
// are per UTC month, whatever the tenant's zone, so every replica agrees on the key.
func MonthOf(t time.Time) string {
	return t.UTC().Format("2006-01")
}
