package charging

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Report is what Verify found. Clean when Problems is empty.
type Report struct {
	Accounts         int      `json:"accounts"`
	Tenants          int      `json:"tenants"`
	OpenReservations int      `json:"open_reservations"`
	Problems         []string `json:"problems"`
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks the ledger against itself and the wallet against the ledger:
//   - every account's kept balance equals its credits minus its debits (the
//     opening balance is zero: nothing is archived yet);
//   - every currency's accounts sum to zero (each transaction is balanced);
//   - every tenant's wallet account (when loaded) has the ledger's balance, its
//     blocked amount equals the ledger's reserved account, and its open reservations
//     are exactly the ledger's (same ids, same amounts).
//
// It reads while traffic may flow, so a reservation in flight between the wallet
// and the ledger can show up; run it again, or quiesce first, before acting on one.
func (e *Engine) Verify(ctx context.Context) (Report, error) {
	var rep Report
	totals, err := e.cfg.Ledger.Accounts(ctx)
	if err != nil {
		return rep, err
	}
	rep.Accounts = len(totals)
	sums := map[string]decimal.Decimal{}
	tenants := map[string]*pair{}
	for _, t := range totals {
		if want := t.Credits.Sub(t.Debits); !t.Balance.Equal(want) {
			rep.problem("account %s %s: kept balance %s, postings sum to %s", t.Account, t.Currency, ledger.Format(t.Balance), ledger.Format(want))
		}
		sums[t.Currency] = sums[t.Currency].Add(t.Balance)
		if id, kind, ok := tenantAccount(t.Account); ok {
			p := tenants[id]
			if p == nil {
				p = &pair{}
				tenants[id] = p
			}
			if kind == "available" {
				p.available = p.available.Add(t.Balance)
			} else {
				p.reserved = p.reserved.Add(t.Balance)
			}
		}
	}
	for cur, s := range sums {
		if !s.IsZero() {
			rep.problem("currency %s: the accounts sum to %s, not 0", cur, ledger.Format(s))
		}
	}
	loaded, err := e.cfg.Wallet.Tenants(ctx)
	if err != nil {
		return rep, err
	}
	for _, id := range loaded {
		if tenants[id] == nil {
			tenants[id] = &pair{}
		}
	}
	ids := make([]string, 0, len(tenants))
	for id := range tenants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rep.Tenants = len(ids)
	inWallet := map[string]bool{}
	for _, id := range loaded {
		inWallet[id] = true
	}
	for _, id := range ids {
		c, err := e.compare(ctx, id, *tenants[id], inWallet[id])
		if err != nil {
			return rep, err
		}
		rep.OpenReservations += c.open
		rep.Problems = append(rep.Problems, c.problems...)
	}
	sort.Strings(rep.Problems)
	return rep, nil
}

// pair is a tenant's available and reserved accounts as the ledger sums them.
type pair struct{ available, reserved decimal.Decimal }

// comparison is what compare found for one tenant: its problems as verify words
// them, and their signature, which the reconciler compares between passes (an item
// that persists is no step in flight).
type comparison struct {
	open      int // the ledger's open reservations
	problems  []string
	signature []string
}

// compare checks one tenant's reserved account against its open reservations, and
// its wallet account (when loaded) against the ledger.
func (e *Engine) compare(ctx context.Context, id string, p pair, inWallet bool) (comparison, error) {
	var c comparison
	problem := func(sig, format string, args ...any) {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
		c.signature = append(c.signature, sig)
	}
	open, err := e.cfg.Ledger.OpenReservations(ctx, id)
	if err != nil {
		return c, err
	}
	c.open = len(open)
	held := decimal.Zero
	ledgerOpen := map[string]decimal.Decimal{}
	for _, tx := range open {
		for _, posting := range tx.Postings {
			if posting.Account == ledger.TenantReserved(id) {
				ledgerOpen[tx.Reservation] = ledgerOpen[tx.Reservation].Add(posting.Amount)
				held = held.Add(posting.Amount)
			}
		}
	}
	if !held.Equal(p.reserved) {
		problem("ledger-reserved:"+ledger.Format(p.reserved.Sub(held)), "tenant %s: reserved account %s, open reservations hold %s", id, ledger.Format(p.reserved), ledger.Format(held))
	}
	if !inWallet {
		return c, nil
	}
	acct, err := e.cfg.Wallet.Account(ctx, id)
	if err != nil {
		return c, err
	}
	if total := p.available.Add(p.reserved); !acct.Balance.Equal(total) {
		problem("balance:"+ledger.Format(acct.Balance.Sub(total)), "tenant %s: wallet balance %s, ledger %s", id, ledger.Format(acct.Balance), ledger.Format(total))
	}
	if !acct.Blocked.Equal(p.reserved) {
		problem("blocked:"+ledger.Format(acct.Blocked.Sub(p.reserved)), "tenant %s: wallet blocked %s, ledger reserved %s", id, ledger.Format(acct.Blocked), ledger.Format(p.reserved))
	}
	walletOpen, err := e.cfg.Wallet.Open(ctx, id)
	if err != nil {
		return c, err
	}
	seen := map[string]bool{}
	for _, r := range walletOpen {
		seen[r.ID] = true
		amt, ok := ledgerOpen[r.ID]
		switch {
		case !ok && r.Amount.IsPositive():
			problem("wallet-only:"+r.ID, "tenant %s: reservation %s (%s) is open in the wallet but not in the ledger", id, r.ID, ledger.Format(r.Amount))
		case ok && !amt.Equal(r.Amount):
			problem("amount:"+r.ID, "tenant %s: reservation %s holds %s in the wallet, %s in the ledger", id, r.ID, ledger.Format(r.Amount), ledger.Format(amt))
		}
	}
	for rid := range ledgerOpen {
		if !seen[rid] {
			problem("ledger-only:"+rid, "tenant %s: reservation %s is open in the ledger but not in the wallet", id, rid)
		}
	}
	return c, nil
}

// tenantAccount splits "tenant:<id>:available" or "tenant:<id>:reserved".
func tenantAccount(account string) (id, kind string, ok bool) {
	rest, ok := strings.CutPrefix(account, "tenant:")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", "", false
	}
	id, kind = rest[:i], rest[i+1:]
	return id, kind, kind == "available" || kind == "reserved"
}

