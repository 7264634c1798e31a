package api

import (
	"net/http"
	"testing"
)

func TestInboundNumbers(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	base := "/api/v2/tenants/" + acme.id + "/numbers"
	status, _, body := a.do(t, "POST", base, testAdmin, map[string]string{"channel": "sms", "number": "+44 7911 123456"})
	if status != http.StatusCreated || body["number"] != "+447911123456" || body["tenant_id"] != acme.id {
		t.Fatalf("assign: %d %v", status, body)
	}
	if status, _, _ := a.do(t, "POST", base, testAdmin, map[string]string{"channel": "sms", "number": "12345"}); status != http.StatusCreated {
		t.Fatalf("assign short code: %d", status)
	}
	if status, _, _ := a.do(t, "POST", base, testAdmin, map[string]string{"channel": "sms", "number": "+447911123456"}); status != http.StatusCreated {
		t.Fatalf("assigning again to the owner: %d, want it returned", status)
	}
	if status, _, _ := a.do(t, "POST", "/api/v2/tenants/"+globex.id+"/numbers", testAdmin, map[string]string{"channel": "sms", "number": "12345"}); status != http.StatusConflict {
		t.Fatalf("another tenant's number: %d, want 409", status)
	}
	for name, in := range map[string]map[string]string{
		"bad number":  {"channel": "sms", "number": "12"},
		"bad channel": {"channel": "pigeon", "number": "12345"},
		"not E.164":   {"channel": "sms", "number": "07911123456"},
	} {
		if status, _, body := a.do(t, "POST", base, testAdmin, in); status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %v, want 422", name, status, body)
		}
	}
	if status, _, _ := a.do(t, "POST", base, acme.key, map[string]string{"channel": "sms", "number": "54321"}); status != http.StatusUnauthorized {
		t.Errorf("a tenant assigning itself a number: %d, want 401 (admin only)", status)
	}
	_, _, list := a.do(t, "GET", base, acme.key, nil)
	if n := len(list["numbers"].([]any)); n != 2 {
		t.Fatalf("acme's numbers: %v", list)
	}
	if status, _, _ := a.do(t, "GET", base, globex.key, nil); status != http.StatusNotFound {
		t.Errorf("globex lists acme's numbers: %d, want 404", status)
	}
	if status, _, _ := a.do(t, "DELETE", base+"/sms/12345", testAdmin, nil); status != http.StatusNoContent {
		t.Fatalf("release: %d", status)
	}
	if status, _, _ := a.do(t, "DELETE", base+"/sms/12345", testAdmin, nil); status != http.StatusNotFound {
		t.Fatalf("release twice: %d, want 404", status)
	}
}
