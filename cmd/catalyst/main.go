// Command catalyst is Catalyst's one binary: `catalyst dev` runs the whole platform in
// one process, `catalyst function NAME` serves one function as a Knative pod does, and
// `catalyst manifests` regenerates knative/ from config/scaling.yaml.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	// Rate cards' time bands name IANA zones; embed the zone database so a minimal
	// container image (ko's default base has none) prices them the same.
	_ "time/tzdata"
)

// command is one of the binary's commands; the usage lists them in this order.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error
}

// commands is filled in init: help reads it, so it cannot be its initialiser.
var commands []command

func init() {
	commands = []command{
		{"dev", "", "run the whole platform in one process (embedded Kafka unless KAFKA_BROKERS)", runDev},
		{"function", "NAME", "serve one function over CloudEvents HTTP on $PORT (as in a Knative pod)", runFunction},
		{"functions", "", "list the registered functions", listFunctions},
		{"manifests", "", "regenerate knative/ Services from config/scaling.yaml", runManifests},
		{"migrate", "", "apply pending PostgreSQL migrations to DATABASE_URL", runMigrate},
		{"billing", "SUBCOMMAND", "rebuild, verify, reconcile, adjust, close-month: the ledger (PostgreSQL) and the wallet (Redis)", runBilling},
		{"firewall", "SUBCOMMAND", "train, eval, split, replay: the firewall's content model and rule changes", runFirewall},
		{"smsc-sim", "", "run the sandbox SMPP SMSC (binds, submit_sm, receipts, MO)", runSMSCSim},
		{"loadgen", "", "drive a running platform through its HTTP API and report throughput and latency", runLoadgen},
		{"help", "[COMMAND [SUBCOMMAND]]", "this list, or a command's usage and flags", runHelp},
	}
}

func printUsage(out io.Writer) {
	fmt.Fprint(out, "usage: catalyst <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(out, "  %-28s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprint(out, "\nRun 'catalyst <command> -h' for a command's flags. Help needs no running service.\n")
}

func main() {
	// Notify installs a handler for SIGINT even when the process started with it
	// ignored (a background job of a script): Ctrl-C to the process group stops it
	// (tests/signal_test.go).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(os.Stderr, os.Getenv("CATALYST_LOG_LEVEL"))
	if err := run(ctx, os.Args[1:], os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "catalyst:", err)
		os.Exit(1)
	}
}

// run runs the command args name. A request for help is a success: its usage went to out.
func run(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if err := dispatch(ctx, args, out, log); err != nil && !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

func dispatch(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		printUsage(out)
		return fmt.Errorf("no command given")
	}
	if isHelp(args[0]) {
		return runHelp(ctx, args[1:], out, log)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], out, log)
		}
	}
	printUsage(out)
	return fmt.Errorf("unknown command %q", args[0])
}

// runHelp is `catalyst help [COMMAND [SUBCOMMAND]]`: the command's own -h.
func runHelp(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 || isHelp(args[0]) {
		printUsage(out)
		return flag.ErrHelp
	}
	if len(args) > 2 {
		return fmt.Errorf("help: want at most a command and a subcommand, got %q", args)
	}
	return dispatch(ctx, append(args, "-h"), out, log)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil || level == "" {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// envList splits a comma-separated environment variable, dropping empty entries.
func envList(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
