package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

const fakeAdmin = "admin-secret"

// fakeAPI imitates the platform's admin, send and stats endpoints, validating the
// requests as internal/api does (strict JSON, channel.Validate for the SMS), and
// records what it got. The sandbox's outcome is read from the destination, as the
// sandbox SMSC with MagicNumbers would.
type fakeAPI struct {
	t *testing.T
	// stats: serve GET /api/v1/messages/stats; otherwise it is a 404 as on a platform
	// without it.
	stats bool
	// reject answers 429 to every n-th send (0: never).
	reject int

	mu       sync.Mutex
	tenants  map[string]string // api key → tenant id
	toppedUp map[string]string // tenant id → amount
	keys     map[string]bool   // top-up idempotency keys
	sends    int
	got      map[string][]smsInput // tenant id → accepted SMS
	problems []string              // requests the real API would refuse
}

// smsInput mirrors internal/api's body of POST /api/v1/sms/send.
type smsInput struct {
	To      string `json:"to"`
	Message string `json:"message,omitempty"`
	From    string `json:"from,omitempty"`
	Flash   bool   `json:"flash,omitempty"`
	Binary  string `json:"binary,omitempty"`
}

func newFakeAPI(t *testing.T, stats bool) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, stats: stats, tenants: map[string]string{}, toppedUp: map[string]string{},
		keys: map[string]bool{}, got: map[string][]smsInput{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/tenants", f.createTenant)
	mux.HandleFunc("POST /api/v2/balances/{tenant_id}/topup", f.topUp)
	mux.HandleFunc("POST /api/v1/sms/send", f.send)
	mux.HandleFunc("GET /api/v1/messages/{id}", f.messageOrStats)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func decodeStrict(r *http.Request, into any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func (f *fakeAPI) admin(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+fakeAdmin {
		writeErr(w, http.StatusUnauthorized, "unauthenticated", "admin token required")
		return false
	}
	return true
}

func (f *fakeAPI) createTenant(w http.ResponseWriter, r *http.Request) {
	if !f.admin(w, r) {
		return
	}
	var in struct{ Name, Email, Currency string }
	if err := decodeStrict(r, &in); err != nil || in.Name == "" || !strings.Contains(in.Email, "@") || in.Currency != "EUR" {
		f.problem("create tenant: %+v %v", in, err)
		writeErr(w, http.StatusUnprocessableEntity, "unprocessable", "invalid tenant")
		return
	}
	f.mu.Lock()
	id := fmt.Sprintf("tenant-%d", len(f.tenants)+1)
	key := "ck_" + id
	f.tenants[key] = id
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"tenant_id": id, "name": in.Name, "api_key": key, "api_key_id": "k", "api_key_prefix": "ck_ten"})
}

func (f *fakeAPI) topUp(w http.ResponseWriter, r *http.Request) {
	if !f.admin(w, r) {
		return
	}
	var in struct{ Amount, Currency, Reference string }
	key := r.Header.Get("Idempotency-Key")
	err := decodeStrict(r, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("tenant_id")
	known := false
	for _, t := range f.tenants {
		known = known || t == id
	}
	switch {
	case !known:
		writeErr(w, http.StatusNotFound, "not_found", "tenant not found")
	case err != nil || in.Amount == "" || key == "" || f.keys[key]:
		f.problems = append(f.problems, fmt.Sprintf("top-up %s: %+v key %q %v", id, in, key, err))
		writeErr(w, http.StatusUnprocessableEntity, "unprocessable", "invalid top-up")
	default:
		f.keys[key], f.toppedUp[id] = true, in.Amount
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"transaction_id":"tx"}`))
	}
}

// tenant authenticates a tenant request.
func (f *fakeAPI) tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	id, ok := f.tenants[key]
	f.mu.Unlock()
	if !ok {
		writeErr(w, http.StatusUnauthorized, "unauthenticated", "invalid or expired API key")
	}
	return id, ok
}

func (f *fakeAPI) send(w http.ResponseWriter, r *http.Request) {
	id, ok := f.tenant(w, r)
	if !ok {
		return
	}
	var in smsInput
	if err := decodeStrict(r, &in); err != nil {
		f.problem("send: %v", err)
		writeErr(w, http.StatusBadRequest, "invalid", "malformed JSON body")
		return
	}
	req := channel.Request{Channel: "sms", To: in.To, From: in.From, Content: catalog.Content{Type: "text", Text: in.Message}}
	if in.Flash {
		req.Options = map[string]any{"flash": true}
	}
	if _, err := channel.Validate(req); err != nil {
		f.problem("send %+v: %v", in, err)
		writeErr(w, http.StatusUnprocessableEntity, "unprocessable", err.Error())
		return
	}
	f.mu.Lock()
	f.sends++
	n := f.sends
	if f.reject > 0 && n%f.reject == 0 {
		f.mu.Unlock()
		writeErr(w, http.StatusTooManyRequests, "rate_limited", "rate limit of the tenant reached")
		return
	}
	f.got[id] = append(f.got[id], in)
	f.mu.Unlock()
	enc, parts := channel.SMSParts(in.Message)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"message_id": fmt.Sprint("m", n), "status": "accepted", "parts": parts, "encoding": enc})
}

// messageOrStats is GET /api/v1/messages/{id}: "stats" is the stats document when
// the fake serves it; anything else (and stats without) is a 404, as the real API
// answers for an unknown message id.
func (f *fakeAPI) messageOrStats(w http.ResponseWriter, r *http.Request) {
	id, ok := f.tenant(w, r)
	if !ok {
		return
	}
	if r.PathValue("id") != "stats" || !f.stats {
		writeErr(w, http.StatusNotFound, "not_found", "message not found")
		return
	}
	if _, err := time.Parse(time.RFC3339, r.URL.Query().Get("since")); err != nil {
		f.problem("stats since %q: %v", r.URL.Query().Get("since"), err)
		writeErr(w, http.StatusUnprocessableEntity, "unprocessable", "since: want RFC 3339")
		return
	}
	f.mu.Lock()
	msgs := append([]smsInput(nil), f.got[id]...)
	f.mu.Unlock()
	by := map[string]int64{"accepted": 0, "delivered": 0, "failed": 0}
	for _, m := range msgs {
		switch {
		case strings.HasSuffix(m.To, smsc.MagicUndelivered), strings.HasSuffix(m.To, smsc.MagicExpired), strings.HasSuffix(m.To, smsc.MagicRejected):
			by["failed"]++
		default:
			by["delivered"]++
		}
	}
	// Each tenant reports different percentiles, so the merge is visible.
	var idx int
	_, _ = fmt.Sscanf(id, "tenant-%d", &idx)
	base := float64(1000 + 100*idx)
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"since": r.URL.Query().Get("since"), "until": time.Now().UTC().Format(time.RFC3339),
		"total": len(msgs), "by_status": by,
		"latency": map[string]any{"count": by["delivered"], "p50_ms": base, "p95_ms": base + 50, "p99_ms": base + 90, "max_ms": base + 200, "mean_ms": base + 10}})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}
