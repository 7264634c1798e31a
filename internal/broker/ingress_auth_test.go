package broker

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// testNow is the injected clock the ingress checks key expiry by.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tenantKeys creates tenants in an in-memory store and returns it with each tenant's
// API key; "dormant" is suspended.
func tenantKeys(t *testing.T) (tenant.Store, map[string]string) {
	t.Helper()
	st := inmem.New(inmem.WithClock(func() time.Time { return testNow })).Tenants()
	keys := map[string]string{}
	for _, id := range []string{"acme", "globex", "dormant"} {
		secret := "ck_" + id + "-" + uuid.NewString()
		k := tenant.APIKey{ID: "key-" + id, Prefix: secret[:9], Hash: tenant.HashKey(secret)}
		if _, err := st.CreateTenant(context.Background(), tenant.Tenant{ID: id, Name: id, Currency: "EUR"}, k); err != nil {
			t.Fatal(err)
		}
		keys[id] = secret
	}
	dormant, err := st.GetTenant(context.Background(), "dormant")
	if err != nil {
		t.Fatal(err)
	}
	dormant.Status = tenant.Suspended
	if _, err := st.UpdateTenant(context.Background(), dormant); err != nil {
		t.Fatal(err)
	}
	return st, keys
}

// messageEvent builds a catalogued event about a message of tenantID; dataTenant,
// when set, is the data's tenant_id instead (a mismatch the catalogue refuses).
func messageEvent(t *testing.T, typ, tenantID, dataTenant string) event.Event {
	t.Helper()
	if dataTenant == "" {
		dataTenant = tenantID
	}
	id := uuid.NewString()
	ref := catalog.MessageRef{MessageID: id, TenantID: dataTenant, Channel: "sms"}
	req := catalog.MessageRequested{MessageID: id, TenantID: dataTenant, Channel: "sms", To: "+447911123456",
		Content: catalog.Content{Type: "text", Text: "hello"}}
	var data any
	switch typ {
	case catalog.MessageRequestedType:
		data = req
	case catalog.BillingAuthorizedType:
		data = catalog.BillingAuthorized{MessageRef: ref, ReservationID: uuid.NewString(), Amount: decimal.RequireFromString("0.015"),
			Currency: "EUR", Rate: decimal.RequireFromString("0.015"), ExpiresAt: testNow.Add(time.Hour), Message: req}
	case catalog.MessageFailedType:
		data = catalog.MessageFailed{MessageRef: ref, Stage: catalog.StageDelivery, Code: "UNDELIV", Reason: "undeliverable"}
	case catalog.MessageDeliveredType:
		data = catalog.MessageDelivered{MessageRef: ref, ProviderMessageID: "smsc-1"}
	default:
		t.Fatalf("no data for %s", typ)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	// Built by hand, not catalog.New: a mismatched tenant must still reach the ingress.
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetType(typ)
	e.SetSource("/attacker")
	e.SetTime(testNow)
	e.SetDataSchema(catalog.DataSchemaURI(typ))
	e.SetDataContentType(event.ApplicationJSON)
	e.DataEncoded = raw
	for k, v := range map[string]string{"tenantid": tenantID, "channel": "sms", "messageid": id, "partitionkey": id} {
		e.SetExtension(k, v)
	}
	return e
}

// storedCount is how many events the broker topic holds.
func storedCount(t *testing.T, h *harness) int64 {
	t.Helper()
	ends, err := kadm.NewClient(h.rt.kafka.producer).ListEndOffsets(context.Background(), BrokerTopic(keyOf("catalyst", "default")))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// postWith posts e with bearer (none when empty) and returns the status and, for a
// refusal, its JSON error.
func postWith(t *testing.T, url, bearer string, e event.Event) (int, string) {
	t.Helper()
	status, raw := testenv.PostAnswer(t, url, bearer, e)
	if status == http.StatusAccepted {
		return status, ""
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("refusal %d without a JSON error body: %v", status, err)
	}
	return status, body.Error
}

// TestIngressRefusesForgedEvents posts the forgeries of issue #14 — internal types
// without a credential or with a tenant's key, another tenant's message.requested —
// and checks each is refused with 401/403 and its reason, and that the topic holds
// only the events that were allowed.
func TestIngressRefusesForgedEvents(t *testing.T) {
	t.Parallel()
	tenants, keys := tenantKeys(t)
	h := startRuntimeWith(t, "", KafkaConfig{}, IngressAuth{PlatformToken: testenv.PlatformToken, Tenants: tenants, Now: func() time.Time { return testNow }})
	url := h.ingress.URL + "/catalyst/default"
	own := func(typ string) event.Event {
		e := testenv.NewEvent(uuid.NewString(), typ, map[string]string{"tenantid": "acme"})
		return e
	}
	tests := []struct {
		name    string
		bearer  string
		event   event.Event
		want    int
		wantMsg string
	}{
		// The four forgeries of the issue, with no credential at all.
		{"forged billing.authorized, no credential", "", messageEvent(t, catalog.BillingAuthorizedType, "acme", ""), 401, "missing Authorization"},
		{"forged message.failed, no credential", "", messageEvent(t, catalog.MessageFailedType, "acme", ""), 401, "missing Authorization"},
		{"forged message.delivered, no credential", "", messageEvent(t, catalog.MessageDeliveredType, "acme", ""), 401, "missing Authorization"},
		{"another tenant's message.requested, no credential", "", messageEvent(t, catalog.MessageRequestedType, "globex", ""), 401, "missing Authorization"},
		// The same with a tenant's own API key: a tenant may not post platform types.
		{"billing.authorized with an API key", keys["acme"], messageEvent(t, catalog.BillingAuthorizedType, "acme", ""), 403, "platform's own"},
		{"message.failed with an API key", keys["acme"], messageEvent(t, catalog.MessageFailedType, "acme", ""), 403, "platform's own"},
		{"message.delivered with an API key", keys["acme"], messageEvent(t, catalog.MessageDeliveredType, "acme", ""), 403, "platform's own"},
		{"message.requested for another tenant", keys["acme"], messageEvent(t, catalog.MessageRequestedType, "globex", ""), 403, `tenantid "globex" is not the API key's tenant "acme"`},
		{"message.requested whose data names another tenant", keys["acme"], messageEvent(t, catalog.MessageRequestedType, "acme", "globex"), 400, "data/tenant_id"},
		{"a wrong bearer", "ck_not-a-key", messageEvent(t, catalog.MessageRequestedType, "acme", ""), 401, "expired API key"},
		{"a near miss of the platform token", testenv.PlatformToken + "x", messageEvent(t, catalog.BillingAuthorizedType, "acme", ""), 401, "expired API key"},
		{"a suspended tenant's key", keys["dormant"], messageEvent(t, catalog.MessageRequestedType, "dormant", ""), 403, "suspended"},
		{"an uncatalogued io.catalyst type with an API key", keys["acme"], own("io.catalyst.billing.refund"), 403, "platform's own"},
		{"an own type without tenantid", keys["acme"], testenv.NewEvent(uuid.NewString(), "com.acme.order.created", nil), 403, "tenantid missing"},
		// What is allowed.
		{"message.requested with its own key", keys["acme"], messageEvent(t, catalog.MessageRequestedType, "acme", ""), 202, ""},
		{"diagnostics ping with its own key", keys["acme"], own(catalog.DiagnosticsPingType), 202, ""},
		{"an own type with its own key", keys["acme"], own("com.acme.order.created"), 202, ""},
		{"billing.authorized with the platform token", testenv.PlatformToken, messageEvent(t, catalog.BillingAuthorizedType, "acme", ""), 202, ""},
		{"message.delivered with the platform token", testenv.PlatformToken, messageEvent(t, catalog.MessageDeliveredType, "globex", ""), 202, ""},
	}
	var accepted int64
	for _, tc := range tests {
		status, body := postWith(t, url, tc.bearer, tc.event)
		if status != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, status, body, tc.want)
		}
		if tc.wantMsg != "" && !strings.Contains(body, tc.wantMsg) {
			t.Errorf("%s: body %s does not say %q", tc.name, body, tc.wantMsg)
		}
		if status == http.StatusAccepted {
			accepted++
		}
		if got := storedCount(t, h); got != accepted {
			t.Fatalf("%s: the topic holds %d events, want %d (nothing refused may reach Kafka)", tc.name, got, accepted)
		}
	}
	for _, code := range []string{"401", "403"} {
		if got := counterValue(t, h.reg, "catalyst_broker_ingress_events_total", map[string]string{"broker": "catalyst/default", "code": code}); got == 0 {
			t.Errorf("no ingress count for code %s", code)
		}
	}
}

