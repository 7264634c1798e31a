package api

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// rateCard is a valid card body for tenantID, in force from effective.
func rateCard(tenantID, effective string) map[string]any {
	return map[string]any{
		"name": "standard", "tenant_id": tenantID, "currency": "EUR", "effective_from": effective,
		"rates": map[string]any{"sms": map[string]any{"base_rate": "0.015", "unit": "per-segment", "min_charge": "0", "max_charge": "0"}},
		"fees":  map[string]any{"api_overhead": "0.001"},
		"tax":   map[string]any{"rate_percent": "8", "exempt_b2b": true},
	}
}

// counts are the JSON fields that may be numbers: counts and versions, never money.
var counts = map[string]bool{"version": true, "versions": true, "rate_card_version": true, "free_count": true,
	"max_uses": true, "uses": true, "min_volume": true, "max_volume": true, "included_volume": true}

// noMoneyNumbers fails when an answer carries a JSON number anywhere but a count.
func noMoneyNumbers(t *testing.T, v any) {
	t.Helper()
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(k, x)
			}
		case []any:
			for _, x := range v {
				walk(key, x)
			}
		case float64:
			if !counts[key] {
				t.Errorf("%s is the JSON number %v: money must be a decimal string", key, v)
			}
		}
	}
	walk("", v)
}

func TestRateCardsCreateGetListAndVersions(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	status, hdr, card := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, "2026-11-26T12:00:00Z"))
	if status != http.StatusCreated || card["version"] != 1.0 || card["versions"] != 1.0 || card["tenant_id"] != acme.id {
		t.Fatalf("create: %d %v", status, card)
	}
	noMoneyNumbers(t, card)
	id := card["rate_card_id"].(string)
	if hdr.Get("Location") != "/api/v2/rate-cards/"+id {
		t.Errorf("Location %q", hdr.Get("Location"))
	}
	if sms := card["rates"].(map[string]any)["sms"].(map[string]any); sms["base_rate"] != "0.015" {
		t.Errorf("base_rate %v, want the string 0.015", sms["base_rate"])
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(globex.id, "2026-11-26T12:00:00Z")); status != http.StatusCreated {
		t.Fatalf("globex's card: %d", status)
	}

	next := rateCard(acme.id, "2026-12-01T00:00:00Z")
	next["rates"].(map[string]any)["sms"].(map[string]any)["base_rate"] = "0.02"
	status, _, v2 := a.do(t, "PUT", "/api/v2/rate-cards/"+id, testAdmin, next)
	if status != http.StatusOK || v2["version"] != 2.0 || v2["versions"] != 2.0 || v2["rate_card_id"] != id {
		t.Fatalf("update: %d %v", status, v2)
	}

	_, _, latest := a.do(t, "GET", "/api/v2/rate-cards/"+id, testAdmin, nil)
	if latest["version"] != 2.0 || latest["versions"] != 2.0 {
		t.Errorf("latest: %v", latest)
	}
	status, _, v1 := a.do(t, "GET", "/api/v2/rate-cards/"+id+"?version=1", testAdmin, nil)
	if status != http.StatusOK || v1["version"] != 1.0 || v1["versions"] != 2.0 ||
		v1["rates"].(map[string]any)["sms"].(map[string]any)["base_rate"] != "0.015" {
		t.Errorf("version 1: %d %v", status, v1)
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/rate-cards/"+id+"?version=3", testAdmin, nil); status != http.StatusNotFound {
		t.Errorf("version 3: %d, want 404", status)
	}
	if status, _, body := a.do(t, "GET", "/api/v2/rate-cards/"+id+"?version=x", testAdmin, nil); status != http.StatusUnprocessableEntity || !fieldsOf(body)["version"] {
		t.Errorf("version x: %d %v, want 422 on version", status, body)
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/rate-cards/nope", testAdmin, nil); status != http.StatusNotFound {
		t.Errorf("unknown card: %d, want 404", status)
	}

	_, _, all := a.do(t, "GET", "/api/v2/rate-cards", testAdmin, nil)
	if n := len(all["rate_cards"].([]any)); n != 2 {
		t.Errorf("list: %d cards, want 2", n)
	}
	_, _, mine := a.do(t, "GET", "/api/v2/rate-cards?tenant_id="+acme.id, testAdmin, nil)
	list := mine["rate_cards"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["version"] != 2.0 {
		t.Errorf("acme's cards: %v", list)
	}
	noMoneyNumbers(t, all)
}

