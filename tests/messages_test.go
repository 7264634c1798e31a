package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
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

// topUp credits a tenant's prepaid balance (billing declines messages it cannot cover).
func topUp(t *testing.T, api, tenantID, amount, key string) {
	t.Helper()
	if status, body := call(t, "POST", api+"/api/v2/balances/"+tenantID+"/topup", adminToken,
		map[string]string{"amount": amount}, map[string]string{"Idempotency-Key": key}, nil); status != http.StatusCreated {
		t.Fatalf("top-up: %d %s", status, body)
	}
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
// Idempotency-Key goes out over SMPP to the sandbox SMSC and appears delivered with its
// full history; the retried request yields the same message and sends nothing new;
// another tenant gets 404 for it, for the tenant record and for the balance.
func messageLifecycle(t *testing.T, env []string) {
	p := startDev(t, append(env, "CATALYST_ADMIN_TOKEN="+adminToken))
	acme, globex := createTenant(t, p.APIURL, "acme"), createTenant(t, p.APIURL, "globex")
	topUp(t, p.APIURL, acme.TenantID, "12.345", "inv-1")

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

	// The real pipeline: the sms-send connector submits to catalyst dev's sandbox SMSC,
	// which answers with a delivery receipt after a second.
	var m messageView
	testenv.WaitFor(t, "the message delivered through the sandbox SMSC", func() bool {
		status, _ := call(t, "GET", p.APIURL+"/api/v1/messages/"+first.MessageID, acme.APIKey, nil, nil, &m)
		return status == http.StatusOK && m.Status == "delivered"
	})
	var types []string
	for _, h := range m.History {
		types = append(types, h.Type)
	}
	// History is in recorded order; requested and sent race (two triggers see the
	// request at once), so compare as a set.
	sort.Strings(types)
	if strings.Join(types, ",") != "io.catalyst.message.delivered,io.catalyst.message.requested,io.catalyst.message.screened,io.catalyst.message.sent" ||
		m.Channel != "sms" || m.To != "+447911123456" {
		t.Fatalf("message %+v: want requested, screened, sent, delivered for sms to +447911123456", m)
	}
	// A late duplicate of sent (as a redelivery would bring) moves nothing back.
	sent := catalog.MessageSent{MessageRef: catalog.MessageRef{MessageID: first.MessageID, TenantID: acme.TenantID, Channel: "sms"},
		Provider: "sandbox", ProviderMessageID: "x", Parts: 1}
	late, err := catalog.New(catalog.MessageSentType, "/e2e", sent, map[string]string{
		"tenantid": acme.TenantID, "channel": "sms", "messageid": first.MessageID, "partitionkey": first.MessageID})
	if err != nil {
		t.Fatal(err)
	}
	if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", testenv.PlatformToken, late); got != http.StatusAccepted {
		t.Fatalf("post late sent: %d", got)
	}
	testenv.WaitFor(t, "the late event in the history", func() bool {
		status, _ := call(t, "GET", p.APIURL+"/api/v1/messages/"+first.MessageID, acme.APIKey, nil, nil, &m)
		return status == http.StatusOK && len(m.History) == 5
	})
	if m.Status != "delivered" {
		t.Fatalf("a late sent moved a delivered message back to %s", m.Status)
	}
	var page struct{ Messages []messageView }
	if status, body := call(t, "GET", p.APIURL+"/api/v1/messages?channel=sms", acme.APIKey, nil, nil, &page); status != http.StatusOK || len(page.Messages) != 1 {
		t.Fatalf("list: %d %s, want exactly one message (the retry made none)", status, body)
	}
	// The one SMS part was charged at the platform's default price list
	// (config/rate-card.json: EUR 0.015 per part) when its delivery settled.
	var balance struct{ Available, Blocked string }
	testenv.WaitFor(t, "the delivered SMS charged", func() bool {
		status, _ := call(t, "GET", p.APIURL+"/api/v2/balances/"+acme.TenantID, acme.APIKey, nil, nil, &balance)
		return status == http.StatusOK && balance.Available == "12.33" && balance.Blocked == "0"
	})
	for _, path := range []string{"/api/v1/messages/" + first.MessageID, "/api/v2/tenants/" + acme.TenantID, "/api/v2/balances/" + acme.TenantID} {
		if status, body := call(t, "GET", p.APIURL+path, globex.APIKey, nil, nil, nil); status != http.StatusNotFound {
			t.Errorf("globex GET %s: %d %s, want 404", path, status, body)
		}
	}
	if status, body := call(t, "GET", p.APIURL+"/api/v1/messages", globex.APIKey, nil, nil, &page); status != http.StatusOK || len(page.Messages) != 0 {
		t.Errorf("globex list: %d %s, want no messages", status, body)
	}
}

func TestMessageLifecycleInMemory(t *testing.T) {
	t.Parallel()
	messageLifecycle(t, []string{"DATABASE_URL=", "REDIS_URL="})
}

func TestMessageLifecycleOnPostgres(t *testing.T) {
	t.Parallel()
	messageLifecycle(t, []string{"DATABASE_URL=" + testenv.Postgres(t), "REDIS_URL="})
}
