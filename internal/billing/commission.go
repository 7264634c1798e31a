package billing

import (
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Share is the partner's part of a committed charge on channel: the channel's percent
// (else "*"'s, else none) of charged, rounded half-to-even to ledger.Scale digits (it
// is posted to the ledger), at most Cap when Cap > 0, and never more than charged —
// the platform's revenue leg must not go negative. A charge of 0 or less shares nothing.
func (c Commission) Share(channel string, charged decimal.Decimal) decimal.Decimal {
	if charged.Sign() <= 0 {
		return decimal.Zero
	}
	pct, ok := c.Percent[channel]
	if !ok {
		pct, ok = c.Percent["*"]
	}
	if !ok || pct.Sign() <= 0 {
		return decimal.Zero
	}
	share := charged.Mul(pct.Shift(-2)).RoundBank(ledger.Scale)
	if c.Cap.Sign() > 0 {
		share = decimal.Min(share, c.Cap)
	}
	return decimal.Min(share, charged)
}
