package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

const billingUsage = `usage: catalyst billing <rebuild|verify> [-json]

  rebuild   reload every tenant's wallet account (Redis) from the ledger (PostgreSQL)
  verify    check every account's balance = opening + credits - debits, every
            currency sums to zero, and the wallet matches the ledger (balances, blocked
            amounts, open reservations); exits non-zero when anything is off

Both read DATABASE_URL and REDIS_URL.
`

// runBilling runs `catalyst billing rebuild|verify`.
func runBilling(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(out, billingUsage)
		return fmt.Errorf("billing: no subcommand")
	}
	fs := flag.NewFlagSet("billing "+args[0], flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	configDir := fs.String("config-dir", "config", "directory of the platform's configuration (rate-card.json)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dbURL, redisURL := os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	if dbURL == "" || redisURL == "" {
		return fmt.Errorf("billing %s: DATABASE_URL and REDIS_URL must both be set (the ledger and the wallet)", args[0])
	}
	st, err := stores.Open(ctx, dbURL, redisURL, os.Getenv("CATALYST_REDIS_PREFIX"))
	if err != nil {
		return err
	}
	defer st.Close()
	engine, closeEngine, err := st.Billing(log, *configDir)
	if err != nil {
		return err
	}
	defer closeEngine()
	switch args[0] {
	case "rebuild":
		n, err := engine.Rebuild(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(out).Encode(map[string]int{"accounts_loaded": n})
		}
		fmt.Fprintf(out, "rebuilt: %d tenant accounts loaded into the wallet from the ledger\n", n)
		return nil
	case "verify":
		rep, err := engine.Verify(ctx)
		if err != nil {
			return err
		}
		if rep.Problems == nil {
			rep.Problems = []string{}
		}
		if *asJSON {
			if err := json.NewEncoder(out).Encode(rep); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(out, "verified %d ledger accounts, %d tenants, %d open reservations: ", rep.Accounts, rep.Tenants, rep.OpenReservations)
			if len(rep.Problems) == 0 {
				fmt.Fprintln(out, "clean")
			} else {
				fmt.Fprintf(out, "%d problems\n", len(rep.Problems))
				for _, p := range rep.Problems {
					fmt.Fprintln(out, "  -", p)
				}
			}
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("billing verify: %d problems", len(rep.Problems))
		}
		return nil
	}
	fmt.Fprint(out, billingUsage)
	return fmt.Errorf("billing: unknown subcommand %q", args[0])
}
