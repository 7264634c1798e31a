package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, method, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(body), rec.Header()
}

func TestHealthzFollowsReadiness(t *testing.T) {
	t.Parallel()
	s := New(Options{Gatherer: prometheus.NewRegistry()})
	steps := []struct {
		name       string
		set        *bool
		wantStatus int
		wantBody   string
	}{
		{"before SetReady", nil, http.StatusServiceUnavailable, `"starting"`},
		{"after SetReady(true)", ptr(true), http.StatusOK, `"ok"`},
		{"SetReady(true) twice", ptr(true), http.StatusOK, `"ok"`},
		{"draining: SetReady(false)", ptr(false), http.StatusServiceUnavailable, `"starting"`},
		{"ready again", ptr(true), http.StatusOK, `"ok"`},
	}
	// Steps are sequential on one server: each depends on the one before.
	for _, st := range steps {
		if st.set != nil {
			s.SetReady(*st.set)
		}
		code, body, hdr := get(t, s, http.MethodGet, "/healthz")
		if code != st.wantStatus {
			t.Errorf("%s: GET /healthz = %d, want %d", st.name, code, st.wantStatus)
		}
		if !strings.Contains(body, st.wantBody) {
			t.Errorf("%s: body %q does not contain %s", st.name, body, st.wantBody)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type = %q, want application/json", st.name, ct)
		}
	}
}

func TestMetricsServesGatherer(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "catalyst_api_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	s := New(Options{Gatherer: reg}) // never SetReady: a starting platform is still observable.

	code, body, _ := get(t, s, http.MethodGet, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", code)
	}
	if !strings.Contains(body, "catalyst_api_test_total 3") {
		t.Errorf("/metrics does not serve the registered counter with value 3:\n%s", body)
	}
}

// Every answer the mux gives itself is in the JSON error shape, with its status and
// Allow or Location kept.
func TestRouting(t *testing.T) {
	t.Parallel()
	s := New(Options{Gatherer: prometheus.NewRegistry()})
	s.SetReady(true)
	tests := []struct {
		method, path string
		want         int
		wantCode     string // the JSON error's code; "" for a success
		wantAllow    string
		wantLocation string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "", "", ""},
		{http.MethodHead, "/healthz", http.StatusOK, "", "", ""},
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found", "", ""},
		{http.MethodGet, "/", http.StatusNotFound, "not_found", "", ""},
		{http.MethodGet, "/healthz/extra", http.StatusNotFound, "not_found", "", ""},
		{http.MethodGet, "/healthz/", http.StatusNotFound, "not_found", "", ""},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", "GET", ""},
		{http.MethodDelete, "/metrics", http.StatusMethodNotAllowed, "method_not_allowed", "GET", ""},
		{http.MethodPatch, "/api/v2/tenants/x", http.StatusMethodNotAllowed, "method_not_allowed", "DELETE", ""},
		{http.MethodGet, "/api/v2//tenants/x", http.StatusTemporaryRedirect, "moved", "", "/api/v2/tenants/x"},
		{http.MethodPost, "/api/v2/tenants/./x/api-keys", http.StatusTemporaryRedirect, "moved", "", "/api/v2/tenants/x/api-keys"},
		{http.MethodGet, "/api/v1/messages/a/../stats?x=1", http.StatusTemporaryRedirect, "moved", "", "/api/v1/messages/stats?x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, nil) // the path as sent, uncleaned
			s.ServeHTTP(rec, req)
			code, hdr := rec.Code, rec.Header()
			if code != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, code, tt.want)
			}
			if !strings.Contains(hdr.Get("Allow"), tt.wantAllow) {
				t.Errorf("Allow = %q, want it to contain %s", hdr.Get("Allow"), tt.wantAllow)
			}
			if hdr.Get("Location") != tt.wantLocation {
				t.Errorf("Location = %q, want %q", hdr.Get("Location"), tt.wantLocation)
			}
			if tt.wantCode == "" {
				return
			}
			var body errorBody
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || string(body.Error.Code) != tt.wantCode || body.Error.Message == "" {
				t.Errorf("body %q (%v), want the JSON error shape with code %s", rec.Body.String(), err, tt.wantCode)
			}
		})
	}
}

func TestOverRealHTTP(t *testing.T) {
	t.Parallel()
	s := New(Options{Gatherer: prometheus.NewRegistry()})
	srv := httptest.NewServer(s)
	defer srv.Close()
	status := func() int {
		resp, err := srv.Client().Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusServiceUnavailable {
		t.Errorf("before ready: %d, want 503", got)
	}
	s.SetReady(true)
	if got := status(); got != http.StatusOK {
		t.Errorf("after ready: %d, want 200", got)
	}
}

func ptr[T any](v T) *T { return &v }

// The Bearer scheme matches in any case (RFC 9110 §11.1); a credential is taken byte
// for byte, never trimmed: the admin token with a trailing space is not the admin token.
func TestBearerScheme(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	h := a.srv.Config.Handler
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/api/v2/tenants/" + acme.id, "Bearer " + testAdmin, http.StatusOK},
		{"/api/v2/tenants/" + acme.id, "bearer " + testAdmin, http.StatusOK},
		{"/api/v2/tenants/" + acme.id, "BEARER " + testAdmin, http.StatusOK},
		{"/api/v2/tenants/" + acme.id, "Bearer " + testAdmin + " ", http.StatusUnauthorized},
		{"/api/v2/tenants/" + acme.id, "Bearer  " + testAdmin, http.StatusUnauthorized},
		{"/api/v2/tenants/" + acme.id, "Bearer " + testAdmin + "\t", http.StatusUnauthorized},
		{"/api/v2/rate-cards", "Bearer " + testAdmin + " ", http.StatusUnauthorized},
		{"/api/v1/messages", "bearer " + acme.key, http.StatusOK},
		{"/api/v1/messages", "Bearer " + acme.key + " ", http.StatusUnauthorized},
		{"/api/v1/messages", "Bearer  " + acme.key, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		req.Header.Set("Authorization", tt.auth)
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET %s with Authorization %q = %d, want %d", tt.path, tt.auth, rec.Code, tt.want)
		}
		if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("a 401 without WWW-Authenticate: Bearer (RFC 9110 §11.6.1): %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}
