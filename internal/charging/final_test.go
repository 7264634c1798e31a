package charging_test

import (
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// A ledger conflict (the settle key already records a release) is a final answer:
// Unprocessable, which Knative dead-letters at once, not a 409 retried until then.
func TestLedgerConflictIsFinal(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		a, _ := f.authorize(t, m)
		if _, _, err := f.cfg.Ledger.Post(f.ctx, ledger.NewRelease(f.tenant, a.ReservationID, a.Amount, a.Currency)); err != nil {
			t.Fatal(err)
		}
		_, err := f.engine.Settle(f.ctx, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"}, true)
		if status := errs.Status(err); status != 422 || errs.Retryable(status) {
			t.Fatalf("settle over a conflicting ledger: %v (status %d), want a final 422", err, status)
		}
	})
}
