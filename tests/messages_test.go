package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

const adminToken = "e2e-admin-token"

// call makes an API request with a bearer token and decodes a JSON answer into out
// (when non-nil); it returns the status and the raw body.
func call(t *testing.T, method, url, token string, body any, headers map[string]string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

type createdTenant struct {
	TenantID string `json:"tenant_id"`
	APIKey   string `json:"api_key"`
}

func createTenant(t *testing.T, api, name string) createdTenant {
	t.Helper()
	var c createdTenant
	status, body := call(t, "POST", api+"/api/v2/tenants", adminToken,
		map[string]string{"name": name, "email": name + "@example.com", "currency": "EUR"}, nil, &c)
	if status != http.StatusCreated || c.APIKey == "" {
		t.Fatalf("create tenant: %d %s", status, body)
	}
	return c
}

type messageView struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	History   []struct {
		EventID, Type, Status string
	} `json:"history"`
}

// The messages API end to end, through the real binary: a message posted with an
// Idempotency-Key appears with its full history as the pipeline's events arrive; the
// retried request yields the same message and emits nothing new; another tenant gets
// 404 for it, for the tenant record and for the balance.
func messageLifecycle(t *testing.T, env []string) {
	p := startDev(t, append(env, "CATALYST_ADMIN_TOKEN="+adminToken))
	acme, globex := createTenant(t, p.APIURL, "acme"), createTenant(t, p.APIURL, "globex")

	send := map[string]any{"channel": "sms", "to": "+447911123456", "content": map[string]string{"type": "text", "text": "hello"}}
	key := map[string]string{"Idempotency-Key": "order-42"}
	var first, again struct {
		MessageID string `json:"message_id"`
		Status    string `json:"status"`
	}
	if status, body := call(t, "POST", p.APIURL+"/api/v1/messages", acme.APIKey, send, key, &first); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	if status, body := call(t, "POST", p.APIURL+"/api/v1/messages", acme.APIKey, send, key, &again); status != http.StatusAccepted || again != first {
		t.Fatalf("retried send: %d %s, want the first answer %+v", status, body, first)
	}
	if status, _ := call(t, "POST", p.APIURL+"/api/v1/messages", acme.APIKey,
		map[string]any{"channel": "pigeon", "to": "x", "content": map[string]string{"type": "text", "text": "hi"}}, nil, nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown channel: %d, want 422", status)
	}

	// The pipeline's later events, as the channel connector would post them.
	for i, typ := range []string{"io.catalyst.message.delivered", "io.catalyst.message.sent"} { // out of order on purpose
		data := map[string]any{"message_id": first.MessageID, "tenant_id": acme.TenantID, "channel": "sms"}
		e, err := catalog.New(typ, "/e2e/sms", withRequired(t, typ, data), map[string]string{
			"tenantid": acme.TenantID, "channel": "sms", "messageid": first.MessageID, "partitionkey": first.MessageID,
		})
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got := testenv.Post(t, p.IngressURL+"/catalyst/default", e); got != http.StatusAccepted {
			t.Fatalf("post %s: %d", typ, got)
		}
	}
	var m messageView
	testenv.WaitFor(t, "the message's full history", func() bool {
		status, _ := call(t, "GET", p.APIURL+"/api/v1/messages/"+first.MessageID, acme.APIKey, nil, nil, &m)
		return status == http.StatusOK && len(m.History) == 3
	})
	if m.Status != "delivered" || m.Channel != "sms" || m.To != "+447911123456" {
		t.Fatalf("message %+v: want delivered (sent arrived late and must not move it back), sms, +447911123456", m)
	}
	var page struct{ Messages []messageView }
	if status, body := call(t, "GET", p.APIURL+"/api/v1/messages?channel=sms", acme.APIKey, nil, nil, &page); status != http.StatusOK || len(page.Messages) != 1 {
		t.Fatalf("list: %d %s, want exactly one message (the retry made none)", status, body)
	}
	if status, body := call(t, "POST", p.APIURL+"/api/v2/balances/"+acme.TenantID+"/topup", adminToken,
		map[string]string{"amount": "12.345"}, map[string]string{"Idempotency-Key": "inv-1"}, nil); status != http.StatusCreated {
		t.Fatalf("top-up: %d %s", status, body)
	}
	var balance struct{ Available string }
	if status, body := call(t, "GET", p.APIURL+"/api/v2/balances/"+acme.TenantID, acme.APIKey, nil, nil, &balance); status != http.StatusOK || balance.Available != "12.345" {
		t.Fatalf("acme's balance: %d %s", status, body)
	}
	for _, path := range []string{"/api/v1/messages/" + first.MessageID, "/api/v2/tenants/" + acme.TenantID, "/api/v2/balances/" + acme.TenantID} {
		if status, body := call(t, "GET", p.APIURL+path, globex.APIKey, nil, nil, nil); status != http.StatusNotFound {
			t.Errorf("globex GET %s: %d %s, want 404", path, status, body)
		}
	}
	if status, body := call(t, "GET", p.APIURL+"/api/v1/messages", globex.APIKey, nil, nil, &page); status != http.StatusOK || len(page.Messages) != 0 {
		t.Errorf("globex list: %d %s, want no messages", status, body)
	}
}

// withRequired adds the fields message.sent requires beyond the message reference
// (see docs/events.md).
func withRequired(t *testing.T, typ string, data map[string]any) map[string]any {
	t.Helper()
	if _, ok := catalog.Lookup(typ); !ok {
		t.Fatalf("type %s not catalogued", typ)
	}
	if typ == catalog.MessageSentType {
		data["provider"], data["provider_message_id"], data["parts"] = "sandbox", "smsc-1", 1
	}
	return data
}

func TestMessageLifecycleInMemory(t *testing.T) {
	t.Parallel()
	messageLifecycle(t, []string{"DATABASE_URL=", "REDIS_URL="})
}

func TestMessageLifecycleOnPostgres(t *testing.T) {
	t.Parallel()
	messageLifecycle(t, []string{"DATABASE_URL=" + testenv.Postgres(t), "REDIS_URL="})
}
