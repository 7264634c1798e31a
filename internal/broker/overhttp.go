package broker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
)

// loopbackClient delivers to the function servers: keep-alive connections enough for
// every delivery in flight (the default transport keeps 2 per host and would open
// and close one per event under load).
var loopbackClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second}}

// httpFunction is one function served on a loopback port by the handler a Knative
// pod runs (fnhttp), for Options.FunctionsOverHTTP.
type httpFunction struct {
	target *httpTarget
	srv    *http.Server
}

func (h *httpFunction) Close() error { return h.srv.Close() }

// overHTTP starts f's server once and answers the target that POSTs to it.
func (r *Runtime) overHTTP(f *functionTarget) (target, error) {
	if h, ok := r.servers[f.name]; ok {
		return h.target, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serve function %s over http: %w", f.name, err)
	}
	log := r.log.With("function", f.name)
	srv := httpserver.New(fnhttp.NewHandler(fnhttp.Options{Name: f.name, Function: f.fn, Logger: log, Metrics: r.opts.FunctionMetrics}),
		httpserver.FunctionDefaults(), log)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("function server stopped", "function", f.name, "error", err)
		}
	}()
	h := &httpFunction{target: &httpTarget{url: "http://" + l.Addr().String(), client: loopbackClient}, srv: srv}
	r.servers[f.name] = h
	return h.target, nil
}
