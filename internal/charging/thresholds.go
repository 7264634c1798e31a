package charging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// Alerts are the tenant events a balance change calls for.
type Alerts struct {
	Low        *catalog.BalanceLow
	Suspended  *catalog.TenantSuspended
	Reinstated *catalog.TenantReinstated
}

// Thresholds compares a tenant's available balance with its levels: below the
// critical level it alerts once per crossing (balance.low), below the suspend level
// it suspends sending (tenant.suspended); back above them it clears the alert and
// lifts the suspension (tenant.reinstated).
func (e *Engine) Thresholds(ctx context.Context, tenantID string) (Alerts, error) {
	s, err := e.cfg.Settings.Get(ctx, tenantID)
	if err != nil {
		return Alerts{}, err
	}
	if s.CriticalLevel.IsZero() && s.SuspendLevel.IsZero() && !s.Suspended && !s.LowNotified {
		return Alerts{}, nil // nothing to watch: no store write, no wallet read
	}
	acct, err := e.Account(ctx, tenantID)
	if err != nil {
		return Alerts{}, err
	}
	avail := acct.Available
	var out Alerts
	changed := false
	switch below := s.CriticalLevel.IsPositive() && avail.LessThan(s.CriticalLevel); {
	case below && !s.LowNotified:
		s.LowNotified, changed = true, true
		out.Low = &catalog.BalanceLow{TenantID: tenantID, Balance: avail, Threshold: s.CriticalLevel, Currency: acct.Currency}
	case !below && s.LowNotified:
		s.LowNotified, changed = false, true
	}
	switch below := s.SuspendLevel.IsPositive() && avail.LessThan(s.SuspendLevel); {
	case below && !s.Suspended:
		s.Suspended, changed = true, true
		out.Suspended = &catalog.TenantSuspended{TenantID: tenantID, Reason: catalog.SuspendBalanceExhausted,
			Detail: fmt.Sprintf("available %s %s is below the suspend level %s", ledger.Format(avail), acct.Currency, ledger.Format(s.SuspendLevel))}
	case !below && s.Suspended:
		s.Suspended, changed = false, true
		out.Reinstated = &catalog.TenantReinstated{TenantID: tenantID,
			Detail: fmt.Sprintf("available %s %s is at or above the suspend level %s", ledger.Format(avail), acct.Currency, ledger.Format(s.SuspendLevel))}
	}
	if !changed {
		return out, nil
	}
	if _, err := e.cfg.Settings.Put(ctx, s); err != nil {
		return Alerts{}, err
	}
	if err := e.cfg.Wallet.SetSuspended(ctx, tenantID, s.Suspended); err != nil && !errors.Is(err, wallet.ErrNotLoaded) {
		return Alerts{}, err
	}
	return out, nil
}

// TopUp credits a tenant's balance: the ledger first (the truth, idempotent on key),
// then the wallet (idempotent on the ledger transaction's id). The account is loaded
// into the wallet before the ledger post, so a concurrent load cannot snapshot the
// balance without this top-up and then miss its credit. It then re-checks the
// thresholds, so a top-up can reinstate a suspended tenant.
func (e *Engine) TopUp(ctx context.Context, tenantID, key, reference string, amount decimal.Decimal, currency string) (ledger.Transaction, bool, Alerts, error) {
	if _, err := e.Account(ctx, tenantID); err != nil {
		return ledger.Transaction{}, false, Alerts{}, err
	}
	// Check the limit before anything is written: a top-up the wallet would refuse
	// must leave no trace in the ledger either.
	bal, err := e.cfg.Ledger.Balance(ctx, tenantID, currency)
	if err != nil {
		return ledger.Transaction{}, false, Alerts{}, err
	}
	if err := CheckTopUp(bal, amount); err != nil {
		return ledger.Transaction{}, false, Alerts{}, err
	}
	tx, created, err := e.cfg.Ledger.Post(ctx, ledger.NewTopup(tenantID, key, reference, amount, currency))
	if err != nil {
		return ledger.Transaction{}, false, Alerts{}, err
	}
	// A retried top-up (created false) is credited again only while the wallet still
	// remembers its credit key, so an old Idempotency-Key reused never credits twice;
	// a crash between the post and the credit is repaired by the client's retry.
	if created || e.cfg.Now().Sub(tx.At) < wallet.DefaultCreditTTL-24*time.Hour {
		// The money is in the ledger: credit the wallet even if the caller has gone.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _, err := e.cfg.Wallet.Credit(cctx, tenantID, tx.ID, amount)
		cancel()
		if err != nil && !errors.Is(err, wallet.ErrNotLoaded) {
			return tx, created, Alerts{}, fmt.Errorf("billing: credit top-up %s to the wallet: %w", tx.ID, err)
		}
	}
	alerts, err := e.Thresholds(ctx, tenantID)
	return tx, created, alerts, err
}

// CheckTopUp refuses (Unprocessable, on the field "amount") a top-up that would take
// the balance to 10^20 or more: the wallet could not hold it, and the ledger must
// not record what the wallet refuses. Callers check it before posting anything.
func CheckTopUp(bal ledger.Balance, amount decimal.Decimal) error {
	if bal.Amount.Add(amount).LessThan(walletLimit) {
		return nil
	}
	room := decimal.Max(zero, walletLimit.Sub(bal.Amount).Sub(decimal.New(1, -ledger.Scale)))
	reason := fmt.Sprintf("the balance %s %s would exceed %d integer digits: at most %s more fits",
		ledger.Format(bal.Amount), bal.Currency, ledger.IntegerDigits, ledger.Format(room))
	return &errs.Error{Code: errs.Unprocessable, Message: "top-up refused: " + reason,
		Fields: []errs.FieldViolation{{Field: "amount", Reason: reason}}}
}