// Rebuild reloads every tenant's wallet account from the ledger: those the ledger
// knows and those the wallet holds. Run it with traffic stopped (or accept that a
// tenant's in-flight reservations are re-read mid-flight). It returns how many
// accounts it loaded, and after loading every other one the tenants whose ledger
// account the wallet cannot hold (ErrUnloadable), joined.
func (e *Engine) Rebuild(ctx context.Context) (int, error) {
	known, err := e.LedgerTenants(ctx)
	if err != nil {
		return 0, err
	}
	ids := map[string]bool{}
	for _, id := range known {
		ids[id] = true
	}
	loaded, err := e.cfg.Wallet.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range loaded {
		ids[id] = true
	}
	n := 0
	var unusable []error
	for id := range ids {
		if err := e.cfg.Wallet.Unload(ctx, id); err != nil {
			return n, err
		}
		err := e.Load(ctx, id)
		switch {
		case errs.CodeOf(err) == errs.NotFound:
			continue // a deleted tenant: its money stays in the ledger, it cannot spend
		case errors.Is(err, ErrUnloadable):
			unusable = append(unusable, err) // the others are rebuilt all the same
			continue
		case err != nil:
			return n, fmt.Errorf("rebuild tenant %s: %w", id, err)
		}
		n++
	}
	return n, errors.Join(unusable...)
}

// LedgerTenants returns, sorted, every tenant the ledger holds money for.
func (e *Engine) LedgerTenants(ctx context.Context) ([]string, error) {
	totals, err := e.cfg.Ledger.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, t := range totals {
		if id, _, ok := tenantAccount(t.Account); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
