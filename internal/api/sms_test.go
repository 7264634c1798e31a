package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
)

func TestSendSMS(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	status, hdr, body := a.do(t, "POST", "/api/v1/sms/send", acme.key, map[string]any{"to": "+447911123456", "message": strings.Repeat("é", 161), "flash": true})
	if status != http.StatusAccepted || body["parts"] != 2.0 || body["encoding"] != "GSM-7" || body["status"] != "accepted" {
		t.Fatalf("send: %d %v", status, body)
	}
	id := body["message_id"].(string)
	if hdr.Get("Location") != "/api/v1/sms/"+id+"/status" {
		t.Errorf("Location %q", hdr.Get("Location"))
	}
	e := a.emitter.emitted()[0]
	if !strings.Contains(string(e.Data()), `"flash":true`) || e.Extensions()["channel"] != "sms" {
		t.Errorf("emitted %s", e.Data())
	}
	a.record(t)
	if status, _, m := a.do(t, "GET", "/api/v1/sms/"+id+"/status", acme.key, nil); status != http.StatusOK || m["status"] != "accepted" {
		t.Fatalf("status: %d %v", status, m)
	}
	if _, _, page := a.do(t, "GET", "/api/v1/sms/history", acme.key, nil); len(page["messages"].([]any)) != 1 {
		t.Fatalf("history %v", page)
	}
	for name, in := range map[string]map[string]any{
		"bad number":  {"to": "12", "message": "hi"},
		"empty text":  {"to": "+447911123456", "message": ""},
		"too long":    {"to": "+447911123456", "message": strings.Repeat("a", 2000)},
		"unknown key": {"to": "+447911123456", "message": "hi", "channel": "sms"},
	} {
		status, _, body := a.do(t, "POST", "/api/v1/sms/send", acme.key, in)
		if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	if fields := func() map[string]bool {
		_, _, b := a.do(t, "POST", "/api/v1/sms/send", acme.key, map[string]any{"to": "+447911123456", "message": ""})
		return fieldsOf(b)
	}(); !fields["message"] {
		t.Errorf("empty text reported at %v, want message", fields)
	}
	if n := len(a.emitter.emitted()); n != 1 {
		t.Fatalf("rejected SMS emitted events: %d", n)
	}
}

func TestSMSStatusIsTenantAndChannelScoped(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	_, _, sms := a.do(t, "POST", "/api/v1/sms/send", acme.key, map[string]any{"to": "+447911123456", "message": "hi"})
	_, _, wa := a.do(t, "POST", "/api/v1/messages", acme.key, map[string]any{"channel": "whatsapp", "to": "+447911123456", "content": map[string]string{"type": "text", "text": "hi"}})
	a.record(t)
	if status, _, _ := a.do(t, "GET", "/api/v1/sms/"+sms["message_id"].(string)+"/status", globex.key, nil); status != http.StatusNotFound {
		t.Errorf("globex reads acme's SMS: %d", status)
	}
	if status, _, _ := a.do(t, "GET", "/api/v1/sms/"+wa["message_id"].(string)+"/status", acme.key, nil); status != http.StatusNotFound {
		t.Errorf("a WhatsApp message read as an SMS: %d", status)
	}
	if _, _, page := a.do(t, "GET", "/api/v1/sms/history", acme.key, nil); len(page["messages"].([]any)) != 1 {
		t.Errorf("SMS history includes other channels: %v", page)
	}
}

func TestBulkSMS(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	status, _, body := a.do(t, "POST", "/api/v1/sms/bulk", acme.key, map[string]any{"to": []string{"+447911123456", "bad", "+14155550123"}, "message": "hello"})
	if status != http.StatusAccepted || body["accepted"] != 2.0 || body["rejected"] != 1.0 {
		t.Fatalf("bulk: %d %v", status, body)
	}
	results := body["results"].([]any)
	bad := results[1].(map[string]any)
	if bad["error"] == nil || bad["message_id"] != nil || !fieldsOf(map[string]any{"error": bad["error"]})["messages[1].to"] {
		t.Fatalf("the bad item: %v", bad)
	}
	if n := len(a.emitter.emitted()); n != 2 {
		t.Fatalf("emitted %d, want 2", n)
	}
	// The broker fails after the first item: the first is accepted and kept for the
	// key; a retry replays that answer instead of sending it twice.
	a.emitter.mu.Lock()
	a.emitter.failAfter(1, errors.New("kafka down"))
	a.emitter.mu.Unlock()
	in := map[string]any{"messages": []map[string]any{{"to": "+447911123456", "message": "one"}, {"to": "+447911123456", "message": "two"}}}
	status, _, body = a.do(t, "POST", "/api/v1/sms/bulk", acme.key, in, "Idempotency-Key", "b1")
	if status != http.StatusAccepted || body["accepted"] != 1.0 || body["rejected"] != 1.0 {
		t.Fatalf("bulk with the broker failing midway: %d %v", status, body)
	}
	status, hdr, _ := a.do(t, "POST", "/api/v1/sms/bulk", acme.key, in, "Idempotency-Key", "b1")
	if status != http.StatusAccepted || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d", status)
	}
	if n := len(a.emitter.emitted()); n != 3 {
		t.Fatalf("emitted %d, want 3 (2 + the first item once)", n)
	}
	if status, _, _ := a.do(t, "POST", "/api/v1/sms/bulk", acme.key, map[string]any{"to": []string{}, "message": "x"}); status != http.StatusUnprocessableEntity {
		t.Errorf("empty bulk: %d", status)
	}
}

