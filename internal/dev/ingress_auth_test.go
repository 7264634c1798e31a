package dev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/dev"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// eventTime dates the events these tests post (never the real clock).
var eventTime = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// apiCall sends a JSON request with a bearer token and decodes a JSON answer into out.
func apiCall(t *testing.T, method, url, bearer string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestIngressCredentialsInDev: catalyst dev's ingress takes a tenant's API key made
// by its own API (the REST API's key check), and its platform token; the forgeries
// of issue #14 are refused.
func TestIngressCredentialsInDev(t *testing.T) {
	t.Parallel()
	r := serve(t)
	var acme struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	if status := apiCall(t, http.MethodPost, r.p.APIURL()+"/api/v2/tenants", testAdminToken,
		map[string]string{"name": "acme", "email": "ops@acme.example", "currency": "EUR"}, &acme); status != http.StatusCreated || acme.APIKey == "" {
		t.Fatalf("create tenant: %d", status)
	}
	url := r.p.IngressURL() + "/catalyst/default"
	message := func(typ, tenantID string, data func(ref catalog.MessageRef, req catalog.MessageRequested) any) (event.Event, string) {
		id := uuid.NewString()
		ref := catalog.MessageRef{MessageID: id, TenantID: tenantID, Channel: "sms"}
		req := catalog.MessageRequested{MessageID: id, TenantID: tenantID, Channel: "sms", To: "+447911123456",
			Content: catalog.Content{Type: "text", Text: "hello"}}
		e, err := catalog.NewAt(eventTime, typ, "/test", data(ref, req), map[string]string{"tenantid": tenantID, "channel": "sms", "messageid": id})
		if err != nil {
			t.Fatal(err)
		}
		return e, id
	}
	requested := func(_ catalog.MessageRef, req catalog.MessageRequested) any { return req }
	delivered := func(ref catalog.MessageRef, _ catalog.MessageRequested) any {
		return catalog.MessageDelivered{MessageRef: ref, ProviderMessageID: "smsc-1"}
	}
	forged, _ := message(catalog.MessageDeliveredType, acme.TenantID, delivered)
	for _, c := range []struct {
		name, bearer string
		want         int
	}{{"no credential", "", http.StatusUnauthorized}, {"the tenant's key", acme.APIKey, http.StatusForbidden}, {"the admin token", testAdminToken, http.StatusUnauthorized}} {
		if got := testenv.PostAs(t, url, c.bearer, forged); got != c.want {
			t.Errorf("message.delivered with %s: %d, want %d", c.name, got, c.want)
		}
	}
	other, _ := message(catalog.MessageRequestedType, "globex", requested)
	if got := testenv.PostAs(t, url, acme.APIKey, other); got != http.StatusForbidden {
		t.Errorf("another tenant's message.requested with acme's key: %d, want 403", got)
	}
	if got := testenv.PostAs(t, url, testenv.PlatformToken, forged); got != http.StatusAccepted {
		t.Errorf("message.delivered with the platform token: %d, want 202", got)
	}
	// The integrator's own request goes all the way: message-record keeps it.
	mine, id := message(catalog.MessageRequestedType, acme.TenantID, requested)
	if got := testenv.PostAs(t, url, acme.APIKey, mine); got != http.StatusAccepted {
		t.Fatalf("message.requested with acme's own key: %d, want 202", got)
	}
	waitFor(t, 20*time.Second, "the posted message recorded", func() bool {
		return apiCall(t, http.MethodGet, r.p.APIURL()+"/api/v1/messages/"+id, acme.APIKey, nil, nil) == http.StatusOK
	})
}

func TestStartRejectsAShortPlatformToken(t *testing.T) {
	t.Parallel()
	cfg, _, _ := testConfig()
	cfg.PlatformToken = "guessable"
	if _, err := dev.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "CATALYST_PLATFORM_TOKEN") {
		t.Fatalf("Start with a 9-character platform token = %v, want an error naming CATALYST_PLATFORM_TOKEN", err)
	}
}
