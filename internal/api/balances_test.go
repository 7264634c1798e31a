package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// forEachBalanceMode runs a balance test with the billing engine (wallet view) and
// without it (ledger view): both must answer the same.
func forEachBalanceMode(t *testing.T, test func(t *testing.T, a *testAPI)) {
	t.Parallel()
	for name, opts := range map[string][]func(*Options){"billing": nil, "ledger": {withoutBilling}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newTestAPI(t, opts...))
		})
	}
}

func TestBalancesTopupIsExactAndIdempotent(t *testing.T) {
	forEachBalanceMode(t, func(t *testing.T, a *testAPI) {
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
	})
}

func TestTopupRejectsBadInput(t *testing.T) {
	forEachBalanceMode(t, func(t *testing.T, a *testAPI) {
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
	})
}

// Tenant A gets 404 for tenant B's balance, as for its messages and tenant record.
func TestBalancesAreTenantScoped(t *testing.T) {
	forEachBalanceMode(t, func(t *testing.T, a *testAPI) {
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
	})
}

func TestCurrencyCannotChangeUnderAPositiveBalance(t *testing.T) {
	forEachBalanceMode(t, func(t *testing.T, a *testAPI) {
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
	})
}

func TestBalanceViewWithBillingSettings(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	path := "/api/v2/balances/" + acme.id
	status, _, top := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "12.5"}, "Idempotency-Key", "k")
	if status != http.StatusCreated || top["balance"].(map[string]any)["available"] != "12.5" {
		t.Fatalf("topup: %d %v", status, top)
	}
	noMoneyNumbers(t, top)
	_, _, view := a.do(t, "GET", path, acme.key, nil)
	want := map[string]any{"tenant_id": acme.id, "currency": "EUR", "amount": "12.5", "blocked": "0", "available": "12.5",
		"critical_level": "0", "suspend_level": "0", "suspended": false, "b2b": false}
	for k, v := range want {
		if view[k] != v {
			t.Errorf("%s = %#v, want %#v", k, view[k], v)
		}
	}
	if _, ok := view["expiry"]; ok || len(view) != len(want) {
		t.Errorf("view has other fields: %v", view)
	}
	settings := map[string]any{"critical_level": "5.25", "suspend_level": "1", "expiry": "2027-06-30T00:00:00Z", "b2b": true}
	status, _, view = a.do(t, "PUT", path+"/settings", testAdmin, settings)
	if status != http.StatusOK || view["critical_level"] != "5.25" || view["suspend_level"] != "1" ||
		view["expiry"] != "2027-06-30T00:00:00Z" || view["b2b"] != true || view["suspended"] != false || view["available"] != "12.5" {
		t.Fatalf("settings: %d %v", status, view)
	}
	noMoneyNumbers(t, view)
	if _, _, again := a.do(t, "GET", path, testAdmin, nil); again["critical_level"] != "5.25" || again["expiry"] != "2027-06-30T00:00:00Z" {
		t.Errorf("settings not kept: %v", again)
	}
	if n := len(a.emitter.emitted()); n != 0 {
		t.Errorf("levels below the balance emitted %d events", n)
	}

	b := newTestAPI(t, withoutBilling)
	globex := b.createTenant(t, "globex")
	if _, _, view := b.do(t, "GET", "/api/v2/balances/"+globex.id, globex.key, nil); view["critical_level"] != nil || view["suspended"] != nil {
		t.Errorf("the ledger view shows billing settings: %v", view)
	}
	if status, _, _ := b.do(t, "PUT", "/api/v2/balances/"+globex.id+"/settings", testAdmin, map[string]any{}); status != http.StatusServiceUnavailable {
		t.Errorf("settings without billing: %d, want 503", status)
	}
}

