package dev_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/dev"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// repoDir is the repository root, holding brokers/, triggers/ and knative/.
const repoDir = "../.."

// testAdminToken authorises the tenant admin API in these tests.
const testAdminToken = "dev-test-admin-token"

// syncBuffer is a bytes.Buffer safe for Serve's goroutine to write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(extra ...string) (dev.Config, *syncBuffer, *syncBuffer) {
	out, logs := &syncBuffer{}, &syncBuffer{}
	return dev.Config{
		RepoDir:         repoDir,
		Manifests:       extra,
		IngressAddr:     "127.0.0.1:0",
		APIAddr:         "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second,
		AdminToken:      testAdminToken,
		PlatformToken:   testenv.PlatformToken,
		Out:             out,
		Logger:          slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, out, logs
}

type running struct {
	p      *dev.Platform
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// serve starts the platform and runs Serve until the test ends (or stop is called
// through cancel); it returns once the summary is printed.
func serve(t *testing.T, extra ...string) *running {
	t.Helper()
	return serveWith(t, nil, extra...)
}

// serveWith is serve with set adjusting the configuration first.
func serveWith(t *testing.T, set func(*dev.Config), extra ...string) *running {
	t.Helper()
	cfg, out, logs := testConfig(extra...)
	if set != nil {
		set(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := dev.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	r := &running{p: p, out: out, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return within 30s of cancel")
		}
		if t.Failed() {
			t.Logf("output:\n%s\nlogs:\n%s", out.String(), logs.String())
		}
	})
	waitFor(t, 10*time.Second, "summary printed", func() bool { return strings.Contains(out.String(), "catalyst dev: ready") })
	return r
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestServeHealthAndSummary(t *testing.T) {
	t.Parallel()
	r := serve(t)

	if got := httpGet(t, r.p.APIURL()+"/healthz"); got != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200 once serving", got)
	}
	if got := httpGet(t, r.p.APIURL()+"/metrics"); got != http.StatusOK {
		t.Errorf("GET /metrics = %d, want 200", got)
	}
	for _, u := range []string{r.p.APIURL(), r.p.IngressURL()} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0") {
			t.Errorf("URL %q is not a concrete loopback address", u)
		}
	}
	summary := r.out.String()
	for _, want := range []string{
		"api:     " + r.p.APIURL(),
		"ingress: " + r.p.IngressURL() + "/{namespace}/{broker}",
		"brokers: catalyst/default",
		"embedded",
		"Trigger/catalyst/echo-ping",
		"platform: token from CATALYST_PLATFORM_TOKEN",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary does not mention %q:\n%s", want, summary)
		}
	}
}

func TestIngress(t *testing.T) {
	t.Parallel()
	r := serve(t)

	binary := func(path string, headers map[string]string, body string) *http.Request {
		req, err := http.NewRequest(http.MethodPost, r.p.IngressURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testenv.PlatformToken)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return req
	}
	valid := map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "ping-1", "Ce-Type": echo.PingType, "Ce-Source": "/test",
		"Content-Type": "application/json",
	}
	missingID := map[string]string{"Ce-Specversion": "1.0", "Ce-Type": echo.PingType, "Ce-Source": "/test"}
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"valid binary event", binary("/catalyst/default", valid, `{"n":1}`), http.StatusAccepted},
		{"not a CloudEvent", binary("/catalyst/default", map[string]string{"Content-Type": "text/plain"}, "hello"), http.StatusBadRequest},
		{"missing id", binary("/catalyst/default", missingID, `{}`), http.StatusBadRequest},
		{"malformed structured JSON", binary("/catalyst/default", map[string]string{"Content-Type": "application/cloudevents+json"}, `{"specversion":`), http.StatusBadRequest},
		{"unknown broker", binary("/catalyst/nope", valid, `{}`), http.StatusNotFound},
		{"unknown namespace", binary("/other/default", valid, `{}`), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("POST %s = %d (%s), want %d", tt.req.URL.Path, resp.StatusCode, body, tt.want)
			}
		})
	}
}

