package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/broker"
	"github.com/catalyst-cpaas/catalyst/internal/dev"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
	"github.com/catalyst-cpaas/catalyst/internal/readcache"
)

// fileList is a repeatable -f flag, like kubectl apply -f.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func runDev(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	var files fileList
	cfg := dev.Config{Out: out, Logger: log}
	fs := newFlagSet(out, "dev", `usage: catalyst dev [flags]

Runs the whole platform in one process: the broker over the repository's brokers/,
triggers/ and knative/ manifests, every function, the HTTP API and the sandbox SMSC.
Kafka is embedded unless KAFKA_BROKERS is set; stores are in memory unless
DATABASE_URL (PostgreSQL) and REDIS_URL (Redis) are. Ctrl-C (SIGINT) or SIGTERM drains
and stops it.
`)
	fs.StringVar(&cfg.IngressAddr, "ingress-addr", ":8081", "broker ingress address (POST /{namespace}/{broker})")
	fs.StringVar(&cfg.APIAddr, "api-addr", ":8080", "HTTP API address")
	fs.StringVar(&cfg.RepoDir, "repo", ".", "directory holding brokers/, triggers/ and knative/")
	fs.StringVar(&cfg.ConfigDir, "config", "", "configuration directory (default <repo>/config)")
	fs.StringVar(&cfg.SMSCAddr, "smsc-addr", ":2775", "sandbox SMPP SMSC address (empty: none)")
	fs.DurationVar(&cfg.SMSCReceiptDelay, "smsc-receipt-delay", time.Second, "how long the sandbox SMSC waits before each delivery receipt (0: at once)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", broker.DefaultMaxInFlight, "concurrent deliveries per Trigger (unordered); a Trigger's rate is about this over its delivery latency")
	fs.DurationVar(&cfg.ReadCacheTTL, "read-cache", readcache.DefaultTTL, "keep database reads of the request path (API keys, tenants, billing settings, rate cards, promos) this long; another process's writes show within it (0: off)")
	fs.BoolVar(&cfg.Unfused, "unfused", false, "run the firewall and billing as Sequences of one function per step (triggers/unfused/), each served over loopback HTTP, instead of the fused message-authorize and message-settle (triggers/fused/)")
	fs.StringVar(&cfg.Kafka.DataDir, "kafka-data-dir", "", "persist the embedded Kafka here so events survive a restart (default: memory)")
	fs.Var(&files, "f", "extra manifest file or directory, applied after the repository's (repeatable)")
	cfg.HTTP.Flags(fs.FlagSet, httpserver.Defaults())
	pprofAddr := fs.String("pprof-addr", "", "serve Go's profiler (/debug/pprof/) here, e.g. 127.0.0.1:6060 (default: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg.Manifests = files
	cfg.Kafka.Brokers = envList("KAFKA_BROKERS")
	cfg.DatabaseURL = os.Getenv("DATABASE_URL")
	cfg.AdminToken = os.Getenv("CATALYST_ADMIN_TOKEN")
	cfg.PlatformToken = os.Getenv("CATALYST_PLATFORM_TOKEN")
	cfg.RedisURL = os.Getenv("REDIS_URL")
	cfg.RedisPrefix = os.Getenv("CATALYST_REDIS_PREFIX")
	cfg.InstanceID = os.Getenv("CATALYST_INSTANCE_ID")
	p, err := dev.Start(ctx, cfg)
	if err != nil {
		return err
	}
	return p.Serve(ctx)
}
