package fnhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
)

// Server is the process a Knative Service pod runs for one function: the event handler
// on /, probes on /healthz and /readyz, and Prometheus metrics on /metrics.
type Server struct {
	srv   *http.Server
	log   *slog.Logger
	name  string
	drain time.Duration

	started   atomic.Bool
	ready     atomic.Bool
	listening chan struct{} // closed once Run has tried to listen
	addr      string        // set before listening is closed
	once      sync.Once
}

// NewServer builds a server for o.Function on addr (":8080", or ":0" in tests). reg is
// served on /metrics and is normally the registry o.Metrics was created on; nil leaves
// /metrics unserved.
func NewServer(addr string, o Options, reg *prometheus.Registry) *Server {
	o = o.withDefaults()
	s := &Server{log: o.Logger, name: o.Name, drain: o.DrainTimeout, listening: make(chan struct{})}

	mux := http.NewServeMux()
	mux.Handle("/", NewHandler(o))
	// Liveness: answering at all is the signal, so it never fails while the process runs;
	// failing it during a drain would make the kubelet kill in-flight work.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if reg != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}

	// Knative's queue-proxy enforces the request timeout in a cluster; these bound a
	// client that stalls (or a pod reached without the proxy) all the same.
	s.srv = httpserver.New(mux, o.HTTP, o.Logger)
	s.srv.Addr = addr
	return s
}

// Run listens and serves until ctx is done (the caller wires SIGTERM to it with
// signal.NotifyContext). It then reports not-ready, stops accepting connections and
// waits up to the drain timeout for in-flight events, whose contexts are not cancelled:
// Knative's preStop hook has already drained traffic, so what is running should finish.
// It returns nil after a clean drain, and an error if listening failed, serving failed
// or the drain timed out (remaining connections are then closed). Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("fnhttp: Server.Run called twice")
	}
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		s.once.Do(func() { close(s.listening) })
		return fmt.Errorf("fnhttp: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	// Ready once bound (connections wait in the listener's backlog), and before Addr
	// returns, so a caller that saw the address sees the server ready.
	s.ready.Store(true)
	s.once.Do(func() { close(s.listening) })

	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(ln) }()
	s.log.Info("serving function", "function", s.name, "addr", s.addr)

	select {
	case err := <-served:
		s.ready.Store(false)
		return fmt.Errorf("fnhttp: serve: %w", err)
	case <-ctx.Done():
	}

	s.ready.Store(false)
	s.log.Info("draining", "function", s.name, "timeout", s.drain)
	dctx, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	if err := s.srv.Shutdown(dctx); err != nil {
		_ = s.srv.Close()
		<-served
		return fmt.Errorf("fnhttp: drain did not finish within %s: %w", s.drain, err)
	}
	<-served // http.ErrServerClosed, expected after Shutdown
	s.log.Info("drained", "function", s.name)
	return nil
}

// Addr returns the address Run listens on, with the real port when it was given ":0".
// It waits until Run has tried to listen, so call it after starting Run; it returns ""
// if listening failed.
func (s *Server) Addr() string {
	<-s.listening
	return s.addr
}