// TestPingPongEndToEnd proves the whole path: ingress → Kafka → echo-ping trigger →
// echo in-process → pong back into the broker → an extra trigger → an HTTP sink.
func TestPingPongEndToEnd(t *testing.T) {
	t.Parallel()
	got := make(chan event.Event, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		e, err := binding.ToEvent(req.Context(), cehttp.NewMessageFromHttpRequest(req))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- *e
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(sink.Close)
	extra := writeFile(t, "pong-sink.yaml", `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: pong-sink
  namespace: catalyst
spec:
  broker: default
  filters:
    - exact:
        type: `+echo.PongType+`
  subscriber:
    uri: `+sink.URL+`
`)
	r := serve(t, extra)
	if !strings.Contains(r.out.String(), "Trigger/catalyst/pong-sink") {
		t.Errorf("summary does not list the extra trigger:\n%s", r.out.String())
	}

	req, err := http.NewRequest(http.MethodPost, r.p.IngressURL()+"/catalyst/default", strings.NewReader(`{"n":42}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "e2e-ping", "Ce-Type": echo.PingType, "Ce-Source": "/test",
		"Ce-Tenantid": "tenant-e2e", "Content-Type": "application/json", "Authorization": "Bearer " + testenv.PlatformToken,
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST ping = %d, want 202", resp.StatusCode)
	}
	select {
	case pong := <-got:
		if pong.Type() != echo.PongType || pong.Subject() != "e2e-ping" {
			t.Errorf("sink got %s subject %q, want %s subject e2e-ping", pong.Type(), pong.Subject(), echo.PongType)
		}
		if v := pong.Extensions()["tenantid"]; v != "tenant-e2e" {
			t.Errorf("pong tenantid = %v, want tenant-e2e", v)
		}
		if string(pong.Data()) != `{"n":42}` {
			t.Errorf("pong data = %s, want the ping's", pong.Data())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no pong reached the sink within 20s")
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	t.Parallel()
	r := serve(t)
	apiURL := r.p.APIURL()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve after cancel = %v, want nil", err)
		}
		r.done <- err // let the cleanup see it too
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of cancel")
	}
	if !strings.Contains(r.out.String(), "catalyst dev: stopped") {
		t.Errorf("output does not say stopped:\n%s", r.out.String())
	}
	if resp, err := http.Get(apiURL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("API still answering after Serve returned: %d", resp.StatusCode)
	}
}

func TestStartRejectsBrokenManifest(t *testing.T) {
	t.Parallel()
	extra := writeFile(t, "broken.yaml", `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: broken
  namespace: catalyst
spec:
  broker: default
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: missing
`)
	cfg, _, _ := testConfig(extra)
	p, err := dev.Start(context.Background(), cfg)
	if err == nil {
		t.Fatalf("Start succeeded (api %s) with a trigger referencing a missing Service", p.APIURL())
	}
	for _, want := range []string{"Trigger/catalyst/broken.spec.subscriber.ref", "catalyst/missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
}

func TestStartMissingRepo(t *testing.T) {
	t.Parallel()
	cfg, _, _ := testConfig()
	cfg.RepoDir = t.TempDir()
	if _, err := dev.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "brokers") {
		t.Errorf("Start in a directory without brokers/ = %v, want an error naming brokers", err)
	}
}

func TestStartAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	addr := busy.Addr().String()

	tests := []struct {
		name       string
		set        func(*dev.Config)
		wantPrefix string
	}{
		{"ingress", func(c *dev.Config) { c.IngressAddr = addr }, "ingress"},
		{"api", func(c *dev.Config) { c.APIAddr = addr }, "api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, _ := testConfig()
			tt.set(&cfg)
			p, err := dev.Start(context.Background(), cfg)
			if err == nil {
				t.Fatalf("Start succeeded (ingress %s, api %s) on a busy %s address", p.IngressURL(), p.APIURL(), tt.name)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("error %v is not EADDRINUSE", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantPrefix+":") || !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q should start with %q and name %s", err, tt.wantPrefix+":", addr)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// recorder keeps every log record's level and message.
type recorder struct {
	mu   sync.Mutex
	recs []string // "LEVEL message"
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) count(rec string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.recs {
		if s == rec {
			n++
		}
	}
	return n
}

// A deliberate stop (Ctrl-C cancels Serve's context) unbinds the SMS connector from
// the sandbox SMSC before the SMSC closes: no "connection lost" or rebind is logged.
func TestStopLogsNoLostConnection(t *testing.T) {
	t.Parallel()
	cfg, out, _ := testConfig()
	logs := &recorder{}
	cfg.Logger, cfg.SMSCAddr = slog.New(logs), "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := dev.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	waitFor(t, 20*time.Second, "the sandbox carrier's two binds", func() bool { return logs.count("INFO smpp bound") == 2 })
	logs.mu.Lock()
	before := len(logs.recs)
	logs.mu.Unlock()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30s of cancel")
	}
	if !strings.Contains(out.String(), "catalyst dev: stopped") {
		t.Errorf("output does not say stopped:\n%s", out.String())
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, rec := range logs.recs[before:] {
		if strings.Contains(rec, "lost") || strings.Contains(rec, "rebind") || strings.HasPrefix(rec, "WARN") || strings.HasPrefix(rec, "ERROR") {
			t.Errorf("shutdown logged %q", rec)
		}
	}
}