// TestIngressRefusalShape: a 401 says how to authenticate (WWW-Authenticate) and
// every refusal is the ingress's JSON error body.
func TestIngressRefusalShape(t *testing.T) {
	t.Parallel()
	h := startRuntime(t, "")
	req, err := http.NewRequest(http.MethodPost, h.ingress.URL+"/catalyst/default", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
		resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body.Error, "Bearer") {
		t.Fatalf("got %d, WWW-Authenticate %q, Content-Type %q, body %+v", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), body)
	}
}

// TestHTTPEmitterPresentsThePlatformToken: a pod's emitter (K_SINK) gets a platform
// type in only with the token; without it the error is Unauthenticated.
func TestHTTPEmitterPresentsThePlatformToken(t *testing.T) {
	t.Parallel()
	h := startRuntime(t, "")
	url := h.ingress.URL + "/catalyst/default"
	e := messageEvent(t, catalog.MessageDeliveredType, "acme", "")
	err := (&HTTPEmitter{URL: url}).Emit(context.Background(), e)
	if errs.CodeOf(err) != errs.Unauthenticated {
		t.Fatalf("emit without the token: %v, want unauthenticated", err)
	}
	if err := (&HTTPEmitter{URL: url, Token: testenv.PlatformToken}).Emit(context.Background(), e); err != nil {
		t.Fatalf("emit with the token: %v", err)
	}
	if got := storedCount(t, h); got != 1 {
		t.Fatalf("the topic holds %d events, want 1", got)
	}
}

