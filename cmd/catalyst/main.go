// Command catalyst is Catalyst's one binary: `catalyst dev` runs the whole platform in
// one process, `catalyst function NAME` serves one function as a Knative pod does, and
// `catalyst manifests` regenerates knative/ from config/scaling.yaml.
package main

import (
	"context"
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

const usage = `usage: catalyst <command> [flags]

commands:
  dev                 run the whole platform in one process (embedded Kafka unless KAFKA_BROKERS)
  function NAME       serve one function over CloudEvents HTTP on $PORT (as in a Knative pod)
  manifests           regenerate knative/ Services from config/scaling.yaml
  migrate             apply pending PostgreSQL migrations to DATABASE_URL
  billing rebuild     reload the wallet (Redis) from the ledger (PostgreSQL)
  billing verify      check the ledger and the wallet agree (exit 1 when not)
  billing reconcile   repair wallet accounts apart from the ledger, from the ledger
  billing adjust      correct a tenant's balance in the ledger (operators)
  billing close-month charge contract minimums' shortfalls for a month
  firewall train      train the firewall's content model on a labelled TSV
  firewall eval       spam caught, blocked ham, accuracy and MCC of a model on a labelled TSV
  firewall split      split a labelled TSV into training and held-out parts (stratified)
  firewall replay     re-decide stored firewall decisions under a changed rule set
  smsc-sim            run the sandbox SMPP SMSC (binds, submit_sm, receipts, MO)
  loadgen             drive a running platform through its HTTP API and report throughput and latency
  functions           list the registered functions

Run 'catalyst <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(os.Stderr, os.Getenv("CATALYST_LOG_LEVEL"))
	if err := run(ctx, os.Args[1:], os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "catalyst:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], out, log)
	case "function":
		return runFunction(ctx, args[1:], log)
	case "manifests":
		return runManifests(args[1:], out)
	case "smsc-sim":
		return runSMSCSim(ctx, args[1:], out, log)
	case "loadgen":
		return runLoadgen(ctx, args[1:], out, log)
	case "migrate":
		return runMigrate(ctx, out)
	case "billing":
		return runBilling(ctx, args[1:], out, log)
	case "firewall":
		return runFirewall(ctx, args[1:], out, log)
	case "functions":
		return listFunctions(out)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", args[0])
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
