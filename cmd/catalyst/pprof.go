package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
)

// servePprof serves Go's profiler on its own listener, apart from the API (it must
// not be reachable where the API is), and returns a func that stops it.
func servePprof(addr string, log *slog.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	// A function's write timeout (5 min): /debug/pprof/profile?seconds=N needs N below it.
	srv := httpserver.New(mux, httpserver.FunctionDefaults(), log)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "error", err)
		}
	}()
	log.Info("profiler serving", "addr", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}
