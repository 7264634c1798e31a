package fnhttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver/httpservertest"
)

const wait = 5 * time.Second

// startServer runs a server on a free loopback port and returns it, the function that
// stops it (as SIGTERM would) and Run's result.
func startServer(t *testing.T, o Options, reg *prometheus.Registry) (*Server, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := NewServer("127.0.0.1:0", o, reg)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if s.Addr() == "" {
		t.Fatalf("server did not listen: %v", <-done)
	}
	return s, cancel, done
}

func runResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatal("Run did not return")
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// post sends a binary-mode event over the network.
func post(ctx context.Context, addr, id string) (*http.Response, error) {
	r := binaryRequest(id, "com.example.in", "/test")
	r.RequestURI = ""
	r.URL.Scheme, r.URL.Host = "http", addr
	return http.DefaultClient.Do(r.WithContext(ctx))
}

// readyz asks the server's own mux, which still answers after the listener has closed.
func readyz(s *Server) int {
	rec := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code
}

func TestServerEndpoints(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s, stop, done := startServer(t, Options{Name: "echo", Function: fn.HandlerFunc(echo), Metrics: NewMetrics(reg)}, reg)
	base := "http://" + s.Addr()

	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+p); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, code)
		}
	}
	if code, _ := get(t, base+"/"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", code)
	}
	res, err := post(context.Background(), s.Addr(), "n-1")
	if err != nil {
		t.Fatal(err)
	}
	assertReply(t, res, "n-1", "com.example.in")
	res.Body.Close()

	code, body := get(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `catalyst_function_events_received_total{function="echo"} 1`) {
		t.Errorf("GET /metrics = %d, want 200 with one received event:\n%s", code, body)
	}

	stop()
	if err := runResult(t, done); err != nil {
		t.Fatalf("Run = %v, want nil after a clean shutdown", err)
	}
	if readyz(s) != http.StatusServiceUnavailable {
		t.Error("readyz is still 200 after Run returned")
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("listener still accepts connections after Run returned")
	}
}

// blocking returns a function that signals entered and replies once release is closed.
func blocking(entered chan<- struct{}, release <-chan struct{}) fn.Function {
	return fn.HandlerFunc(func(ctx context.Context, e event.Event) (*event.Event, error) {
		entered <- struct{}{}
		<-release
		return echo(ctx, e)
	})
}

func TestServerGracefulShutdown(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	s, stop, done := startServer(t, Options{Name: "slow", Function: blocking(entered, release)}, nil)
	if readyz(s) != http.StatusOK {
		t.Fatal("not ready while serving")
	}

	type result struct {
		res *http.Response
		err error
	}
	inflight := make(chan result, 1)
	go func() {
		res, err := post(context.Background(), s.Addr(), "f-1")
		inflight <- result{res, err}
	}()
	<-entered
	stop() // SIGTERM

	deadline := time.Now().Add(wait)
	for readyz(s) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readyz did not turn 503 after shutdown began")
		}
		time.Sleep(time.Millisecond)
	}
	// The function is still blocked, so the drain cannot have finished.
	select {
	case err := <-done:
		t.Fatalf("Run returned %v with a request in flight", err)
	case r := <-inflight:
		t.Fatalf("in-flight request finished early: %+v", r)
	default:
	}

	close(release)
	r := <-inflight
	if r.err != nil {
		t.Fatalf("in-flight request failed: %v", r.err)
	}
	defer r.res.Body.Close()
	if r.res.StatusCode != http.StatusOK {
		t.Fatalf("in-flight status = %d, want 200", r.res.StatusCode)
	}
	assertReply(t, r.res, "f-1", "com.example.in")
	if err := runResult(t, done); err != nil {
		t.Fatalf("Run = %v, want nil after the drain", err)
	}
}

func TestServerDrainTimeout(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s, stop, done := startServer(t, Options{Name: "stuck", Function: blocking(entered, release), DrainTimeout: 50 * time.Millisecond}, nil)

	inflight := make(chan error, 1)
	go func() {
		res, err := post(context.Background(), s.Addr(), "f-1")
		if err == nil {
			res.Body.Close()
		}
		inflight <- err
	}()
	<-entered
	stop()
	if err := runResult(t, done); err == nil || !strings.Contains(err.Error(), "drain did not finish") {
		t.Fatalf("Run = %v, want a drain timeout error", err)
	}
	if err := <-inflight; err == nil {
		t.Error("in-flight request succeeded although its connection was closed at the drain timeout")
	}
}

func TestServerRunErrors(t *testing.T) {
	t.Parallel()
	s, stop, done := startServer(t, Options{Name: "echo", Function: fn.HandlerFunc(echo)}, nil)
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run = %v, want an error", err)
	}

	taken := NewServer(s.Addr(), Options{Name: "echo", Function: fn.HandlerFunc(echo)}, nil)
	if err := taken.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a taken address = %v, want a listen error", err)
	}
	if a := taken.Addr(); a != "" {
		t.Errorf("Addr after a failed listen = %q, want empty", a)
	}
	if readyz(taken) != http.StatusServiceUnavailable {
		t.Error("server that never listened reports ready")
	}

	stop()
	if err := runResult(t, done); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// A function's server cuts a body that stops arriving at its configured read
// timeout instead of holding the connection for ever.
func TestServerCutsASlowBody(t *testing.T) {
	t.Parallel()
	s, _, _ := startServer(t, Options{Name: "echo", Function: fn.HandlerFunc(echo),
		HTTP: httpserver.Config{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: time.Second}}, nil)
	c := httpservertest.Dial(t, s.Addr())
	_, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nCe-Specversion: 1.0\r\nCe-Id: 1\r\nCe-Type: t\r\nCe-Source: /s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"n\":")
	if err != nil {
		t.Fatal(err)
	}
	if httpservertest.StillOpen(c) {
		t.Fatalf("the connection of a slow body is still open after %s", httpservertest.Guard)
	}
}
