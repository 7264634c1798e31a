package charging

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// MonthClose is what closing a tenant's month found and did.
type MonthClose struct {
	TenantID  string          `json:"tenant_id"`
	Month     string          `json:"month"`
	Minimum   decimal.Decimal `json:"minimum"`   // the contract's monthly minimum, in the tenant's currency
	Spend     decimal.Decimal `json:"spend"`     // committed in the month
	Shortfall decimal.Decimal `json:"shortfall"` // max(0, minimum − spend)
	Charged   bool            `json:"charged"`   // the shortfall was taken from the balance
	Owed      bool            `json:"owed"`      // the balance could not cover it: collect it otherwise
}

// CloseMonth settles a tenant's contract minimum for a calendar month ("2026-11"):
// the rate card in force at the month's end names the minimum; what the tenant's
// committed charges of the month fall short of it is reserved and committed like a
// message's price, under the id "contract-<month>", so closing a month twice charges
// once. A tenant without a contract closes with a zero shortfall.
func (e *Engine) CloseMonth(ctx context.Context, tenantID, month string) (MonthClose, error) {
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return MonthClose{}, errs.E(errs.Invalid, "month %q: want YYYY-MM", month)
	}
	end := start.AddDate(0, 1, 0)
	out := MonthClose{TenantID: tenantID, Month: month}
	t, err := e.cfg.Tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return out, err
	}
	card, err := e.cfg.Cards.InForce(ctx, tenantID, end.Add(-time.Nanosecond))
	if errs.CodeOf(err) == errs.NotFound || (err == nil && card.Contract == nil) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.Minimum = card.Contract.MonthlyMinimum
	if card.Currency != t.Currency {
		fx, err := e.fxRate(ctx, card.Currency, t.Currency, end.Add(-time.Nanosecond))
		if err != nil {
			return out, fmt.Errorf("billing: contract minimum of %s in %s: %w", tenantID, t.Currency, err)
		}
		out.Minimum = out.Minimum.Mul(fx.Rate).RoundBank(ledger.Scale)
	}
	id := "contract-" + month
	f := billing.ChargeFilter{TenantID: tenantID, Status: billing.ChargeCommitted, From: start, To: end, Limit: 1000}
	for {
		page, err := e.cfg.Charges.List(ctx, f)
		if err != nil {
			return out, err
		}
		for _, c := range page.Charges {
			if c.ID != id { // the shortfall itself is not spend
				out.Spend = out.Spend.Add(c.Charged)
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	out.Shortfall = decimal.Max(decimal.Zero, out.Minimum.Sub(out.Spend))
	if !out.Shortfall.IsPositive() {
		return out, nil
	}
	// Closed before: the ledger has the shortfall's commit (the wallet forgets a
	// settled reservation after hours, and the month may be closed again later).
	if _, err := e.cfg.Ledger.Get(ctx, tenantID, ledger.SettleKey(id)); err == nil {
		out.Charged = true
		return out, nil
	} else if errs.CodeOf(err) != errs.NotFound {
		return out, err
	}
	now := e.cfg.Now()
	res := wallet.Reservation{ID: id, TenantID: tenantID, Currency: t.Currency, Amount: out.Shortfall,
		CreatedAt: now, ExpiresAt: now.Add(e.cfg.ReservationTTL)}
	got, err := e.withAccount(ctx, tenantID, func() (wallet.Result, error) { return e.cfg.Wallet.Reserve(ctx, res) })
	if err != nil {
		return out, err
	}
	if got.Outcome == wallet.Insufficient || got.Outcome == wallet.Refused {
		out.Owed = true
		return out, nil
	}
	held := got.Reservation
	if _, _, err := e.cfg.Ledger.Post(ctx, ledger.NewReserve(tenantID, id, held.Amount, held.Currency)); err != nil {
		return out, err
	}
	if err := e.charges.Add(ctx, billing.Charge{ID: id, TenantID: tenantID, MessageID: id, Channel: "contract",
		Status: billing.ChargeReserved, Amount: held.Amount, Charged: zero, Currency: held.Currency,
		Breakdown: billing.Breakdown{RateCardID: card.ID, RateCardVersion: card.Version, CardCurrency: card.Currency,
			Currency: held.Currency, Subtotal: held.Amount, Total: held.Amount}, CreatedAt: held.CreatedAt}); err != nil {
		return out, err
	}
	if _, err := e.cfg.Wallet.Commit(ctx, tenantID, id, held.Amount); err != nil {
		return out, err
	}
	if _, _, err := e.cfg.Ledger.Post(ctx, ledger.NewCommit(tenantID, id, held.Amount, held.Amount, held.Currency, "", zero)); err != nil {
		return out, err
	}
	out.Charged = true
	return out, e.settles.Add(ctx, billing.Settlement{TenantID: tenantID, ID: id, CreatedAt: held.CreatedAt,
		Status: billing.ChargeCommitted, Charged: held.Amount, At: now})
}
