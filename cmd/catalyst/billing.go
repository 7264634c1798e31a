package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

var billingCommands = []subcommand{
	{"rebuild", "reload every tenant's wallet account (Redis) from the ledger (PostgreSQL)"},
	{"verify", "check the ledger and the wallet agree (exit 1 when not)"},
	{"close-month", "charge contract minimums' shortfalls for a month (once per tenant and month)"},
}

var billingUsage = map[string]string{
	"rebuild": `usage: catalyst billing rebuild [flags]

Reloads every tenant's wallet account (Redis) from the ledger (PostgreSQL). Run it
with traffic stopped. Reads DATABASE_URL, REDIS_URL and CATALYST_REDIS_PREFIX.
`,
	"verify": `usage: catalyst billing verify [flags]

Checks every account's balance = opening + credits - debits, every currency sums to
zero, and the wallet matches the ledger (balances, blocked amounts, open
reservations); exits non-zero when anything is off. Reads DATABASE_URL, REDIS_URL and
CATALYST_REDIS_PREFIX.
`,
	"close-month": `usage: catalyst billing close-month -month YYYY-MM [flags]

Charges every contract tenant's shortfall below its monthly minimum, once per tenant
and month however often it runs. Reads DATABASE_URL, REDIS_URL and
CATALYST_REDIS_PREFIX.
`,
}

// runBilling runs `catalyst billing rebuild|verify|close-month`.
func runBilling(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		printSubcommands(out, "billing", billingCommands)
		return fmt.Errorf("billing: no subcommand")
	}
	if isHelp(args[0]) {
		printSubcommands(out, "billing", billingCommands)
		return flag.ErrHelp
	}
	usage, ok := billingUsage[args[0]]
	if !ok {
		printSubcommands(out, "billing", billingCommands)
		return fmt.Errorf("billing: unknown subcommand %q", args[0])
	}
	fs := newFlagSet(out, "billing "+args[0], usage)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	configDir := fs.String("config-dir", "config", "directory of the platform's configuration (rate-card.json)")
	var month, only *string
	if args[0] == "close-month" {
		month = fs.String("month", "", "the calendar month, YYYY-MM (required)")
		only = fs.String("tenant", "", "only this tenant")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("billing %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	if month != nil && *month == "" {
		return fmt.Errorf("billing close-month: -month YYYY-MM is required")
	}
	dbURL, redisURL := os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	if dbURL == "" || redisURL == "" {
		return fmt.Errorf("billing %s: DATABASE_URL and REDIS_URL must both be set (the ledger and the wallet)", args[0])
	}
	st, err := stores.Open(ctx, dbURL, redisURL, os.Getenv("CATALYST_REDIS_PREFIX"), postgres.WithLogger(log))
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
		fmt.Fprintln(out, "rebuild: run it with traffic stopped; reservations in flight are re-read from the ledger")
		n, err := engine.Rebuild(ctx)
		if err != nil && !errors.Is(err, charging.ErrUnloadable) {
			return err
		}
		if *asJSON {
			if err := json.NewEncoder(out).Encode(map[string]int{"accounts_loaded": n}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(out, "rebuilt: %d tenant accounts loaded into the wallet from the ledger\n", n)
		}
		return err // the tenants the wallet cannot hold, each named
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
	default: // close-month
		return closeMonth(ctx, engine, out, *month, *only, *asJSON)
	}
}

// closeMonth runs Engine.CloseMonth for one tenant or every tenant of the ledger.
func closeMonth(ctx context.Context, engine *charging.Engine, out io.Writer, month, only string, asJSON bool) error {
	tenants := []string{only}
	if only == "" {
		var err error
		if tenants, err = engine.LedgerTenants(ctx); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(out)
	for _, id := range tenants {
		c, err := engine.CloseMonth(ctx, id, month)
		if err != nil {
			return fmt.Errorf("close %s for tenant %s: %w", month, id, err)
		}
		switch {
		case asJSON:
			if err := enc.Encode(c); err != nil {
				return err
			}
		case c.Shortfall.IsPositive():
			state := "charged"
			if c.Owed {
				state = "OWED (the balance cannot cover it)"
			}
			fmt.Fprintf(out, "%s %s: minimum %s, spend %s, shortfall %s %s\n", id, month, c.Minimum, c.Spend, c.Shortfall, state)
		}
	}
	return nil
}
