package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// accountList is a repeatable -account system_id:password flag.
type accountList map[string]string

func (a accountList) String() string { return fmt.Sprint(len(a), " accounts") }

func (a accountList) Set(v string) error {
	id, pw, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return fmt.Errorf("want system_id:password, got %q", v)
	}
	a[id] = pw
	return nil
}

// runSMSCSim runs the sandbox SMSC on its own, for demos, load tests and interop.
func runSMSCSim(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	accounts := accountList{}
	cfg := smsc.Config{Logger: log}
	fs := newFlagSet(out, "smsc-sim", `usage: catalyst smsc-sim [flags]

Runs the sandbox SMPP 3.4 SMSC on its own (catalyst dev starts one too): binds,
submit_sm, delivery receipts after a delay with a weighted outcome, MO. Ctrl-C stops it.
`)
	fs.StringVar(&cfg.Addr, "addr", ":2775", "listen address")
	fs.Var(accounts, "account", "system_id:password allowed to bind (repeatable; default catalyst:secret)")
	fs.DurationVar(&cfg.ReceiptDelay, "receipt-delay", time.Second, "delay before a delivery receipt")
	fs.IntVar(&cfg.Outcomes.Delivered, "delivered", 100, "weight of DELIVRD receipts")
	fs.IntVar(&cfg.Outcomes.Undelivered, "undelivered", 0, "weight of UNDELIV receipts")
	fs.IntVar(&cfg.Outcomes.Expired, "expired", 0, "weight of EXPIRED receipts")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the outcome draw")
	fs.BoolVar(&cfg.MagicNumbers, "magic-numbers", true, "destinations ending in 0000666 get UNDELIV, 0000777 EXPIRED, 0000888 a refused submit_sm (docs/loadgen.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(accounts) == 0 {
		accounts["catalyst"] = "secret"
	}
	cfg.Accounts = accounts
	s, err := smsc.New(cfg)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "smsc-sim: listening on %s (%d accounts, receipts after %s)\n", s.Addr(), len(accounts), cfg.ReceiptDelay)
	<-ctx.Done()
	return s.Close()
}
