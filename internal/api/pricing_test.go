package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// A send billing could not price is refused at once (422, saying why), not accepted
// and then declined as no_rate; a tenant in another currency than the shipped EUR
// price list is priced through the shipped exchange rates, as a new user finds it.
func TestSendThatCannotBePricedIsRefused(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	create := func(name, currency string) tenantCreds {
		status, _, body := a.do(t, "POST", "/api/v2/tenants", testAdmin, map[string]string{"name": name, "email": name + "@example.com", "currency": currency})
		if status != http.StatusCreated {
			t.Fatalf("create %s: %d %v", name, status, body)
		}
		return tenantCreds{id: body["tenant_id"].(string), key: body["api_key"].(string)}
	}
	usd := create("usd-co", "USD")
	if status, _, body := a.do(t, "POST", "/api/v1/messages", usd.key, sms("hello")); status != http.StatusAccepted {
		t.Fatalf("USD tenant on the EUR price list: %d %v, want 202", status, body)
	}
	mxn := create("mxn-co", "MXN") // no shipped EUR→MXN rate
	before := len(a.emitter.emitted())
	status, _, body := a.do(t, "POST", "/api/v1/messages", mxn.key, sms("hello"))
	if status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(body), "currency") || !strings.Contains(fmt.Sprint(body), "MXN") {
		t.Fatalf("MXN tenant without an exchange rate: %d %v, want 422 naming the currency", status, body)
	}
	if n := len(a.emitter.emitted()); n != before {
		t.Fatalf("%d events emitted for a refused send", n-before)
	}
	// A tenant card without a WhatsApp rate.
	eur := a.createTenant(t, "eur-co")
	if status, _, body := a.do(t, "POST", "/api/v2/rate-cards", testAdmin, map[string]any{"name": "sms only", "tenant_id": eur.id, "currency": "EUR",
		"effective_from": a.now.Format(time.RFC3339), "rates": map[string]any{"sms": map[string]string{"base_rate": "0.01", "unit": "per-message"}}}); status != http.StatusCreated {
		t.Fatalf("rate card: %d %v", status, body)
	}
	wa := map[string]any{"channel": "whatsapp", "to": "+447911123456", "content": map[string]string{"type": "text", "text": "hi"}}
	if status, _, body := a.do(t, "POST", "/api/v1/messages", eur.key, wa); status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(body), "whatsapp") {
		t.Fatalf("channel the card does not rate: %d %v, want 422", status, body)
	}
	// What the API accepts, billing prices: the USD tenant's message is authorized.
	var req catalog.MessageRequested
	for _, e := range a.emitter.emitted() {
		if e.Type() == catalog.MessageRequestedType {
			if err := catalog.DecodeData(e, &req); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, _, err := a.engine.TopUp(context.Background(), usd.id, "k", "", decimal.RequireFromString("1"), "USD"); err != nil {
		t.Fatal(err)
	}
	auth, d, err := a.engine.Authorize(context.Background(), req)
	if err != nil || d != nil || auth.Currency != "USD" || auth.Amount.String() != "0.0174" {
		t.Fatalf("the USD tenant's message: %+v %+v %v, want USD 0.0174 (EUR 0.015 × 1.16)", auth, d, err)
	}
}