// A version already in force cannot be replaced: the new one may not start before now.
func TestRateCardUpdateCannotRewriteVersionsInForce(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	_, _, card := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, "2026-11-26T12:00:00Z"))
	id := card["rate_card_id"].(string)
	status, _, body := a.do(t, "PUT", "/api/v2/rate-cards/"+id, testAdmin, rateCard(acme.id, "2026-11-26T11:59:59Z"))
	if status != http.StatusUnprocessableEntity || !fieldsOf(body)["effective_from"] ||
		!strings.Contains(body["error"].(map[string]any)["fields"].([]any)[0].(map[string]any)["reason"].(string), "versions already in force are immutable") {
		t.Fatalf("update in the past: %d %v, want 422 on effective_from", status, body)
	}
	other := a.createTenant(t, "globex")
	if status, _, body := a.do(t, "PUT", "/api/v2/rate-cards/"+id, testAdmin, rateCard(other.id, "2027-01-01T00:00:00Z")); status != http.StatusUnprocessableEntity || !fieldsOf(body)["tenant_id"] {
		t.Errorf("moving the card to another tenant: %d %v, want 422 on tenant_id", status, body)
	}
	withID := rateCard(acme.id, "2027-01-01T00:00:00Z")
	withID["rate_card_id"] = "another"
	if status, _, body := a.do(t, "PUT", "/api/v2/rate-cards/"+id, testAdmin, withID); status != http.StatusUnprocessableEntity || !fieldsOf(body)["rate_card_id"] {
		t.Errorf("id differing from the URL: %d %v, want 422 on rate_card_id", status, body)
	}
	if status, _, _ := a.do(t, "PUT", "/api/v2/rate-cards/nope", testAdmin, rateCard(acme.id, "2027-01-01T00:00:00Z")); status != http.StatusNotFound {
		t.Errorf("unknown card: %d, want 404", status)
	}
	if _, _, got := a.do(t, "GET", "/api/v2/rate-cards/"+id, testAdmin, nil); got["versions"] != 1.0 {
		t.Errorf("rejected updates stored a version: %v", got)
	}
}

func TestRateCardValidationNamesFields(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	with := func(edit func(c map[string]any)) map[string]any {
		c := rateCard(acme.id, "2027-01-01T00:00:00Z")
		edit(c)
		return c
	}
	sms := func(c map[string]any) map[string]any { return c["rates"].(map[string]any)["sms"].(map[string]any) }
	tests := []struct {
		name  string
		body  any
		want  int
		field string
	}{
		{"unknown nested field", with(func(c map[string]any) { sms(c)["colour"] = "red" }), 422, "rates.sms.colour"},
		{"amount as a JSON number", with(func(c map[string]any) { sms(c)["base_rate"] = 0.015 }), 422, "rates.sms.base_rate"},
		{"negative fee", with(func(c map[string]any) { c["fees"] = map[string]any{"api_overhead": "-1"} }), 422, "fees.api_overhead"},
		{"lower-case currency", with(func(c map[string]any) { c["currency"] = "eur" }), 422, "currency"},
		{"no name", with(func(c map[string]any) { delete(c, "name") }), 422, "name"},
		{"unknown tenant", with(func(c map[string]any) { c["tenant_id"] = "nope" }), 422, "tenant_id"},
		{"effective before now", with(func(c map[string]any) { c["effective_from"] = "2026-11-26T11:59:59Z" }), 422, "effective_from"},
		{"not JSON", `{"name":`, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, tc.body)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %v", status, tc.want, body)
			}
			if tc.field != "" && !fieldsOf(body)[tc.field] {
				t.Errorf("fields %v lack %s", fieldsOf(body), tc.field)
			}
		})
	}
	if _, _, all := a.do(t, "GET", "/api/v2/rate-cards", testAdmin, nil); len(all["rate_cards"].([]any)) != 0 {
		t.Errorf("rejected cards were stored: %v", all)
	}
}

