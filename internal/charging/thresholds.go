package charging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
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
	// Outbox is the same events as stored with the settings that called for them:
	// emit each with its id, then clear them (AlertsEmitted). What is not cleared is
	// re-emitted by the sweep (PendingAlerts), so a crash between the store and the
	// emit loses nothing.
	Outbox []billing.Alert
}

// settingsAttempts bounds the compare-and-set loops on a tenant's settings: each
// lost race re-reads them, so only a storm of concurrent writers exhausts it (the
// Conflict is then retried by the caller's delivery).
const settingsAttempts = 8

// swapSettings applies change to the tenant's settings with compare-and-set: read,
// change, swap, and again from the read when another write came first, so no
// concurrent change (an admin's new levels, another replica's thresholds) is
// overwritten. change returns false when there is nothing to write.
func (e *Engine) swapSettings(ctx context.Context, tenantID string, change func(*billing.Settings) (bool, error)) (billing.Settings, bool, error) {
	for attempt := 1; ; attempt++ {
		s, err := e.cfg.Settings.Get(ctx, tenantID)
		if err != nil {
			return billing.Settings{}, false, err
		}
		ok, err := change(&s)
		if err != nil || !ok {
			return s, false, err
		}
		out, err := e.cfg.Settings.Swap(ctx, s)
		if errs.CodeOf(err) == errs.Conflict && attempt < settingsAttempts {
			continue
		}
		return out, err == nil, err
	}
}

// Thresholds compares a tenant's available balance with its levels: below the
// critical level it alerts once per crossing (balance.low), below the suspend level
// it suspends sending (tenant.suspended); back above them it clears the alert and
// lifts the suspension (tenant.reinstated). The new state and its alerts are stored
// together, compare-and-set.
func (e *Engine) Thresholds(ctx context.Context, tenantID string) (Alerts, error) {
	var out Alerts
	s, written, err := e.swapSettings(ctx, tenantID, func(s *billing.Settings) (bool, error) {
		out = Alerts{}
		if s.CriticalLevel.IsZero() && s.SuspendLevel.IsZero() && !s.Suspended && !s.LowNotified {
			return false, nil // nothing to watch: no store write, no wallet read
		}
		acct, err := e.Account(ctx, tenantID) // again on each attempt: it may have moved too
		if err != nil {
			return false, err
		}
		changed := levels(s, acct, &out)
		if !changed {
			return false, nil
		}
		now := e.cfg.Now()
		for _, ev := range []struct {
			typ  string
			data any
			set  bool
		}{
			{catalog.BalanceLowType, out.Low, out.Low != nil},
			{catalog.TenantSuspendedType, out.Suspended, out.Suspended != nil},
			{catalog.TenantReinstatedType, out.Reinstated, out.Reinstated != nil},
		} {
			if !ev.set {
				continue
			}
			raw, err := json.Marshal(ev.data)
			if err != nil {
				return false, errs.Wrap(errs.Internal, err, "billing: encode %s", ev.typ)
			}
			out.Outbox = append(out.Outbox, billing.Alert{ID: uuid.NewString(), TenantID: tenantID, Type: ev.typ, Data: raw, At: now})
		}
		s.Alerts = append(s.Alerts, out.Outbox...)
		return true, nil
	})
	if err != nil {
		return Alerts{}, err
	}
	if !written {
		return out, nil
	}
	if err := e.cfg.Wallet.SetSuspended(ctx, tenantID, s.Suspended); err != nil && !errors.Is(err, wallet.ErrNotLoaded) {
		return Alerts{}, err
	}
	return out, nil
}

// levels updates s's crossing state for the account's available balance, setting
// out's events, and reports whether anything changed.
func levels(s *billing.Settings, acct wallet.Account, out *Alerts) bool {
	avail := acct.Available
	changed := false
	switch below := s.CriticalLevel.IsPositive() && avail.LessThan(s.CriticalLevel); {
	case below && !s.LowNotified:
		s.LowNotified, changed = true, true
		out.Low = &catalog.BalanceLow{TenantID: s.TenantID, Balance: avail, Threshold: s.CriticalLevel, Currency: acct.Currency}
	case !below && s.LowNotified:
		s.LowNotified, changed = false, true
	}
	switch below := s.SuspendLevel.IsPositive() && avail.LessThan(s.SuspendLevel); {
	case below && !s.Suspended:
		s.Suspended, changed = true, true
		out.Suspended = &catalog.TenantSuspended{TenantID: s.TenantID, Reason: catalog.SuspendBalanceExhausted,
			Detail: fmt.Sprintf("available %s %s is below the suspend level %s", ledger.Format(avail), acct.Currency, ledger.Format(s.SuspendLevel))}
	case !below && s.Suspended:
		s.Suspended, changed = false, true
		out.Reinstated = &catalog.TenantReinstated{TenantID: s.TenantID,
			Detail: fmt.Sprintf("available %s %s is at or above the suspend level %s", ledger.Format(avail), acct.Currency, ledger.Format(s.SuspendLevel))}
	}
	return changed
}

// AlertsEmitted clears emitted alerts from the tenant's outbox.
func (e *Engine) AlertsEmitted(ctx context.Context, tenantID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, _, err := e.swapSettings(ctx, tenantID, func(s *billing.Settings) (bool, error) {
		n := len(s.Alerts)
		s.Alerts = billing.RemoveAlerts(s.Alerts, ids)
		return len(s.Alerts) != n, nil
	})
	return err
}

// AlertEvent is the CloudEvent of a stored alert: its id is the alert's, so a
// re-emission is recognisably the same event.
func AlertEvent(a billing.Alert, source string) (event.Event, error) {
	ev, err := catalog.NewAt(a.At, a.Type, source, json.RawMessage(a.Data), map[string]string{
		catalog.ExtTenantID: a.TenantID, catalog.ExtPartitionKey: a.TenantID,
	})
	if err != nil {
		return event.Event{}, errs.Wrap(errs.Internal, err, "billing: alert %s", a.ID)
	}
	ev.SetID(a.ID)
	return ev, nil
}

// PendingAlerts returns up to limit alerts stored at least age ago and not cleared
// yet: the sweep emits them again (the same ids) and clears them. age leaves the
// step that stored an alert the time to emit it first.
func (e *Engine) PendingAlerts(ctx context.Context, age time.Duration, limit int) ([]billing.Alert, error) {
	pending, err := e.cfg.Settings.Pending(ctx, limit)
	if err != nil {
		return nil, err
	}
	due := e.cfg.Now().Add(-age)
	var out []billing.Alert
	for _, s := range pending {
		for _, a := range s.Alerts {
			if !a.At.After(due) && len(out) < limit {
				out = append(out, a)
			}
		}
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
