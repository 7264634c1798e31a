// Package api is Catalyst's public HTTP API (on `catalyst dev --api-addr`). Today it
// serves the platform's health and metrics; the tenant and message endpoints land here.
package api

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server routes the API.
type Server struct {
	mux   *http.ServeMux
	ready atomic.Bool
}

// New returns the API with GET /healthz (200 once SetReady(true), else 503) and
// GET /metrics from gatherer.
func New(gatherer prometheus.Gatherer) *Server {
	s := &Server{mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return s
}

// SetReady flips /healthz: true once every part of the platform is serving, false
// while it drains on shutdown.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"starting"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}
