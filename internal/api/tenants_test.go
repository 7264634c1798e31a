package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCreateTenant(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	good := map[string]string{"name": "Acme", "email": "ops@acme.example", "currency": "EUR"}
	tests := []struct {
		name       string
		token      string
		body       any
		want       int
		wantFields []string
	}{
		{"created", testAdmin, good, http.StatusCreated, nil},
		{"no token", "", good, http.StatusUnauthorized, nil},
		{"wrong admin token", "nope", good, http.StatusUnauthorized, nil},
		{"every field wrong", testAdmin, map[string]string{"name": " ", "email": "Bob <bob@x.example>", "currency": "eur"},
			http.StatusUnprocessableEntity, []string{"name", "email", "currency"}},
		{"unknown currency", testAdmin, map[string]string{"name": "A", "email": "a@b.example", "currency": "XYZ"}, http.StatusUnprocessableEntity, []string{"currency"}},
		{"status at creation", testAdmin, map[string]string{"name": "A", "email": "a@b.example", "currency": "USD", "status": "suspended"}, http.StatusUnprocessableEntity, []string{"status"}},
		{"unknown field", testAdmin, `{"name":"A","email":"a@b.example","currency":"USD","plan":"gold"}`, http.StatusBadRequest, nil},
		{"malformed", testAdmin, `{"name":`, http.StatusBadRequest, nil},
		{"too large", testAdmin, `{"name":"` + strings.Repeat("x", maxTenantBody) + `"}`, http.StatusRequestEntityTooLarge, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := a.do(t, "POST", "/api/v2/tenants", tc.token, tc.body)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %v", status, tc.want, body)
			}
			got := fieldsOf(body)
			for _, f := range tc.wantFields {
				if !got[f] {
					t.Errorf("error fields %v lack %s", got, f)
				}
			}
			if tc.want == http.StatusCreated {
				key, _ := body["api_key"].(string)
				if !strings.HasPrefix(key, KeyPrefix) || len(key) < 40 || body["status"] != "active" || hdr.Get("Location") != "/api/v2/tenants/"+body["tenant_id"].(string) {
					t.Fatalf("created tenant answer %v (Location %q)", body, hdr.Get("Location"))
				}
			}
		})
	}
}

// Every tenant endpoint: the admin may do everything; a tenant may read itself and
// rotate its own keys; another tenant's id answers 404 whatever the method.
func TestTenantEndpointsIsolateTenants(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	update := map[string]string{"name": "Acme Ltd", "email": "billing@acme.example", "currency": "GBP"}
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"admin reads", "GET", "/api/v2/tenants/" + acme.id, testAdmin, nil, http.StatusOK},
		{"tenant reads itself", "GET", "/api/v2/tenants/" + acme.id, acme.key, nil, http.StatusOK},
		{"tenant reads another", "GET", "/api/v2/tenants/" + acme.id, globex.key, nil, http.StatusNotFound},
		{"unknown id", "GET", "/api/v2/tenants/nope", testAdmin, nil, http.StatusNotFound},
		{"tenant updates itself", "PUT", "/api/v2/tenants/" + acme.id, acme.key, update, http.StatusUnauthorized},
		{"tenant updates another", "PUT", "/api/v2/tenants/" + acme.id, globex.key, update, http.StatusUnauthorized},
		{"tenant deletes another", "DELETE", "/api/v2/tenants/" + acme.id, globex.key, nil, http.StatusUnauthorized},
		{"tenant rotates another's keys", "POST", "/api/v2/tenants/" + acme.id + "/api-keys", globex.key, nil, http.StatusNotFound},
		{"admin updates", "PUT", "/api/v2/tenants/" + acme.id, testAdmin, update, http.StatusOK},
		{"admin update invalid status", "PUT", "/api/v2/tenants/" + acme.id, testAdmin,
			map[string]string{"name": "A", "email": "a@b.example", "currency": "GBP", "status": "gone"}, http.StatusUnprocessableEntity},
		{"admin updates unknown", "PUT", "/api/v2/tenants/nope", testAdmin, update, http.StatusNotFound},
		{"admin deletes unknown", "DELETE", "/api/v2/tenants/nope", testAdmin, nil, http.StatusNotFound},
	}
	for _, tc := range tests { // in order: the updates come after the reads
		status, _, body := a.do(t, tc.method, tc.path, tc.token, tc.body)
		if status != tc.want {
			t.Errorf("%s: %s %s → %d, want %d (%v)", tc.name, tc.method, tc.path, status, tc.want, body)
		}
	}
	if _, _, body := a.do(t, "GET", "/api/v2/tenants/"+acme.id, acme.key, nil); body["name"] != "Acme Ltd" || body["currency"] != "GBP" {
		t.Fatalf("update not stored: %v", body)
	}
	if _, _, body := a.do(t, "GET", "/api/v2/tenants/"+globex.id, globex.key, nil); body["name"] != "globex" {
		t.Fatalf("another tenant's update leaked into globex: %v", body)
	}
	if status, _, _ := a.do(t, "DELETE", "/api/v2/tenants/"+acme.id, testAdmin, nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _ := a.do(t, "GET", "/api/v1/messages", acme.key, nil); status != http.StatusUnauthorized {
		t.Fatalf("deleted tenant's key still works: %d", status)
	}
	if status, _, _ := a.do(t, "GET", "/api/v2/tenants/"+acme.id, testAdmin, nil); status != http.StatusNotFound {
		t.Fatalf("deleted tenant still readable: %d", status)
	}
}

