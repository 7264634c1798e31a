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
	"github.com/catalyst-cpaas/catalyst/internal/stores"
)

const billingUsage = `usage: catalyst billing <rebuild|verify|reconcile|adjust|close-month> [-json]

  rebuild   reload every tenant's wallet account (Redis) from the ledger (PostgreSQL)
  verify    check every account's balance = opening + credits - debits, every
            currency sums to zero, and the wallet matches the ledger (balances, blocked
            amounts, open reservations); exits non-zero when anything is off
  reconcile [-grace D]
            repair every wallet account apart from the ledger by reloading it from
            the ledger, with an audit record each (billing_repairs); with -grace
            (say 1m) it compares twice, D apart, and repairs only what stayed apart,
            so it is safe with traffic flowing (default 0: at once, traffic stopped)
  adjust -tenant ID -amount A -key K [-reference R]
            correct a tenant's balance in the ledger by A (negative takes money
            out, e.g. reversing a top-up), once per key, and reload its wallet
            account; the result must cover what is reserved and fit 20 integer digits
  close-month -month YYYY-MM [-tenant ID]
            charge every contract tenant's shortfall below its monthly minimum
            (once per tenant and month, however often it runs)

All read DATABASE_URL, REDIS_URL and CATALYST_REDIS_PREFIX.
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
	month := fs.String("month", "", "close-month: the calendar month, YYYY-MM")
	only := fs.String("tenant", "", "close-month: only this tenant; adjust: the tenant")
	amount := fs.String("amount", "", "adjust: the correction, a decimal string (negative takes money out)")
	key := fs.String("key", "", "adjust: the idempotency key (a ticket number, say)")
	reference := fs.String("reference", "", "adjust: free text for humans")
	grace := fs.Duration("grace", 0, "reconcile: repair only what stays apart this long (two passes)")
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
	case "close-month":
		return closeMonth(ctx, engine, out, *month, *only, *asJSON)
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
	}
	fmt.Fprint(out, billingUsage)
	return fmt.Errorf("billing: unknown subcommand %q", args[0])
}

// closeMonth runs Engine.CloseMonth for one tenant or every tenant of the ledger.
func closeMonth(ctx context.Context, engine *charging.Engine, out io.Writer, month, only string, asJSON bool) error {
	if month == "" {
		return fmt.Errorf("billing close-month: -month YYYY-MM is required")
	}
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