func TestCheckPlatformToken(t *testing.T) {
	t.Parallel()
	if err := CheckPlatformToken(""); err != nil {
		t.Errorf("empty: %v, want nil (no platform token)", err)
	}
	if err := CheckPlatformToken("short"); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "CATALYST_PLATFORM_TOKEN") {
		t.Errorf("short: %v, want invalid naming CATALYST_PLATFORM_TOKEN", err)
	}
	if err := CheckPlatformToken(testenv.PlatformToken); err != nil {
		t.Errorf("test token: %v", err)
	}
}

// TestURISubscriberRepliesAreHeldToTheIngressRules: a webhook's reply carries no
// credential, so a platform type (or a message.requested, whose tenant nothing
// proves) is discarded, while its own types still re-enter the broker.
func TestURISubscriberRepliesAreHeldToTheIngressRules(t *testing.T) {
	t.Parallel()
	forgedAuth := messageEvent(t, catalog.BillingAuthorizedType, "acme", "")
	forgedReq := messageEvent(t, catalog.MessageRequestedType, "globex", "")
	webhook := testenv.NewSink(t, func(e event.Event, _ int) (int, *event.Event) {
		var reply event.Event
		switch e.ID() {
		case "want-authorized":
			reply = forgedAuth.Clone()
		case "want-requested":
			reply = forgedReq.Clone()
		default:
			reply = testenv.NewEvent("reply-"+e.ID(), "com.example.out", map[string]string{"tenantid": "acme"})
		}
		return http.StatusOK, &reply
	})
	caught := testenv.NewSink(t, nil)
	yaml := trigger("webhook", "  filters:\n    - exact: {type: com.example.in}", webhook.URL, "") +
		trigger("caught", "  filters:\n    - any:\n      - exact: {type: "+catalog.BillingAuthorizedType+"}\n      - exact: {type: "+
			catalog.MessageRequestedType+"}\n      - exact: {type: com.example.out}", caught.URL, "")
	h := startRuntime(t, yaml)
	for _, id := range []string{"want-authorized", "want-requested", "want-own"} {
		if got := h.post(t, testenv.NewEvent(id, "com.example.in", map[string]string{"tenantid": "acme"})); got != http.StatusAccepted {
			t.Fatalf("post %s: %d", id, got)
		}
	}
	testenv.WaitFor(t, "the own reply", func() bool { return len(caught.Received()) >= 1 })
	h.drained(t)
	if ids := caught.IDs(); len(ids) != 1 || ids["reply-want-own"] != 1 {
		t.Fatalf("the broker published %v, want only the webhook's own reply-want-own", ids)
	}
	if got := counterValue(t, h.reg, "catalyst_broker_deliveries_total", map[string]string{"subscription": "Trigger/catalyst/webhook", "result": "reply_refused"}); got != 2 {
		t.Errorf("reply_refused counted %v, want 2", got)
	}
}

// downStore is a tenant store that cannot be reached.
type downStore struct{ tenant.Store }

func (downStore) Authenticate(context.Context, []byte, time.Time) (tenant.Tenant, tenant.APIKey, error) {
	return tenant.Tenant{}, tenant.APIKey{}, errs.E(errs.Unavailable, "postgres at 10.0.0.7: connection refused")
}

// TestIngressKeyStoreDown: a key that cannot be checked is a 503 to retry, without
// the store's detail, and nothing is stored.
func TestIngressKeyStoreDown(t *testing.T) {
	t.Parallel()
	h := startRuntimeWith(t, "", KafkaConfig{}, IngressAuth{PlatformToken: testenv.PlatformToken, Tenants: downStore{}})
	status, body := postWith(t, h.ingress.URL+"/catalyst/default", "ck_some-key", messageEvent(t, catalog.MessageRequestedType, "acme", ""))
	if status != http.StatusServiceUnavailable || strings.Contains(body, "10.0.0.7") {
		t.Fatalf("got %d %q, want 503 without the store's detail", status, body)
	}
	if got := storedCount(t, h); got != 0 {
		t.Fatalf("the topic holds %d events, want 0", got)
	}
}
