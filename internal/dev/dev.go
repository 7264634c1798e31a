// Package dev runs the whole platform in one process (`catalyst dev`): the broker
// runtime over the repository's manifests, every registered function in-process, and
// the HTTP API, on an embedded Kafka unless KAFKA_BROKERS names a real one.
package dev

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/api"
	"github.com/catalyst-cpaas/catalyst/internal/broker"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

// Config is `catalyst dev`'s flags and environment.
type Config struct {
	// RepoDir holds brokers/, triggers/ and knative/ (default ".").
	RepoDir string
	// ConfigDir holds config/*.yaml (default RepoDir/config).
	ConfigDir string
	// Manifests are extra files or directories, applied after the repository's (-f).
	Manifests []string
	// Unfused runs the firewall, billing authorize and billing settle as their
	// Sequences (triggers/unfused/) instead of the fused message-authorize and
	// message-settle (triggers/fused/), and serves every function on its own
	// loopback HTTP server, delivering to it over HTTP as a cluster does.
	Unfused     bool
	IngressAddr string // default :8081
	APIAddr     string // default :8080
	Kafka       broker.KafkaConfig
	// AdminToken authorises the tenant admin API (CATALYST_ADMIN_TOKEN); empty
	// generates one and prints it.
	AdminToken string
	// PlatformToken is the platform's credential at the broker ingress
	// (CATALYST_PLATFORM_TOKEN): function pods posting the platform's own event types
	// present it. Empty: those types are accepted only from the functions running
	// in-process, never over HTTP.
	PlatformToken string
	// DatabaseURL and RedisURL switch stores from in-memory to PostgreSQL and Redis.
	DatabaseURL string
	RedisURL    string
	// RedisPrefix starts every Redis key (default "catalyst:"; CATALYST_REDIS_PREFIX).
	RedisPrefix string
	// SMSCAddr, when set, starts the sandbox SMPP SMSC there (catalyst dev's
	// --smsc-addr, default :2775), accepting system_id "catalyst", password "secret".
	SMSCAddr string
	// SMSCReceiptDelay is how long the sandbox SMSC waits before a delivery receipt
	// (catalyst dev's --smsc-receipt-delay, default 1s; zero: at once).
	SMSCReceiptDelay time.Duration
	// MaxInFlight bounds each Trigger's concurrent deliveries (--max-in-flight;
	// 0: broker.DefaultMaxInFlight).
	MaxInFlight int
	// ReadCacheTTL keeps the request path's database reads (keys, tenants, billing
	// settings, rate cards, promos) that long (--read-cache; stores.CacheReads; 0: off).
	ReadCacheTTL time.Duration
	// InstanceID makes the consumers static group members (CATALYST_INSTANCE_ID;
	// broker.Options.InstanceID): a restarted catalyst dev resumes at once.
	InstanceID string
	// Limits throttle sending at the API (zero: api.DefaultLimits()).
	Limits api.Limits
	// HTTP bounds the API's and the ingress's connections (--http-*; zero fields:
	// httpserver.Defaults).
	HTTP httpserver.Config
	// ShutdownTimeout bounds the drain on Ctrl-C (default 30s).
	ShutdownTimeout time.Duration
	Out             io.Writer // what was started is printed here
	Logger          *slog.Logger
}

// Platform is a started `catalyst dev`.
type Platform struct {
	cfg      Config
	runtime  *broker.Runtime
	api      *api.Server
	ingressL net.Listener
	apiL     net.Listener
	stores   *stores.Stores
	billing  *charging.Engine
	// closeBilling flushes the billing and firewall engines' batches (before the
	// stores close).
	closeBilling func()
	// generatedToken is true when the admin token was generated (and is printed).
	generatedToken bool
	smsc           *smsc.Server
}

