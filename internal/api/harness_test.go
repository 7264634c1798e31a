package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/functions/messagerecord"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

const testAdmin = "test-admin-token"

// recordingEmitter keeps what the API emitted; fail makes the next Emit fail.
type recordingEmitter struct {
	mu     sync.Mutex
	events []event.Event
	fail   error
	after  int // Emit calls to let through before fail applies
}

// failAfter makes Emit fail with err once n more calls have succeeded; the caller
// holds mu.
func (r *recordingEmitter) failAfter(n int, err error) { r.after, r.fail = n, err }

func (r *recordingEmitter) Emit(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil && r.after == 0 {
		err := r.fail
		r.fail = nil
		return err
	}
	if r.after > 0 {
		r.after--
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recordingEmitter) emitted() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

type testAPI struct {
	srv     *httptest.Server
	emitter *recordingEmitter
	db      *inmem.DB
	engine  *charging.Engine
	now     *time.Time
}

// newTestAPI serves the API over in-memory stores with a settable clock, and the
// billing engine over a memory wallet; opts adjust the Options (withoutBilling).
func newTestAPI(t *testing.T, opts ...func(*Options)) *testAPI {
	t.Helper()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a := &testAPI{emitter: &recordingEmitter{}, now: &now}
	clock := func() time.Time { return *a.now }
	a.db = inmem.New(inmem.WithClock(clock))
	// The shipped price list and exchange rates, as catalyst dev runs with them.
	card, err := charging.LoadDefaultCard("../../config")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := charging.LoadDefaultFX("../../config")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := charging.New(charging.Config{
		Tenants: a.db.Tenants(), Cards: a.db.RateCards(), FX: a.db.FXRates(), Promos: a.db.Promos(),
		Settings: a.db.BillingSettings(), Charges: a.db.Charges(), Wallet: wallet.NewMemory(clock),
		Ledger: a.db.Ledger(), Volume: charging.NewMemoryCounter(), Now: clock, DefaultCard: card, DefaultFX: fx,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Close)
	a.engine = engine
	o := Options{
		Tenants: a.db.Tenants(), Messages: a.db.Messages(), Idempotency: a.db.Idempotency(), Ledger: a.db.Ledger(), Numbers: a.db.Numbers(),
		RateCards: a.db.RateCards(), FXRates: a.db.FXRates(), Promos: a.db.Promos(), Charges: a.db.Charges(), Billing: engine,
		Emitter: a.emitter, AdminToken: testAdmin, KeyGrace: time.Hour, Now: clock,
	}
	for _, f := range opts {
		f(&o)
	}
	a.srv = httptest.NewServer(New(o))
	t.Cleanup(a.srv.Close)
	return a
}

// withoutBilling serves balances from the ledger alone, as before the billing engine.
func withoutBilling(o *Options) { o.Billing = nil }

// do sends a request with an optional bearer token and JSON body (a string is sent
// as is) and returns status, headers and the decoded JSON body (nil when empty).
func (a *testAPI) do(t *testing.T, method, path, token string, body any, headers ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, data)
		}
	}
	return resp.StatusCode, resp.Header, out
}

type tenantCreds struct{ id, key string }

func (a *testAPI) createTenant(t *testing.T, name string) tenantCreds {
	t.Helper()
	status, _, body := a.do(t, "POST", "/api/v2/tenants", testAdmin, map[string]string{"name": name, "email": name + "@example.com", "currency": "EUR"})
	if status != http.StatusCreated {
		t.Fatalf("create %s: %d %v", name, status, body)
	}
	return tenantCreds{id: body["tenant_id"].(string), key: body["api_key"].(string)}
}

// record delivers every emitted event to the message-record function, as the broker
// would, after checking it against the event catalogue.
func (a *testAPI) record(t *testing.T) {
	t.Helper()
	f, err := messagerecord.Definition().New(fn.Deps{Messages: a.db.Messages()})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range a.emitter.emitted() {
		if err := catalog.Validate(e); err != nil {
			t.Fatalf("the API emitted an event that breaks the catalogue: %v", err)
		}
		if _, err := f.Handle(context.Background(), e); err != nil {
			t.Fatalf("message-record rejected %s: %v", e.ID(), err)
		}
	}
}

func fieldsOf(body map[string]any) map[string]bool {
	out := map[string]bool{}
	e, _ := body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		if m, ok := f.(map[string]any); ok {
			out[m["field"].(string)] = true
		}
	}
	return out
}
