package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/loadgen"
)

// weightsFlag is a --mix or --outcomes value.
type weightsFlag struct{ w *loadgen.Weights }

func (f weightsFlag) String() string {
	if f.w == nil {
		return ""
	}
	return f.w.String()
}

func (f weightsFlag) Set(v string) error {
	w, err := loadgen.ParseWeights(v)
	if err != nil {
		return err
	}
	*f.w = w
	return nil
}

// loadgenConfig parses the flags of `catalyst loadgen`; getenv supplies
// CATALYST_ADMIN_TOKEN, isTerminal tells whether progress can be rewritten in place.
func loadgenConfig(args []string, out io.Writer, getenv func(string) string, isTerminal bool) (loadgen.Config, error) {
	cfg := loadgen.Config{}
	mix, _ := loadgen.ParseWeights(loadgen.DefaultMix)
	outcomes, _ := loadgen.ParseWeights(loadgen.DefaultOutcomes)
	cfg.Mix, cfg.Outcomes = mix, outcomes
	var progress bool
	fs := newFlagSet(out, "loadgen", "usage: catalyst loadgen [flags]\n\nDrives a running platform through its HTTP API: creates tenants, tops them up, sends SMS\nat a target rate and reports acceptance, delivery and latency (docs/loadgen.md).\n")
	fs.StringVar(&cfg.API, "api", loadgen.DefaultAPI, "platform HTTP API base URL")
	// The token's default is read after parsing: help must not print a secret.
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin bearer token (when not given: $CATALYST_ADMIN_TOKEN)")
	fs.IntVar(&cfg.Tenants, "tenants", loadgen.DefaultTenants, "tenants to create and spread the load over")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target messages per second over all tenants (0: as fast as --concurrency allows)")
	fs.DurationVar(&cfg.Duration, "duration", loadgen.DefaultDuration, "how long to send (or give --count)")
	fs.IntVar(&cfg.Count, "count", 0, "how many messages to send (instead of --duration)")
	fs.IntVar(&cfg.Concurrency, "concurrency", loadgen.DefaultConcurrency, "send requests in flight at most")
	fs.Var(weightsFlag{&cfg.Mix}, "mix", "weights of message shapes: gsm7, ucs2, long, flash")
	fs.Var(weightsFlag{&cfg.Outcomes}, "outcomes", "weights of sandbox outcomes: delivered, undelivered, expired, rejected")
	fs.BoolVar(&cfg.JSON, "json", false, "also print the result as one JSON line, last on stdout")
	fs.DurationVar(&cfg.Drain, "drain", loadgen.DefaultDrain, "how long to wait after the last send for messages to finish")
	fs.StringVar(&cfg.TopUp, "topup", loadgen.DefaultTopUp, "amount (EUR) credited to each tenant")
	fs.DurationVar(&cfg.PollEvery, "poll", time.Second, "how often to read each tenant's delivery stats; each read aggregates every message of the run, so long runs should poll less often")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of every draw (shapes, outcomes, numbers, texts)")
	fs.BoolVar(&progress, "progress", false, "rewrite a progress line every second even when stderr is not a terminal")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("loadgen: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["admin-token"] {
		cfg.AdminToken = getenv("CATALYST_ADMIN_TOKEN")
	}
	if set["count"] && set["duration"] {
		return cfg, errors.New("loadgen: --count and --duration: give one of them")
	}
	if set["count"] {
		cfg.Duration = 0
		if cfg.Count == 0 {
			return cfg, errors.New("loadgen: --count: want at least 1")
		}
	}
	if set["duration"] && cfg.Duration == 0 {
		return cfg, errors.New("loadgen: --duration: want more than 0")
	}
	if set["tenants"] && cfg.Tenants == 0 {
		return cfg, errors.New("loadgen: --tenants: want at least 1")
	}
	if set["concurrency"] && cfg.Concurrency == 0 {
		return cfg, errors.New("loadgen: --concurrency: want at least 1")
	}
	cfg.LiveProgress = progress || isTerminal
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("loadgen: %w", err)
	}
	return cfg, nil
}

// runLoadgen is `catalyst loadgen`.
func runLoadgen(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	cfg, err := loadgenConfig(args, out, os.Getenv, isTerminal(os.Stderr))
	if err != nil {
		return err
	}
	cfg.Logger = log
	_, err = loadgen.Run(ctx, cfg, out, os.Stderr)
	return err
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