// Every ISO 4217 code converts, including zero- and three-decimal currencies and gold.
func TestFXRatesAnyISOCode(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	for _, r := range []map[string]any{
		{"from": "EUR", "to": "JPY", "rate": "161.5", "valid_from": "2026-01-01T00:00:00Z"},
		{"from": "EUR", "to": "JPY", "rate": "163.25", "valid_from": "2026-06-01T00:00:00Z"},
		{"from": "KWD", "to": "USD", "rate": "3.254"},
		{"from": "XAU", "to": "EUR", "rate": "2400.000000000000000001"},
	} {
		status, _, body := a.do(t, "POST", "/api/v2/fx-rates", testAdmin, r)
		if status != http.StatusCreated || body["rate"] != r["rate"] || body["from"] != r["from"] {
			t.Fatalf("post %v: %d %v", r, status, body)
		}
		noMoneyNumbers(t, body)
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/v2/fx-rates/EUR/JPY", "163.25"},
		{"/api/v2/fx-rates/EUR/JPY?at=2026-03-01T00:00:00Z", "161.5"},
		{"/api/v2/fx-rates/KWD/USD", "3.254"},
		{"/api/v2/fx-rates/XAU/EUR", "2400.000000000000000001"},
		{"/api/v2/fx-rates/JPY/JPY", "1"},
	} {
		if status, _, body := a.do(t, "GET", tc.path, testAdmin, nil); status != http.StatusOK || body["rate"] != tc.want {
			t.Errorf("GET %s: %d %v, want rate %s", tc.path, status, body, tc.want)
		}
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/fx-rates/EUR/JPY?at=2025-01-01T00:00:00Z", testAdmin, nil); status != http.StatusNotFound {
		t.Errorf("before the first rate: %d, want 404", status)
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/fx-rates/JPY/EUR", testAdmin, nil); status != http.StatusNotFound {
		t.Errorf("an inverse was guessed: %d, want 404", status)
	}
	if status, _, body := a.do(t, "GET", "/api/v2/fx-rates/eur/JPY?at=yesterday", testAdmin, nil); status != http.StatusUnprocessableEntity || !fieldsOf(body)["from"] || !fieldsOf(body)["at"] {
		t.Errorf("bad query: %d %v, want 422 on from and at", status, body)
	}
	valid := map[string]any{"from": "EUR", "to": "USD", "rate": "1.1"}
	tests := []struct {
		name  string
		edit  map[string]any
		field string
	}{
		{"rate as a JSON number", map[string]any{"rate": 1.1}, "rate"},
		{"zero rate", map[string]any{"rate": "0"}, "rate"},
		{"negative rate", map[string]any{"rate": "-1.1"}, "rate"},
		{"19 fractional digits", map[string]any{"rate": "1.0000000000000000001"}, "rate"},
		{"exponent", map[string]any{"rate": "1e3"}, "rate"},
		{"no rate", map[string]any{"rate": nil}, "rate"},
		{"lower-case code", map[string]any{"from": "eur"}, "from"},
		{"not ISO 4217", map[string]any{"to": "EURO"}, "to"},
		{"same currency", map[string]any{"to": "EUR"}, "to"},
		{"bad valid_from", map[string]any{"valid_from": "2026-01-01"}, "valid_from"},
	}
	for _, tc := range tests {
		body := maps.Clone(valid)
		maps.Copy(body, tc.edit)
		if status, _, got := a.do(t, "POST", "/api/v2/fx-rates", testAdmin, body); status != http.StatusUnprocessableEntity || !fieldsOf(got)[tc.field] {
			t.Errorf("%s: %d %v, want 422 on %s", tc.name, status, got, tc.field)
		}
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/fx-rates", testAdmin, `{"from":"EUR","to":"USD","rate":"1.1","spread":"0"}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", status)
	}
}

