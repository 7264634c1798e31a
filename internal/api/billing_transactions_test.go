package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
)

// seedCharges records n charges per tenant straight into the store, one a minute
// from 10:00, alternating channel (sms, whatsapp) and status (committed, released).
func seedCharges(t *testing.T, a *testAPI, n int, tenants ...string) {
	t.Helper()
	var cs []billing.Charge
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, tenantID := range tenants {
		for i := range n {
			channel, status, charged := "sms", billing.ChargeCommitted, "0.017604"
			if i%2 == 1 {
				channel, status, charged = "whatsapp", billing.ChargeReleased, "0"
			}
			cs = append(cs, billing.Charge{
				ID: fmt.Sprintf("%s-%02d", tenantID[:8], i), TenantID: tenantID, MessageID: fmt.Sprintf("m-%d", i),
				Channel: channel, Status: status, Currency: "EUR", CreatedAt: start.Add(time.Duration(i) * time.Minute),
				Amount: decimal.RequireFromString("0.017604"), Charged: decimal.RequireFromString(charged),
				Breakdown: billing.Breakdown{
					RateCardID: "card-1", RateCardVersion: 2, CardCurrency: "USD", Currency: "EUR", Unit: billing.PerSegment,
					Units: decimal.NewFromInt(1), BaseRate: decimal.RequireFromString("0.02"), Base: decimal.RequireFromString("0.02"),
					DiscountPercent: decimal.NewFromInt(10), Discount: decimal.RequireFromString("0.002"),
					PromoCode: "HALF", Promo: decimal.RequireFromString("0.001"), Fees: decimal.RequireFromString("0.001"),
					Subtotal: decimal.RequireFromString("0.018"), FXRate: decimal.RequireFromString("0.9"),
					Converted: decimal.RequireFromString("0.0162"), TaxPercent: decimal.RequireFromString("8.667"),
					Tax: decimal.RequireFromString("0.001404"), Total: decimal.RequireFromString("0.017604"),
				},
			})
		}
	}
	if err := a.db.Charges().Record(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

// list posts a query and returns the transaction ids and the next cursor.
func (a *testAPI) list(t *testing.T, token string, q map[string]any) ([]string, string) {
	t.Helper()
	status, _, body := a.do(t, "POST", "/api/v2/transactions/list", token, q)
	if status != http.StatusOK {
		t.Fatalf("list %v: %d %v", q, status, body)
	}
	noMoneyNumbers(t, body)
	var ids []string
	for _, c := range body["transactions"].([]any) {
		ids = append(ids, c.(map[string]any)["transaction_id"].(string))
	}
	next, _ := body["next_cursor"].(string)
	return ids, next
}

func TestTransactionsListFiltersAndPages(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	seedCharges(t, a, 5, acme.id, globex.id)
	if ids, _ := a.list(t, testAdmin, map[string]any{}); len(ids) != 10 {
		t.Errorf("admin, no filter: %d charges, want 10", len(ids))
	}
	ids, _ := a.list(t, testAdmin, map[string]any{"tenant_id": acme.id})
	p := acme.id[:8]
	if fmt.Sprint(ids) != fmt.Sprint([]string{p + "-04", p + "-03", p + "-02", p + "-01", p + "-00"}) {
		t.Errorf("acme's, newest first: %v", ids)
	}
	if ids, _ := a.list(t, testAdmin, map[string]any{"tenant_id": acme.id, "channel": "whatsapp"}); fmt.Sprint(ids) != fmt.Sprint([]string{p + "-03", p + "-01"}) {
		t.Errorf("whatsapp: %v", ids)
	}
	if ids, _ := a.list(t, testAdmin, map[string]any{"tenant_id": acme.id, "status": "committed"}); len(ids) != 3 {
		t.Errorf("committed: %v, want 3", ids)
	}
	window := map[string]any{"tenant_id": acme.id, "from": "2026-11-26T10:01:00Z", "to": "2026-11-26T10:03:00Z"}
	if ids, _ := a.list(t, testAdmin, window); fmt.Sprint(ids) != fmt.Sprint([]string{p + "-02", p + "-01"}) {
		t.Errorf("[10:01, 10:03): %v", ids)
	}
	// Pages of 2 visit every charge once.
	seen := map[string]bool{}
	q := map[string]any{"limit": 2}
	for pages := 0; ; pages++ {
		ids, next := a.list(t, testAdmin, q)
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q["cursor"] = next
	}
	if len(seen) != 10 {
		t.Errorf("paging saw %d charges, want 10", len(seen))
	}
}

// A tenant's key lists and reads only its own charges; another tenant's is 404.
func TestTransactionsAreTenantScoped(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	seedCharges(t, a, 3, acme.id, globex.id)
	for _, q := range []map[string]any{{}, {"tenant_id": globex.id}} {
		ids, _ := a.list(t, acme.key, q)
		for _, id := range ids {
			if id[:8] != acme.id[:8] {
				t.Errorf("acme listed %s with %v", id, q)
			}
		}
		if len(ids) != 3 {
			t.Errorf("acme with %v: %d charges, want its 3", q, len(ids))
		}
	}
	own, other := acme.id[:8]+"-00", globex.id[:8]+"-00"
	if status, _, body := a.do(t, "GET", "/api/v2/transactions/"+other, acme.key, nil); status != http.StatusNotFound {
		t.Errorf("acme reads globex's charge: %d %v, want 404", status, body)
	}
	for _, token := range []string{acme.key, testAdmin} {
		status, _, c := a.do(t, "GET", "/api/v2/transactions/"+own, token, nil)
		if status != http.StatusOK || c["tenant_id"] != acme.id || c["status"] != "committed" || c["charged"] != "0.017604" {
			t.Fatalf("get own charge: %d %v", status, c)
		}
		noMoneyNumbers(t, c)
		b := c["breakdown"].(map[string]any)
		want := map[string]any{"base": "0.02", "discount": "0.002", "promo": "0.001", "fees": "0.001", "subtotal": "0.018",
			"fx_rate": "0.9", "converted": "0.0162", "tax": "0.001404", "total": "0.017604", "rate_card_id": "card-1", "rate_card_version": 2.0}
		for k, v := range want {
			if b[k] != v {
				t.Errorf("breakdown %s = %#v, want %#v", k, b[k], v)
			}
		}
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/transactions/"+other, testAdmin, nil); status != http.StatusOK {
		t.Errorf("admin reads globex's charge: %d", status)
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/transactions/list", "", map[string]any{}); status != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", status)
	}
}

func TestTransactionsQueryValidation(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown status", map[string]any{"status": "pending"}, "status"},
		{"negative limit", map[string]any{"limit": -1}, "limit"},
		{"limit too large", map[string]any{"limit": 1001}, "limit"},
		{"bad from", map[string]any{"from": "yesterday"}, "from"},
		{"to before from", map[string]any{"from": "2026-11-26T10:00:00Z", "to": "2026-11-26T09:00:00Z"}, "to"},
		{"forged cursor", map[string]any{"cursor": "not-a-cursor!"}, "cursor"},
	} {
		if status, _, body := a.do(t, "POST", "/api/v2/transactions/list", acme.key, tc.body); status != http.StatusUnprocessableEntity || !fieldsOf(body)[tc.field] {
			t.Errorf("%s: %d %v, want 422 on %s", tc.name, status, body, tc.field)
		}
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/transactions/list", testAdmin, `{"tenant":"x"}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", status)
	}
	if status, _, body := a.do(t, "POST", "/api/v2/transactions/list", testAdmin, nil); status != http.StatusOK || len(body["transactions"].([]any)) != 0 {
		t.Errorf("empty body: %d %v, want an empty page", status, body)
	}
}
