package api

import (
	"net/http"
	"strings"
	"testing"
)

// A key given twice (or in another case) is refused at every nesting level of every
// body, with its path, before anything is stored: encoding/json kept the last value,
// so {"amount":"1","amount":"5000"} credited 5,000.
func TestDuplicateKeysAreRefused(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	card := `{"name":"standard","tenant_id":"` + acme.id + `","currency":"EUR","effective_from":"2027-01-01T00:00:00Z",
		"rates":{"sms":{"base_rate":"0.015","unit":"per-segment","base_rate":"9"}}}`
	tests := []struct {
		name, method, path, token, body, field string
	}{
		{"top-up amount", "POST", "/api/v2/balances/" + acme.id + "/topup", testAdmin, `{"amount":"1","amount":"5000"}`, "amount"},
		{"top-up amount in another case", "POST", "/api/v2/balances/" + acme.id + "/topup", testAdmin, `{"amount":"1","AMOUNT":"5000"}`, "AMOUNT"},
		{"top-up amount escaped", "POST", "/api/v2/balances/" + acme.id + "/topup", testAdmin, `{"amount":"1","\u0061mount":"5000"}`, "amount"},
		{"tenant name", "POST", "/api/v2/tenants", testAdmin, `{"name":"a","email":"a@example.com","currency":"EUR","name":"b"}`, "name"},
		{"nested in a rate card", "POST", "/api/v2/rate-cards", testAdmin, card, "rates.sms.base_rate"},
		{"sms send", "POST", "/api/v1/sms/send", acme.key, `{"to":"+4915112345678","message":"hi","to":"+4915199999999"}`, "to"},
		{"nested in a message", "POST", "/api/v1/messages", acme.key, `{"channel":"sms","to":"+4915112345678","content":{"type":"text","text":"a","text":"b"}}`, "content.text"},
		{"bulk item", "POST", "/api/v1/sms/bulk", acme.key, `{"messages":[{"to":"+4915112345678","message":"a","message":"b"}]}`, "messages[0].message"},
		{"balance settings", "PUT", "/api/v2/balances/" + acme.id + "/settings", testAdmin, `{"critical_level":"5","critical_level":"0"}`, "critical_level"},
	}
	for _, tt := range tests {
		status, _, body := a.do(t, tt.method, tt.path, tt.token, tt.body, "Idempotency-Key", "dup-"+tt.name)
		if status != http.StatusBadRequest || !fieldsOf(body)[tt.field] {
			t.Errorf("%s: %d %v, want 400 naming field %s", tt.name, status, body, tt.field)
		}
	}
	status, _, bal := a.do(t, "GET", "/api/v2/balances/"+acme.id, testAdmin, nil)
	if status != http.StatusOK || bal["amount"] != "0" {
		t.Errorf("balance after refused top-ups: %d %v, want 0", status, bal)
	}
	if n := len(a.emitter.emitted()); n != 0 {
		t.Errorf("%d events emitted for refused bodies", n)
	}
	// The same bodies without the repetition are accepted: the check is not a blanket refusal.
	status, _, body := a.do(t, "POST", "/api/v2/balances/"+acme.id+"/topup", testAdmin, `{"amount":"1"}`, "Idempotency-Key", "once")
	if status != http.StatusCreated || !strings.HasPrefix(body["amount"].(string), "1") {
		t.Errorf("a plain top-up: %d %v", status, body)
	}
}
