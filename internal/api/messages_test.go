package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

func sms(text string) map[string]any {
	return map[string]any{"channel": "sms", "to": "+44 7911 123456", "content": map[string]string{"type": "text", "text": text}}
}

func TestSendMessageEmitsOneValidEvent(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	status, hdr, body := a.do(t, "POST", "/api/v1/messages", acme.key, sms("hello"))
	if status != http.StatusAccepted || body["status"] != "accepted" {
		t.Fatalf("send: %d %v", status, body)
	}
	id := body["message_id"].(string)
	if hdr.Get("Location") != "/api/v1/messages/"+id {
		t.Errorf("Location %q", hdr.Get("Location"))
	}
	events := a.emitter.emitted()
	if len(events) != 1 {
		t.Fatalf("emitted %d events, want 1", len(events))
	}
	e := events[0]
	if err := catalog.Validate(e); err != nil {
		t.Fatalf("emitted event breaks the catalogue: %v", err)
	}
	ext := e.Extensions()
	if e.Type() != catalog.MessageRequestedType || ext["tenantid"] != acme.id || ext["messageid"] != id || ext["partitionkey"] != id || ext["channel"] != "sms" {
		t.Fatalf("emitted %s", e)
	}
	if !strings.Contains(string(e.Data()), `"to":"+447911123456"`) {
		t.Errorf("the address is not normalised to E.164 in %s", e.Data())
	}
	if !e.Time().Equal(*a.now) { // the firewall screens it, and the record files it, at this time
		t.Errorf("event time %s, want the API's clock %s", e.Time(), *a.now)
	}
	a.record(t)
	status, _, m := a.do(t, "GET", "/api/v1/messages/"+id, acme.key, nil)
	if status != http.StatusOK || m["status"] != "accepted" || len(m["history"].([]any)) != 1 {
		t.Fatalf("message record: %d %v", status, m)
	}
}

func TestSendMessageRejectsBadInputAndEmitsNothing(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	tests := []struct {
		name       string
		token      string
		body       any
		want       int
		wantFields []string
	}{
		{"no key", "", sms("hi"), http.StatusUnauthorized, nil},
		{"bad key", "ck_nope", sms("hi"), http.StatusUnauthorized, nil},
		{"unknown channel", acme.key, map[string]any{"channel": "pigeon", "to": "x", "content": map[string]string{"type": "text", "text": "hi"}}, http.StatusUnprocessableEntity, []string{"channel"}},
		{"bad address", acme.key, map[string]any{"channel": "sms", "to": "12", "content": map[string]string{"type": "text", "text": "hi"}}, http.StatusUnprocessableEntity, []string{"to"}},
		{"empty content", acme.key, map[string]any{"channel": "sms", "to": "+447911123456", "content": map[string]string{"type": "text", "text": ""}}, http.StatusUnprocessableEntity, []string{"content.text"}},
		{"oversized text", acme.key, sms(strings.Repeat("a", 5000)), http.StatusUnprocessableEntity, []string{"content.text"}},
		{"malformed", acme.key, `{"channel":`, http.StatusBadRequest, nil},
		{"body too large", acme.key, `{"channel":"sms","to":"+447911123456","content":{"type":"text","text":"` + strings.Repeat("a", 300<<10) + `"}}`, http.StatusRequestEntityTooLarge, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := a.do(t, "POST", "/api/v1/messages", tc.token, tc.body)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %v", status, tc.want, body)
			}
			got := fieldsOf(body)
			for _, f := range tc.wantFields {
				if !got[f] {
					t.Errorf("fields %v lack %s", got, f)
				}
			}
			if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("no error message in %v", body)
			}
		})
	}
	if n := len(a.emitter.emitted()); n != 0 {
		t.Fatalf("rejected requests emitted %d events", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	_, _, first := a.do(t, "POST", "/api/v1/messages", acme.key, sms("once"), "Idempotency-Key", "k1")
	status, hdr, again := a.do(t, "POST", "/api/v1/messages", acme.key, sms("once"), "Idempotency-Key", "k1")
	if status != http.StatusAccepted || again["message_id"] != first["message_id"] || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v (first %v)", status, again, first)
	}
	if status, _, body := a.do(t, "POST", "/api/v1/messages", acme.key, sms("different"), "Idempotency-Key", "k1"); status != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %d %v, want 422", status, body)
	}
	// Keys are per tenant: globex's k1 is its own.
	if _, _, other := a.do(t, "POST", "/api/v1/messages", globex.key, sms("once"), "Idempotency-Key", "k1"); other["message_id"] == first["message_id"] {
		t.Fatal("another tenant's request replayed acme's answer")
	}
	if n := len(a.emitter.emitted()); n != 2 {
		t.Fatalf("emitted %d events, want 2 (acme once, globex once)", n)
	}
	// A failed emit releases the key: the retry does the work, once.
	a.emitter.mu.Lock()
	a.emitter.fail = errors.New("kafka down")
	a.emitter.mu.Unlock()
	if status, _, _ := a.do(t, "POST", "/api/v1/messages", acme.key, sms("retry me"), "Idempotency-Key", "k2"); status != http.StatusServiceUnavailable {
		t.Fatalf("emit failure: %d, want 503", status)
	}
	if status, _, _ := a.do(t, "POST", "/api/v1/messages", acme.key, sms("retry me"), "Idempotency-Key", "k2"); status != http.StatusAccepted {
		t.Fatalf("retry after failure: %d", status)
	}
	if n := len(a.emitter.emitted()); n != 3 {
		t.Fatalf("emitted %d events, want 3", n)
	}
	if status, _, _ := a.do(t, "POST", "/api/v1/messages", acme.key, sms("x"), "Idempotency-Key", strings.Repeat("k", 256)); status != http.StatusBadRequest {
		t.Fatalf("overlong key: %d, want 400", status)
	}
}

func TestMessagesAreTenantScoped(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	status, _, sent := a.do(t, "POST", "/api/v1/messages", acme.key, sms("secret"))
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, sent)
	}
	a.record(t)
	id := sent["message_id"].(string)
	if status, _, _ := a.do(t, "GET", "/api/v1/messages/"+id, globex.key, nil); status != http.StatusNotFound {
		t.Fatalf("globex reads acme's message: %d, want 404", status)
	}
	if _, _, page := a.do(t, "GET", "/api/v1/messages", globex.key, nil); len(page["messages"].([]any)) != 0 {
		t.Fatalf("globex lists acme's messages: %v", page)
	}
	if _, _, page := a.do(t, "GET", "/api/v1/messages?status=accepted&channel=sms", acme.key, nil); len(page["messages"].([]any)) != 1 {
		t.Fatalf("acme's filtered list: %v", page)
	}
}

func TestListMessagesRejectsBadParameters(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	status, _, body := a.do(t, "GET", "/api/v1/messages?status=lost&channel=pigeon&since=yesterday&until=2026&limit=0", acme.key, nil)
	if status != http.StatusBadRequest {
		t.Fatalf("status %d", status)
	}
	got := fieldsOf(body)
	for _, f := range []string{"status", "channel", "since", "until", "limit"} {
		if !got[f] {
			t.Errorf("fields %v lack %s", got, f)
		}
	}
	if status, _, _ := a.do(t, "GET", "/api/v1/messages?cursor=garbage", acme.key, nil); status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d, want 400", status)
	}
}