func TestRotateKeyKeepsOldKeyForTheGracePeriod(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	status, _, body := a.do(t, "POST", "/api/v2/tenants/"+acme.id+"/api-keys", acme.key, nil)
	if status != http.StatusCreated {
		t.Fatalf("rotate: %d %v", status, body)
	}
	newKey := body["api_key"].(string)
	if newKey == acme.key || !strings.HasPrefix(newKey, KeyPrefix) {
		t.Fatalf("rotation returned %q", newKey)
	}
	for _, key := range []string{acme.key, newKey} {
		if status, _, _ := a.do(t, "GET", "/api/v1/messages", key, nil); status != http.StatusOK {
			t.Fatalf("key valid during grace answered %d", status)
		}
	}
	*a.now = a.now.Add(time.Hour + time.Second) // past KeyGrace
	if status, _, _ := a.do(t, "GET", "/api/v1/messages", acme.key, nil); status != http.StatusUnauthorized {
		t.Fatalf("old key after grace answered %d, want 401", status)
	}
	if status, _, _ := a.do(t, "GET", "/api/v1/messages", newKey, nil); status != http.StatusOK {
		t.Fatalf("new key after grace answered %d", status)
	}
}

func TestKeysAreNeverLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	a := newTestAPI(t)
	s := New(Options{Tenants: a.db.Tenants(), AdminToken: testAdmin, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	a.srv.Config.Handler = s
	acme := a.createTenant(t, "acme")
	_, _, body := a.do(t, "POST", "/api/v2/tenants/"+acme.id+"/api-keys", testAdmin, nil)
	if logs.Len() == 0 {
		t.Fatal("nothing logged: the test would prove nothing")
	}
	for _, secret := range []string{acme.key, body["api_key"].(string), testAdmin} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a secret appears in the logs:\n%s", logs.String())
		}
	}
}

// A key rotated away keeps sending and reading through its grace, but may not mint a
// key: the minted key would never expire while the owner's newer key got 24 h.
func TestRotatedAwayKeyCannotManageKeys(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	rotate := func(token string) (int, map[string]any) {
		status, _, body := a.do(t, "POST", "/api/v2/tenants/"+acme.id+"/api-keys", token, nil)
		return status, body
	}
	status, body := rotate(acme.key)
	if status != http.StatusCreated {
		t.Fatalf("rotate with the live key: %d %v", status, body)
	}
	newer := body["api_key"].(string)
	status, body = rotate(acme.key)
	if e, _ := body["error"].(map[string]any); status != http.StatusForbidden || !strings.Contains(e["message"].(string), "rotated away") {
		t.Fatalf("rotate with the key in its grace: %d %v, want 403 saying it was rotated away", status, body)
	}
	if status, _, _ := a.do(t, "GET", "/api/v1/messages", acme.key, nil); status != http.StatusOK {
		t.Errorf("the key in its grace can no longer read: %d", status)
	}
	// The refused rotation changed nothing: the newer key outlives the grace.
	*a.now = a.now.Add(time.Hour + time.Second)
	if status, _, _ := a.do(t, "GET", "/api/v1/messages", newer, nil); status != http.StatusOK {
		t.Errorf("the newer key after the grace: %d, want 200", status)
	}
	if status, body := rotate(newer); status != http.StatusCreated {
		t.Errorf("rotate with the newer key: %d %v", status, body)
	}
	// The admin rotates whatever the keys' state.
	if status, body := rotate(testAdmin); status != http.StatusCreated {
		t.Errorf("rotate as admin: %d %v", status, body)
	}
}
