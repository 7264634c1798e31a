package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
)

// A send the destination-prefix limit refuses takes nothing from the tenant's
// bucket: hammering one prefix must not starve the tenant's other destinations.
func TestSendRefusedByTheDestinationLimitCostsTheTenantNothing(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	s := a.srv.Config.Handler.(*Server)
	s.opts.Limiter = ratelimit.NewMemory(func() time.Time { return *a.now })
	s.opts.Limits = Limits{
		Tenant:       ratelimit.Limit{Rate: 3, Period: time.Hour, Burst: 3},
		Destination:  ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1},
		PrefixDigits: 2,
	}
	acme := a.createTenant(t, "acme")
	send := func(to string) int {
		status, _, _ := a.do(t, "POST", "/api/v1/sms/send", acme.key, map[string]any{"to": to, "message": "hi"})
		return status
	}
	if status := send("+447911123456"); status != http.StatusAccepted {
		t.Fatalf("first send to +44: %d", status)
	}
	for i := range 5 {
		if status := send("+447911123456"); status != http.StatusTooManyRequests {
			t.Fatalf("send %d to +44 over its prefix limit: %d, want 429", i+2, status)
		}
	}
	// The tenant's bucket still holds the two sends the refused ones did not take.
	for _, to := range []string{"+14155550123", "+33612345678"} {
		if status := send(to); status != http.StatusAccepted {
			t.Fatalf("send to %s after refused +44 sends: %d, want 202 (refusals took tenant tokens)", to, status)
		}
	}
	if status := send("+4915112345678"); status != http.StatusTooManyRequests {
		t.Fatalf("fourth accepted send: %d, want the tenant limit's 429", status)
	}
	if n := len(a.emitter.emitted()); n != 3 {
		t.Fatalf("emitted %d, want the 3 accepted sends", n)
	}
}