func TestSendingIsRateLimitedPerTenantAndDestination(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	s := a.srv.Config.Handler.(*Server)
	s.opts.Limiter = ratelimit.NewMemory(func() time.Time { return *a.now })
	s.opts.Limits = Limits{
		Tenant:       ratelimit.Limit{Rate: 5, Period: time.Second, Burst: 5},
		Destination:  ratelimit.Limit{Rate: 2, Period: time.Second, Burst: 2},
		PrefixDigits: 2,
	}
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	send := func(key, to string) (int, http.Header) {
		status, hdr, _ := a.do(t, "POST", "/api/v1/sms/send", key, map[string]any{"to": to, "message": "hi"})
		return status, hdr
	}
	for range 2 {
		if status, _ := send(acme.key, "+447911123456"); status != http.StatusAccepted {
			t.Fatalf("within the limits: %d", status)
		}
	}
	status, hdr := send(acme.key, "+447911123457")
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" {
		t.Fatalf("third to +44: %d Retry-After %q, want 429 and 1", status, hdr.Get("Retry-After"))
	}
	for range 3 { // another prefix still goes, up to the tenant's 5
		if status, _ := send(acme.key, "+14155550123"); status == http.StatusTooManyRequests {
			break
		}
	}
	// The refused sends took nothing from the tenant's 5: one is left.
	if status, _ := send(acme.key, "+33612345678"); status != http.StatusAccepted {
		t.Fatalf("the tenant's fifth send: %d", status)
	}
	if status, _ := send(acme.key, "+4915112345678"); status != http.StatusTooManyRequests {
		t.Fatalf("tenant limit not applied: %d", status)
	}
	if status, _ := send(globex.key, "+447911123456"); status != http.StatusAccepted {
		t.Fatalf("another tenant is limited by acme's traffic: %d", status)
	}
	*a.now = a.now.Add(time.Second)
	if status, _ := send(acme.key, "+447911123456"); status != http.StatusAccepted {
		t.Fatalf("after the period: %d", status)
	}
	if n := len(a.emitter.emitted()); n != 7 {
		t.Fatalf("emitted %d; rate-limited requests must emit nothing", n)
	}
}

func TestSendBinarySMS(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	payload := base64.StdEncoding.EncodeToString(make([]byte, 200))
	status, _, body := a.do(t, "POST", "/api/v1/sms/send", acme.key, map[string]any{"to": "+447911123456", "binary": payload})
	if status != http.StatusAccepted || body["encoding"] != "binary" || body["parts"] != 2.0 {
		t.Fatalf("binary send: %d %v", status, body)
	}
	if e := a.emitter.emitted()[0]; !strings.Contains(string(e.Data()), `"type":"binary"`) || catalog.Validate(e) != nil {
		t.Fatalf("emitted %s", e.Data())
	}
	for name, in := range map[string]map[string]any{
		"not base64": {"to": "+447911123456", "binary": "!!"},
		"too large":  {"to": "+447911123456", "binary": base64.StdEncoding.EncodeToString(make([]byte, 2000))},
	} {
		status, _, body := a.do(t, "POST", "/api/v1/sms/send", acme.key, in)
		if status != http.StatusUnprocessableEntity || !fieldsOf(body)["binary"] {
			t.Errorf("%s: %d %v, want 422 on binary", name, status, body)
		}
	}
	if status, _, _ := a.do(t, "POST", "/api/v1/messages", acme.key, map[string]any{"channel": "whatsapp", "to": "+447911123456",
		"content": map[string]string{"type": "binary", "data": payload}}); status != http.StatusUnprocessableEntity {
		t.Errorf("binary on WhatsApp: %d, want 422", status)
	}
}