func TestPromoCodes(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	for _, p := range []map[string]any{
		{"code": "WELCOME5", "tenant_id": acme.id, "kind": "fixed", "value": "0.005", "max_uses": 100, "expires_at": "2027-01-01T00:00:00Z"},
		{"code": "HALF", "tenant_id": acme.id, "kind": "percent", "value": "50"},
		{"code": "FIRST10", "tenant_id": acme.id, "kind": "first_n_free", "free_count": 10},
	} {
		status, hdr, body := a.do(t, "POST", "/api/v2/promo-codes", testAdmin, p)
		if status != http.StatusCreated || body["code"] != p["code"] || body["uses"] != 0.0 || hdr.Get("Location") != "/api/v2/promo-codes/"+p["code"].(string) {
			t.Fatalf("create %v: %d %v", p["code"], status, body)
		}
		noMoneyNumbers(t, body)
	}
	status, _, got := a.do(t, "GET", "/api/v2/promo-codes/WELCOME5", testAdmin, nil)
	if status != http.StatusOK || got["value"] != "0.005" || got["kind"] != "fixed" || got["max_uses"] != 100.0 || got["tenant_id"] != acme.id {
		t.Errorf("get: %d %v", status, got)
	}
	if _, _, got := a.do(t, "GET", "/api/v2/promo-codes/FIRST10", testAdmin, nil); got["value"] != "0" || got["free_count"] != 10.0 {
		t.Errorf("first_n_free: %v", got)
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/promo-codes/NOPE", testAdmin, nil); status != http.StatusNotFound {
		t.Errorf("unknown code: %d, want 404", status)
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/promo-codes", testAdmin, map[string]any{"code": "HALF", "tenant_id": acme.id, "kind": "percent", "value": "10"}); status != http.StatusConflict {
		t.Errorf("duplicate code: %d, want 409", status)
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown kind", map[string]any{"kind": "bogo", "value": "1"}, "kind"},
		{"fixed without value", map[string]any{"kind": "fixed"}, "value"},
		{"value as a JSON number", map[string]any{"kind": "fixed", "value": 0.5}, "value"},
		{"percent over 100", map[string]any{"kind": "percent", "value": "101"}, "value"},
		{"first_n_free without count", map[string]any{"kind": "first_n_free"}, "free_count"},
		{"first_n_free with a value", map[string]any{"kind": "first_n_free", "free_count": 1, "value": "1"}, "value"},
		{"free_count on fixed", map[string]any{"kind": "fixed", "value": "1", "free_count": 3}, "free_count"},
		{"negative max_uses", map[string]any{"kind": "fixed", "value": "1", "max_uses": -1}, "max_uses"},
		{"expired", map[string]any{"kind": "fixed", "value": "1", "expires_at": "2026-01-01T00:00:00Z"}, "expires_at"},
		{"bad code", map[string]any{"code": "has space", "kind": "fixed", "value": "1"}, "code"},
		{"unknown tenant", map[string]any{"tenant_id": "nope", "kind": "fixed", "value": "1"}, "tenant_id"},
	}
	for _, tc := range tests {
		body := map[string]any{"code": "NEW", "tenant_id": acme.id}
		maps.Copy(body, tc.body)
		if status, _, got := a.do(t, "POST", "/api/v2/promo-codes", testAdmin, body); status != http.StatusUnprocessableEntity || !fieldsOf(got)[tc.field] {
			t.Errorf("%s: %d %v, want 422 on %s", tc.name, status, got, tc.field)
		}
	}
}

// Prices are the admin's: a tenant's key is not the admin token (401, as for
// creating tenants), and no token at all is 401 too.
func TestBillingAdminEndpointsRefuseTenantKeys(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v2/rate-cards", rateCard(acme.id, "2027-01-01T00:00:00Z")},
		{"GET", "/api/v2/rate-cards", nil},
		{"GET", "/api/v2/rate-cards/x", nil},
		{"PUT", "/api/v2/rate-cards/x", rateCard(acme.id, "2027-01-01T00:00:00Z")},
		{"POST", "/api/v2/fx-rates", map[string]any{"from": "EUR", "to": "USD", "rate": "1.1"}},
		{"GET", "/api/v2/fx-rates/EUR/USD", nil},
		{"POST", "/api/v2/promo-codes", map[string]any{"code": "X", "tenant_id": acme.id, "kind": "percent", "value": "100"}},
		{"GET", "/api/v2/promo-codes/X", nil},
		{"PUT", "/api/v2/balances/" + acme.id + "/settings", map[string]any{"suspend_level": "0"}},
	} {
		for _, token := range []string{acme.key, ""} {
			if status, _, body := a.do(t, tc.method, tc.path, token, tc.body); status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d %v, want 401", tc.method, tc.path, token, status, body)
			}
		}
	}
	if _, _, all := a.do(t, "GET", "/api/v2/rate-cards", testAdmin, nil); len(all["rate_cards"].([]any)) != 0 {
		t.Errorf("a tenant created a rate card: %v", all)
	}
}

