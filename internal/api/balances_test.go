package api

import (
	"net/http"
	"testing"
)

func TestBalancesTopupIsExactAndIdempotent(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	path := "/api/v2/balances/" + acme.id
	status, _, body := a.do(t, "GET", path, acme.key, nil)
	if status != http.StatusOK || body["available"] != "0" || body["currency"] != "EUR" {
		t.Fatalf("new tenant's balance: %d %v", status, body)
	}
	for i, amount := range []string{"0.1", "0.2", "0.000000000000000001"} {
		status, _, body := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": amount, "reference": "INV"}, "Idempotency-Key", "k"+string(rune('a'+i)))
		if status != http.StatusCreated {
			t.Fatalf("topup %s: %d %v", amount, status, body)
		}
	}
	status, hdr, body := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "0.1"}, "Idempotency-Key", "ka")
	if status != http.StatusOK || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed topup: %d %v", status, body)
	}
	if status, _, body := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "5"}, "Idempotency-Key", "ka"); status != http.StatusConflict {
		t.Fatalf("same key, other amount: %d %v, want 409", status, body)
	}
	_, _, body = a.do(t, "GET", path, acme.key, nil)
	if body["available"] != "0.300000000000000001" || body["amount"] != "0.300000000000000001" || body["blocked"] != "0" {
		t.Fatalf("balance %v, want exactly 0.300000000000000001 available", body)
	}
}

func TestTopupRejectsBadInput(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	path := "/api/v2/balances/" + acme.id + "/topup"
	tests := []struct {
		name    string
		token   string
		body    any
		key     string
		want    int
		wantFld string
	}{
		{"tenant cannot top itself up", acme.key, map[string]string{"amount": "1"}, "k", http.StatusUnauthorized, ""},
		{"no idempotency key", testAdmin, map[string]string{"amount": "1"}, "", http.StatusUnprocessableEntity, "Idempotency-Key"},
		{"float-looking amount", testAdmin, map[string]string{"amount": "1e3"}, "k", http.StatusUnprocessableEntity, "amount"},
		{"19 fractional digits", testAdmin, map[string]string{"amount": "0.0000000000000000001"}, "k", http.StatusUnprocessableEntity, "amount"},
		{"negative", testAdmin, map[string]string{"amount": "-1"}, "k", http.StatusUnprocessableEntity, "amount"},
		{"other currency", testAdmin, map[string]string{"amount": "1", "currency": "USD"}, "k", http.StatusUnprocessableEntity, "currency"},
		{"amount as a JSON number", testAdmin, `{"amount": 1.5}`, "k", http.StatusBadRequest, ""},
		{"unknown tenant", testAdmin, map[string]string{"amount": "1"}, "k", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.want == http.StatusNotFound {
				p = "/api/v2/balances/nope/topup"
			}
			status, _, body := a.do(t, "POST", p, tc.token, tc.body, "Idempotency-Key", tc.key)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %v", status, tc.want, body)
			}
			if tc.wantFld != "" && !fieldsOf(body)[tc.wantFld] {
				t.Errorf("fields %v lack %s", fieldsOf(body), tc.wantFld)
			}
		})
	}
	if _, _, body := a.do(t, "GET", "/api/v2/balances/"+acme.id, acme.key, nil); body["available"] != "0" {
		t.Fatalf("rejected top-ups credited something: %v", body)
	}
}

// Tenant A gets 404 for tenant B's balance, as for its messages and tenant record.
func TestBalancesAreTenantScoped(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	if status, _, _ := a.do(t, "POST", "/api/v2/balances/"+acme.id+"/topup", testAdmin, map[string]string{"amount": "7"}, "Idempotency-Key", "x"); status != http.StatusCreated {
		t.Fatalf("topup: %d", status)
	}
	if status, _, body := a.do(t, "GET", "/api/v2/balances/"+acme.id, globex.key, nil); status != http.StatusNotFound {
		t.Fatalf("globex reads acme's balance: %d %v, want 404", status, body)
	}
	if _, _, body := a.do(t, "GET", "/api/v2/balances/"+globex.id, globex.key, nil); body["available"] != "0" {
		t.Fatalf("acme's top-up shows in globex's balance: %v", body)
	}
	if status, _, body := a.do(t, "GET", "/api/v2/balances/"+acme.id, testAdmin, nil); status != http.StatusOK || body["available"] != "7" {
		t.Fatalf("admin reads acme's balance: %d %v", status, body)
	}
}

func TestCurrencyCannotChangeUnderAPositiveBalance(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	toUSD := map[string]string{"name": "acme", "email": "acme@example.com", "currency": "USD"}
	if status, _, _ := a.do(t, "POST", "/api/v2/balances/"+acme.id+"/topup", testAdmin, map[string]string{"amount": "1"}, "Idempotency-Key", "k"); status != http.StatusCreated {
		t.Fatal("topup failed")
	}
	if status, _, body := a.do(t, "PUT", "/api/v2/tenants/"+acme.id, testAdmin, toUSD); status != http.StatusUnprocessableEntity || !fieldsOf(body)["currency"] {
		t.Fatalf("currency change under a balance: %d %v, want 422 on currency", status, body)
	}
	globex := a.createTenant(t, "globex")
	toUSD["name"], toUSD["email"] = "globex", "globex@example.com"
	if status, _, body := a.do(t, "PUT", "/api/v2/tenants/"+globex.id, testAdmin, toUSD); status != http.StatusOK || body["currency"] != "USD" {
		t.Fatalf("currency change with no money: %d %v", status, body)
	}
}
