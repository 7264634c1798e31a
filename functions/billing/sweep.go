package billing

import (
	"context"
	"errors"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
)

// maxUnreported bounds the expired reservations a settle function keeps retrying to
// report; past it the oldest are dropped, logged (the reservation is released all
// the same: only its charge row and event are missing).
const maxUnreported = 10_000

// sweep releases expired reservations every ExpiryInterval and emits their
// billing.released, recording each on its charge and checking the tenant's levels.
// ReconcileInterval is how often the settle functions compare the wallet with the
// ledger and repair what stayed apart (charging.Reconciler).
const ReconcileInterval = time.Minute

func (f *settle) sweep() {
	defer f.done.Done()
	t := time.NewTicker(ExpiryInterval)
	defer t.Stop()
	rt := time.NewTicker(ReconcileInterval)
	defer rt.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-rt.C:
			f.reconcile()
			continue
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), ExpiryInterval)
		if err := f.expire(ctx); err != nil {
			f.log.Warn("billing: expiring reservations", "error", err)
		}
		if err := f.sweepAlerts(ctx); err != nil {
			f.log.Warn("billing: emitting stored alerts", "error", err)
		}
		cancel()
	}
}

// expire releases what is due and reports every reservation released: its charge
// row, its billing.released and the tenant's levels. One reservation's failure
// neither stops the others nor is forgotten: it is reported again next sweep (the
// wallet no longer lists it as expired). The errors are joined.
func (f *settle) expire(ctx context.Context) error {
	released, err := f.engine.ExpireDue(ctx, 256)
	failed := []error{err}
	f.mu.Lock()
	todo := append(f.unreported, released...)
	f.unreported = nil
	f.mu.Unlock()
	var again []catalog.BillingReleased
	for _, r := range todo {
		if err := f.report(ctx, r); err != nil {
			f.log.WarnContext(ctx, "billing: expired reservation not reported yet", "tenant_id", r.TenantID, "message_id", r.MessageID, "error", err)
			failed = append(failed, err)
			again = append(again, r)
		}
	}
	if n := len(again) - maxUnreported; n > 0 {
		f.log.ErrorContext(ctx, "billing: expired reservations dropped unreported", "count", n)
		again = again[n:]
	}
	f.mu.Lock()
	f.unreported = append(f.unreported, again...)
	f.mu.Unlock()
	return errors.Join(failed...)
}

// report records an expired reservation's release on its charge, emits its
// billing.released (its id is deterministic: a repeat is a duplicate, not news) and
// checks its tenant's levels.
func (f *settle) report(ctx context.Context, r catalog.BillingReleased) error {
	if err := f.engine.RecordReleased(ctx, r); err != nil {
		return err
	}
	f.log.InfoContext(ctx, "billing: reservation expired", "tenant_id", r.TenantID, "message_id", r.MessageID, "amount", r.Amount.String(), "currency", r.Currency)
	if f.emit != nil {
		out, err := newEvent(catalog.BillingReleasedType, r.MessageID+"/released", r, r.MessageRef)
		if err != nil {
			return err
		}
		if err := f.emit.Emit(ctx, *out); err != nil {
			return err
		}
	}
	alerts, err := f.engine.Thresholds(ctx, r.TenantID)
	if err != nil {
		return err
	}
	emitAlerts(ctx, f.engine, f.emit, f.log, alerts)
	return nil
}

// AlertGrace is how long a stored alert is left to the step that stored it before
// the sweep emits it again.
const AlertGrace = 30 * time.Second

// sweepAlerts emits the alerts stored and not cleared (the step that stored them
// failed to emit them, or crashed first) and clears them.
func (f *settle) sweepAlerts(ctx context.Context) error {
	pending, err := f.engine.PendingAlerts(ctx, AlertGrace, 256)
	if err != nil {
		return err
	}
	byTenant := map[string][]billing.Alert{}
	for _, a := range pending {
		byTenant[a.TenantID] = append(byTenant[a.TenantID], a)
	}
	for _, as := range byTenant {
		f.log.InfoContext(ctx, "billing: emitting stored alerts again", "tenant_id", as[0].TenantID, "alerts", len(as))
		emitAlerts(ctx, f.engine, f.emit, f.log, charging.Alerts{Outbox: as})
	}
	return nil
}

// reconcile runs one reconciler pass: accounts apart from the ledger for
// charging.DefaultReconcileGrace are reloaded from it, each with an audit record.
func (f *settle) reconcile() {
	ctx, cancel := context.WithTimeout(context.Background(), ReconcileInterval)
	defer cancel()
	got, err := f.reconciler.Pass(ctx)
	if err != nil {
		f.log.Warn("billing: reconciling the wallet with the ledger", "error", err)
	}
	if len(got.Repaired) > 0 || len(got.Waiting) > 0 {
		f.log.Warn("billing: wallet reconciled with the ledger", "repaired", len(got.Repaired), "waiting", got.Waiting)
	}
}