// Without its store an endpoint answers 503, as balances do without the ledger.
func TestBillingEndpointsWithoutStores(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, func(o *Options) {
		o.RateCards, o.FXRates, o.Promos, o.Charges, o.Billing = nil, nil, nil, nil, nil
	})
	acme := a.createTenant(t, "acme")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v2/rate-cards", rateCard(acme.id, "2027-01-01T00:00:00Z")},
		{"GET", "/api/v2/rate-cards/x", nil},
		{"POST", "/api/v2/fx-rates", map[string]any{"from": "EUR", "to": "USD", "rate": "1.1"}},
		{"GET", "/api/v2/promo-codes/X", nil},
		{"POST", "/api/v2/transactions/list", map[string]any{}},
		{"GET", "/api/v2/transactions/x", nil},
		{"PUT", "/api/v2/balances/" + acme.id + "/settings", map[string]any{}},
	} {
		status, _, body := a.do(t, tc.method, tc.path, testAdmin, tc.body)
		if raw, _ := json.Marshal(body); status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: %d %s, want 503", tc.method, tc.path, status, raw)
		}
	}
}

// A card may not rewrite history: POST refuses an effective_from before now (by the
// API's clock) as PUT does, and two cards of a tenant may not take effect at the same
// instant (InForce would choose between them by card id).
func TestRateCardsCannotRewriteHistoryOrTie(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	reason := func(body map[string]any) string {
		e, _ := body["error"].(map[string]any)
		fs, _ := e["fields"].([]any)
		if len(fs) == 0 {
			return ""
		}
		return fs[0].(map[string]any)["reason"].(string)
	}
	status, _, body := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, "2026-01-01T00:00:00Z"))
	if status != http.StatusUnprocessableEntity || !fieldsOf(body)["effective_from"] || !strings.Contains(reason(body), "before now") {
		t.Fatalf("a card effective in the past: %d %v, want 422 on effective_from", status, body)
	}
	const at = "2026-12-01T00:00:00Z"
	if status, _, body := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, at)); status != http.StatusCreated {
		t.Fatalf("first card: %d %v", status, body)
	}
	status, _, body = a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, "2026-12-01T01:00:00+01:00")) // the same instant
	if status != http.StatusUnprocessableEntity || !fieldsOf(body)["effective_from"] || !strings.Contains(reason(body), "another rate card") {
		t.Fatalf("a second card at the same instant: %d %v, want 422 on effective_from", status, body)
	}
	if status, _, body := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(globex.id, at)); status != http.StatusCreated {
		t.Errorf("another tenant's card at the same instant: %d %v", status, body)
	}
	_, _, second := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, rateCard(acme.id, "2026-12-02T00:00:00Z"))
	status, _, body = a.do(t, "PUT", "/api/v2/rate-cards/"+second["rate_card_id"].(string), testAdmin, rateCard(acme.id, at))
	if status != http.StatusUnprocessableEntity || !fieldsOf(body)["effective_from"] {
		t.Errorf("a version of another card at the same instant: %d %v, want 422 on effective_from", status, body)
	}
	// Nothing refused was stored; no card at all was in force before now.
	if _, _, mine := a.do(t, "GET", "/api/v2/rate-cards?tenant_id="+acme.id, testAdmin, nil); len(mine["rate_cards"].([]any)) != 2 {
		t.Errorf("acme's cards: %v, want the two accepted", mine)
	}
	if _, err := a.db.RateCards().InForce(context.Background(), acme.id, *a.now); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("a card is in force now (%v): history was rewritten", err)
	}
}
