package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/broker"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/readcache"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

// runFunction serves one registered function on $PORT (8080 when unset), as the
// container of its Knative Service does.
func runFunction(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := newFlagSet(out, "function", `usage: catalyst function [flags] NAME

Serves one registered function (see 'catalyst functions') over CloudEvents HTTP on
$PORT (default 8080), as the container of its Knative Service does: /healthz,
/readyz, /metrics, graceful shutdown on SIGTERM. Reads DATABASE_URL, REDIS_URL,
CATALYST_REDIS_PREFIX, CATALYST_READ_CACHE, K_SINK and CATALYST_PLATFORM_TOKEN.
`)
	configDir := fs.String("config", "config", "configuration directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: catalyst function [flags] NAME (one name; 'catalyst functions' lists them)")
	}
	name := fs.Arg(0)
	httpCfg, err := httpserver.FromEnv(httpserver.FunctionDefaults())
	if err != nil {
		return err
	}
	reg, err := functions.Registry()
	if err != nil {
		return err
	}
	def, ok := reg.Lookup(name)
	if !ok {
		return fmt.Errorf("function %q is not registered (have %v)", name, reg.Names())
	}
	log = log.With("function", name)
	st, err := stores.Open(ctx, os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL"), os.Getenv("CATALYST_REDIS_PREFIX"), postgres.WithLogger(log))
	if err != nil {
		return err
	}
	defer st.Close()
	ttl := readcache.DefaultTTL
	if v := os.Getenv("CATALYST_READ_CACHE"); v != "" {
		if ttl, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("CATALYST_READ_CACHE: %w", err)
		}
	}
	st.CacheReads(ttl)
	engine, closeEngine, err := st.Billing(log, *configDir)
	if err != nil {
		return err
	}
	defer closeEngine()
	wall, closeWall, err := st.Firewall(ctx, log, *configDir)
	if err != nil {
		return err
	}
	defer closeWall()
	deps := fn.Deps{Logger: log, ConfigDir: *configDir, Tenants: st.Tenants, Messages: st.Messages, Numbers: st.Numbers, SMSPending: st.SMSPending, SMSMOParts: st.SMSMOParts,
		Billing: engine, Firewall: wall}
	if sink := os.Getenv("K_SINK"); sink != "" { // set by a Knative SinkBinding
		// The platform token (from the catalyst-platform Secret) lets the ingress take
		// the platform's own event types (delivered, failed, inbound …) from this pod.
		token := os.Getenv("CATALYST_PLATFORM_TOKEN")
		if err := broker.CheckPlatformToken(token); err != nil {
			return err
		}
		deps.Emitter = &broker.HTTPEmitter{URL: sink, Token: token}
	}
	f, err := def.New(deps)
	if err != nil {
		return fmt.Errorf("construct %s: %w", name, err)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := fnhttp.NewServer(":"+port, fnhttp.Options{
		Name: name, Function: f, Logger: log, Metrics: fnhttp.NewMetrics(promReg), HTTP: httpCfg,
	}, promReg)
	log.Info("serving function", "addr", ":"+port)
	err = srv.Run(ctx)
	if c, ok := f.(interface{ Close() error }); ok { // connectors: unbind
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func listFunctions(_ context.Context, args []string, out io.Writer, _ *slog.Logger) error {
	fs := newFlagSet(out, "functions", "usage: catalyst functions\n\nLists the registered functions, one a line: name and description.\n")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("functions: unexpected argument %q", fs.Arg(0))
	}
	reg, err := functions.Registry()
	if err != nil {
		return err
	}
	for _, d := range reg.Definitions() {
		fmt.Fprintf(out, "%-20s %s\n", d.Name, d.Description)
	}
	return nil
}