func TestBalanceSettingsRejectBadInput(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	path := "/api/v2/balances/" + acme.id + "/settings"
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"negative level", map[string]any{"critical_level": "-1"}, "critical_level"},
		{"level as a JSON number", map[string]any{"suspend_level": 1.5}, "suspend_level"},
		{"19 fractional digits", map[string]any{"critical_level": "0.0000000000000000001"}, "critical_level"},
		{"suspend above critical", map[string]any{"critical_level": "5", "suspend_level": "6"}, "suspend_level"},
		{"bad expiry", map[string]any{"expiry": "next year"}, "expiry"},
	} {
		if status, _, body := a.do(t, "PUT", path, testAdmin, tc.body); status != http.StatusUnprocessableEntity || !fieldsOf(body)[tc.field] {
			t.Errorf("%s: %d %v, want 422 on %s", tc.name, status, body, tc.field)
		}
	}
	if status, _, _ := a.do(t, "PUT", path, testAdmin, `{"suspend":"1"}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", status)
	}
	if status, _, _ := a.do(t, "PUT", "/api/v2/balances/nope/settings", testAdmin, map[string]any{}); status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d, want 404", status)
	}
	// A suspend level alone (no alert level) is allowed.
	if status, _, body := a.do(t, "PUT", path, testAdmin, map[string]any{"suspend_level": "1"}); status != http.StatusOK {
		t.Errorf("suspend level alone: %d %v", status, body)
	}
}

// A tenant suspended below its suspend level is reinstated by a top-up that lifts it
// above, and integrators hear of both.
func TestTopupReinstatesSuspendedTenant(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	path := "/api/v2/balances/" + acme.id
	if status, _, _ := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "5"}, "Idempotency-Key", "k1"); status != http.StatusCreated {
		t.Fatal("first topup failed")
	}
	status, _, view := a.do(t, "PUT", path+"/settings", testAdmin, map[string]any{"critical_level": "20", "suspend_level": "10"})
	if status != http.StatusOK || view["suspended"] != true {
		t.Fatalf("suspend level above the balance: %d %v, want suspended", status, view)
	}
	if _, err := a.engine.Thresholds(context.Background(), acme.id); err != nil {
		t.Fatal(err)
	}
	if _, _, view := a.do(t, "GET", path, acme.key, nil); view["suspended"] != true {
		t.Fatalf("balance view: %v, want suspended", view)
	}
	status, _, top := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "10"}, "Idempotency-Key", "k2")
	if status != http.StatusCreated || top["balance"].(map[string]any)["suspended"] != false || top["balance"].(map[string]any)["available"] != "15" {
		t.Fatalf("reinstating topup: %d %v", status, top)
	}
	if _, _, view := a.do(t, "GET", path, acme.key, nil); view["suspended"] != false {
		t.Errorf("balance view after the topup: %v, want not suspended", view)
	}
	if acct, err := a.engine.Account(context.Background(), acme.id); err != nil || acct.Suspended {
		t.Errorf("wallet account %+v, %v: still suspended", acct, err)
	}
	var types []string
	for _, e := range a.emitter.emitted() {
		if err := catalog.Validate(e); err != nil {
			t.Errorf("%s breaks the catalogue: %v", e.Type(), err)
		}
		if e.Extensions()[catalog.ExtTenantID] != acme.id || e.Extensions()[catalog.ExtPartitionKey] != acme.id {
			t.Errorf("%s extensions %v", e.Type(), e.Extensions())
		}
		types = append(types, e.Type())
	}
	want := []string{catalog.BalanceLowType, catalog.TenantSuspendedType, catalog.TenantReinstatedType}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("emitted %v, want %v", types, want)
	}
	// A replayed top-up credits nothing and alerts nothing.
	if status, _, _ := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "10"}, "Idempotency-Key", "k2"); status != http.StatusOK || len(a.emitter.emitted()) != 3 {
		t.Errorf("replay: %d, %d events", status, len(a.emitter.emitted()))
	}
}

// A top-up past the balance limit (20 integer digits) is refused before anything is
// written: the ledger keeps no trace of it, and the tenant goes on as before.
func TestTopupBeyondTheLimitLeavesNoTrace(t *testing.T) {
	forEachBalanceMode(t, func(t *testing.T, a *testAPI) {
		acme := a.createTenant(t, "acme")
		path := "/api/v2/balances/" + acme.id
		if status, _, body := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "10"}, "Idempotency-Key", "first"); status != http.StatusCreated {
			t.Fatalf("topup: %d %v", status, body)
		}
		status, _, body := a.do(t, "POST", path+"/topup", testAdmin, map[string]string{"amount": "99999999999999999999.999999999999999999"}, "Idempotency-Key", "huge")
		if status != http.StatusUnprocessableEntity || fmt.Sprint(body["fields"]) == "" || !strings.Contains(fmt.Sprint(body), "amount") {
			t.Fatalf("topup past the limit: %d %v, want 422 on amount", status, body)
		}
		b, err := a.db.Ledger().Balance(context.Background(), acme.id, "EUR")
		if err != nil || b.Amount.String() != "10" {
			t.Fatalf("ledger after the refused top-up: %+v %v, want 10", b, err)
		}
		if status, _, body := a.do(t, "GET", path, acme.key, nil); status != http.StatusOK || body["available"] != "10" {
			t.Fatalf("balance: %d %v", status, body)
		}
		if a.engine != nil {
			if rep, err := a.engine.Verify(context.Background()); err != nil || len(rep.Problems) > 0 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		}
	})
}
