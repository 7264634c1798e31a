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
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

var billingCommands = []subcommand{
	{"rebuild", "reload every tenant's wallet account (Redis) from the ledger (PostgreSQL)"},
	{"verify", "check the ledger and the wallet agree (exit 1 when not)"},
	{"reconcile", "repair wallet accounts apart from the ledger, from the ledger, with an audit record each"},
	{"adjust", "correct a tenant's balance in the ledger (operators), once per key"},
	{"close-month", "charge contract minimums' shortfalls for a month (once per tenant and month)"},
}

var billingUsage = map[string]string{
	"reconcile": `usage: catalyst billing reconcile [flags]

Repairs every wallet account apart from the ledger by reloading it from the ledger,
with an audit record each (billing_repairs). With -grace (say 1m) it compares twice,
that long apart, and repairs only what stayed apart, so it is safe with traffic
flowing (default 0: at once, traffic stopped). Reads DATABASE_URL, REDIS_URL and
CATALYST_REDIS_PREFIX.
`,
	"adjust": `usage: catalyst billing adjust -tenant ID -amount A -key K [flags]

Corrects a tenant's balance in the ledger by A (negative takes money out, e.g.
reversing a top-up), once per key, and reloads its wallet account; the result must
cover what is reserved and fit 20 integer digits. Reads DATABASE_URL, REDIS_URL and
CATALYST_REDIS_PREFIX.
`,
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

// runBilling runs `catalyst billing rebuild|verify|reconcile|adjust|close-month`.
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
	var month, only, amount, key, reference *string
	var grace *time.Duration
	switch args[0] {
	case "close-month":
		month = fs.String("month", "", "the calendar month, YYYY-MM (required)")
		only = fs.String("tenant", "", "only this tenant")
	case "adjust":
		only = fs.String("tenant", "", "the tenant (required)")
		amount = fs.String("amount", "", "the correction, a decimal string (negative takes money out)")
		key = fs.String("key", "", "the idempotency key, a ticket number say (required)")
		reference = fs.String("reference", "", "free text for humans")
	case "reconcile":
		grace = fs.Duration("grace", 0, "repair only what stays apart this long (two passes)")
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
	case "reconcile":
		return reconcile(ctx, engine, out, *grace, *asJSON)
	case "adjust":
		if *only == "" || *key == "" {
			return fmt.Errorf("billing adjust: -tenant and -key are required")
		}
		a, err := ledger.ParseAmount(*amount)
		if err != nil {
			return fmt.Errorf("billing adjust: -amount: %w", err)
		}
		tx, err := engine.Adjust(ctx, *only, *key, *reference, a)
		if err != nil {
			return fmt.Errorf("billing adjust: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(out).Encode(tx)
		}
		fmt.Fprintf(out, "adjusted tenant %s by %s (transaction %s); its wallet account is reloaded from the ledger\n", *only, ledger.Format(a), tx.ID)
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

// reconcile runs the reconciler once, or twice grace apart.
func reconcile(ctx context.Context, engine *charging.Engine, out io.Writer, grace time.Duration, asJSON bool) error {
	r := engine.NewReconciler(grace)
	got, err := r.Pass(ctx)
	if err == nil && grace > 0 && len(got.Waiting) > 0 {
		fmt.Fprintf(out, "reconcile: %d tenants apart from the ledger; comparing again in %s\n", len(got.Waiting), grace)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(grace):
		}
		got, err = r.Pass(ctx)
	}
	if asJSON {
		if err := json.NewEncoder(out).Encode(got); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "reconciled %d wallet accounts: %d repaired from the ledger, %d still apart\n", got.Tenants, len(got.Repaired), len(got.Waiting))
		for _, rep := range got.Repaired {
			fmt.Fprintf(out, "  - tenant %s (repair %s): wallet %s %s → ledger %s %s\n", rep.TenantID, rep.ID, rep.Wallet.Balance, rep.Wallet.Currency, rep.Ledger.Balance, rep.Ledger.Currency)
			for _, p := range rep.Problems {
				fmt.Fprintln(out, "      ", p)
			}
		}
	}
	return err
}