// Start loads and checks the manifests, starts Kafka and the broker runtime, and
// listens on the ingress and API addresses. Serve runs it.
func Start(ctx context.Context, cfg Config) (*Platform, error) {
	cfg = withDefaults(cfg)
	if err := broker.CheckPlatformToken(cfg.PlatformToken); err != nil {
		return nil, err
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, err
	}
	reg, err := functions.Registry()
	if err != nil {
		return nil, err
	}
	layout := "fused"
	if cfg.Unfused {
		layout = "unfused"
	}
	paths := []string{filepath.Join(cfg.RepoDir, "brokers"), filepath.Join(cfg.RepoDir, "triggers"),
		filepath.Join(cfg.RepoDir, "triggers", layout), filepath.Join(cfg.RepoDir, "knative")}
	set, err := manifest.Load(append(paths, cfg.Manifests...)...)
	if err != nil {
		return nil, err
	}
	st, err := stores.Open(ctx, cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix, postgres.WithLogger(cfg.Logger))
	if err != nil {
		return nil, err
	}
	st.CacheReads(cfg.ReadCacheTTL)
	engine, closeEngine, err := st.Billing(cfg.Logger, cfg.ConfigDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	wall, closeWall, err := st.Firewall(ctx, cfg.Logger, cfg.ConfigDir)
	if err != nil {
		closeEngine()
		st.Close()
		return nil, err
	}
	closeEngine = func(closeBilling func()) func() { return func() { closeWall(); closeBilling() } }(closeEngine)
	closeStores := func() { closeEngine(); st.Close() }
	// The sandbox SMSC starts first: the SMS connector binds to it as it is built.
	var sandbox *smsc.Server
	sandboxAddr := ""
	if cfg.SMSCAddr != "" {
		if sandbox, err = smsc.New(smsc.Config{Addr: cfg.SMSCAddr, Accounts: map[string]string{SandboxSystemID: SandboxPassword},
			ReceiptDelay: cfg.SMSCReceiptDelay, MagicNumbers: true, Logger: cfg.Logger}); err == nil {
			// Not ctx: the SMSC must outlive the signal until the SMS connector has
			// unbound (Serve closes it last), or the connector logs lost binds.
			err = sandbox.Start(context.WithoutCancel(ctx))
		}
		if err != nil {
			closeStores()
			return nil, fmt.Errorf("sandbox smsc: %w", err)
		}
		sandboxAddr = sandbox.Addr()
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rt, err := broker.New(ctx, broker.Options{
		Manifests: set,
		Registry:  reg,
		Deps: fn.Deps{Logger: cfg.Logger, ConfigDir: cfg.ConfigDir,
			Tenants: st.Tenants, Messages: st.Messages, Numbers: st.Numbers, SMSPending: st.SMSPending, SMSMOParts: st.SMSMOParts, SandboxSMSC: sandboxAddr,
			Billing: engine, Firewall: wall},
		Kafka:           cfg.Kafka,
		Registerer:      promReg,
		FunctionMetrics: fnhttp.NewMetrics(promReg),
		Logger:          cfg.Logger,
		// Unfused, every step is its own HTTP function, as in a cluster.
		FunctionsOverHTTP: cfg.Unfused,
		MaxInFlight:       cfg.MaxInFlight,
		InstanceID:        cfg.InstanceID,
		// Integrators post with their API keys; pods with the platform token.
		Ingress: broker.IngressAuth{PlatformToken: cfg.PlatformToken, Tenants: st.Tenants},
	})
	if err != nil {
		if sandbox != nil {
			_ = sandbox.Close()
		}
		closeStores()
		return nil, err
	}
	p := &Platform{cfg: cfg, runtime: rt, stores: st, closeBilling: closeEngine, smsc: sandbox, billing: engine}
	fail := func(err error) (*Platform, error) {
		p.close()
		return nil, err
	}
	emitter, err := rt.Emitter(manifest.DefaultNamespace, "default")
	if err != nil {
		return fail(fmt.Errorf("the API emits to broker catalyst/default: %w", err))
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken, p.generatedToken = newAdminToken(), true
		p.cfg.AdminToken = cfg.AdminToken
	}
	p.api = api.New(api.Options{
		Gatherer: promReg, Tenants: st.Tenants, Messages: st.Messages, Idempotency: st.Idempotency, Ledger: st.Ledger, Numbers: st.Numbers,
		Emitter: emitter, AdminToken: cfg.AdminToken, Logger: cfg.Logger,
		Limiter: st.Limiter, Limits: cfg.Limits,
		RateCards: st.RateCards, FXRates: st.FXRates, Promos: st.Promos, Charges: st.Charges, Billing: engine,
		Firewall: wall,
	})
	if p.ingressL, err = net.Listen("tcp", cfg.IngressAddr); err != nil {
		return fail(fmt.Errorf("ingress: %w", err))
	}
	if p.apiL, err = net.Listen("tcp", cfg.APIAddr); err != nil {
		return fail(fmt.Errorf("api: %w", err))
	}
	return p, nil
}

// Sandbox SMSC credentials (development only).
const (
	SandboxSystemID = "catalyst"
	SandboxPassword = "secret"
)

// close releases what Start acquired, for a failed start.
func (p *Platform) close() {
	if p.ingressL != nil {
		p.ingressL.Close()
	}
	if p.apiL != nil {
		p.apiL.Close()
	}
	p.runtime.Close()
	p.closeBilling()
	p.stores.Close()
	if p.smsc != nil {
		_ = p.smsc.Close()
	}
}

// newAdminToken makes a random admin token for a run that was given none.
func newAdminToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "cat_admin_" + hex.EncodeToString(b)
}

func withDefaults(c Config) Config {
	if c.RepoDir == "" {
		c.RepoDir = "."
	}
	if c.ConfigDir == "" {
		c.ConfigDir = filepath.Join(c.RepoDir, "config")
	}
	if c.IngressAddr == "" {
		c.IngressAddr = ":8081"
	}
	if c.APIAddr == "" {
		c.APIAddr = ":8080"
	}
	if c.Limits == (api.Limits{}) {
		c.Limits = api.DefaultLimits()
	}
	c.HTTP = c.HTTP.Or(httpserver.Defaults())
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// IngressURL is the base URL of the broker ingress (append /{namespace}/{broker}).
func (p *Platform) IngressURL() string { return "http://" + hostPort(p.ingressL.Addr()) }

// APIURL is the base URL of the HTTP API.
func (p *Platform) APIURL() string { return "http://" + hostPort(p.apiL.Addr()) }

// Serve runs until ctx ends, then drains: the ingress stops accepting, deliveries in
// flight finish or stay uncommitted, and Kafka closes.
func (p *Platform) Serve(ctx context.Context) error {
	ingress := httpserver.New(p.runtime, p.cfg.HTTP, p.cfg.Logger.With("server", "ingress"))
	apiSrv := httpserver.New(p.api, p.cfg.HTTP, p.cfg.Logger.With("server", "api"))
	errc := make(chan error, 3)
	go func() { errc <- serve(ingress, p.ingressL) }()
	go func() { errc <- serve(apiSrv, p.apiL) }()
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- p.runtime.Run(runCtx) }()
	p.api.SetReady(true)
	p.printSummary()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	case err = <-runDone:
		runDone <- err
	}
	p.api.SetReady(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
	defer cancel()
	_ = ingress.Shutdown(shutdownCtx)
	stopRun()
	if rerr := <-runDone; err == nil {
		err = rerr
	}
	_ = apiSrv.Shutdown(shutdownCtx)
	p.runtime.Close()
	p.closeBilling()
	p.stores.Close()
	if p.smsc != nil {
		_ = p.smsc.Close()
	}
	fmt.Fprintln(p.cfg.Out, "catalyst dev: stopped")
	return err
}

func serve(s *http.Server, l net.Listener) error {
	if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (p *Platform) printSummary() {
	w := p.cfg.Out
	kafka := "embedded (kfake, in memory)"
	switch {
	case !p.runtime.Kafka().Embedded():
		kafka = "external " + strings.Join(p.runtime.Kafka().Seeds(), ",")
	case p.cfg.Kafka.DataDir != "":
		kafka = "embedded (kfake, persisted in " + p.cfg.Kafka.DataDir + ")"
	}
	fmt.Fprintf(w, "  api:     %s  (GET /healthz, /metrics)\n", p.APIURL())
	fmt.Fprintf(w, "  ingress: %s/{namespace}/{broker}  (brokers: %s)\n", p.IngressURL(), strings.Join(p.runtime.Brokers(), ", "))
	fmt.Fprintf(w, "  kafka:   %s at %s\n", kafka, strings.Join(p.runtime.Kafka().Seeds(), ","))
	fmt.Fprintf(w, "  stores:  %s\n", p.stores.Description)
	if p.smsc != nil {
		fmt.Fprintf(w, "  smsc:    sandbox SMPP 3.4 at %s (system_id %s, password %s)\n", p.smsc.Addr(), SandboxSystemID, SandboxPassword)
	}
	if p.generatedToken {
		fmt.Fprintf(w, "  admin:   CATALYST_ADMIN_TOKEN was unset; this run's admin token is %s\n", p.cfg.AdminToken)
	} else {
		fmt.Fprintf(w, "  admin:   token from CATALYST_ADMIN_TOKEN\n")
	}
	if p.cfg.PlatformToken != "" {
		fmt.Fprintf(w, "  platform: token from CATALYST_PLATFORM_TOKEN (the ingress takes platform event types with it)\n")
	} else {
		fmt.Fprintf(w, "  platform: CATALYST_PLATFORM_TOKEN unset; the ingress takes platform event types from no one (integrators post with API keys)\n")
	}
	fmt.Fprintf(w, "  subscriptions (%d):\n", len(p.runtime.Subscriptions()))
	for _, s := range p.runtime.Subscriptions() {
		fmt.Fprintf(w, "    %s\n", s)
	}
	fmt.Fprintln(w, "catalyst dev: ready (Ctrl-C to stop)")
}

// hostPort renders a listener address usable in a URL (":8080" → "127.0.0.1:8080").
func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
