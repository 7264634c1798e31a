package charging

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// DefaultReconcileGrace is how long a difference between a tenant's wallet account
// and the ledger must persist before the reconciler repairs it: far longer than any
// billing step takes between its wallet call and its ledger post, so what is repaired
// is a step that will not finish (a settle dead-lettered after the wallet moved), not
// one in flight.
const DefaultReconcileGrace = time.Minute

// Reconciler repairs wallet accounts that disagree with the ledger (the truth): it
// compares every loaded tenant as verify does, and reloads from the ledger the
// accounts whose difference persisted across two passes at least Grace apart,
// writing an audit record (billing.Repair) for each. Run Pass periodically (the
// settle functions' sweep does); `catalyst billing reconcile` runs it once.
type Reconciler struct {
	engine *Engine
	grace  time.Duration

	mu   sync.Mutex
	seen map[string]sighting // tenant → the difference seen first, and when
}

type sighting struct {
	at        time.Time
	signature []string
}

// NewReconciler returns a reconciler repairing differences that persist for grace
// (0: at the first pass, for an operator who has stopped traffic).
func (e *Engine) NewReconciler(grace time.Duration) *Reconciler {
	return &Reconciler{engine: e, grace: grace, seen: map[string]sighting{}}
}

// Reconciliation is what one pass found and did.
type Reconciliation struct {
	Tenants int `json:"tenants"` // wallet accounts compared
	// Waiting are tenants apart from the ledger, not (yet) for Grace: a step may be in
	// flight; the next pass repairs them if the difference is still there.
	Waiting  []string         `json:"waiting"`
	Repaired []billing.Repair `json:"repaired"`
}

// Pass compares every loaded wallet account with the ledger and repairs those apart
// for Grace. One tenant's failure does not stop the others; the errors are joined.
func (r *Reconciler) Pass(ctx context.Context) (Reconciliation, error) {
	e := r.engine
	out := Reconciliation{Waiting: []string{}, Repaired: []billing.Repair{}}
	loaded, err := e.cfg.Wallet.Tenants(ctx)
	if err != nil {
		return out, err
	}
	sort.Strings(loaded)
	out.Tenants = len(loaded)
	now := e.cfg.Now()
	var failed []error
	apart := map[string]bool{}
	for _, id := range loaded {
		c, err := e.compareOne(ctx, id)
		if err != nil {
			failed = append(failed, fmt.Errorf("reconcile tenant %s: %w", id, err))
			continue
		}
		if len(c.problems) == 0 {
			continue
		}
		apart[id] = true
		persistent := r.persistent(id, c.signature, now)
		if len(persistent) == 0 {
			out.Waiting = append(out.Waiting, id)
			continue
		}
		rep, err := e.repair(ctx, id, c.problems)
		if err != nil {
			failed = append(failed, fmt.Errorf("reconcile tenant %s: %w", id, err))
			continue
		}
		r.forget(id)
		out.Repaired = append(out.Repaired, rep)
	}
	r.mu.Lock()
	for id := range r.seen {
		if !apart[id] {
			delete(r.seen, id) // back in agreement: the step finished
		}
	}
	r.mu.Unlock()
	return out, errors.Join(failed...)
}

// persistent returns the items of signature that were already there at a sighting
// at least grace ago (remembering this sighting when it is the first).
func (r *Reconciler) persistent(id string, signature []string, now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, ok := r.seen[id]
	if !ok {
		r.seen[id] = sighting{at: now, signature: signature}
		if r.grace > 0 {
			return nil
		}
		return signature
	}
	if now.Sub(first.at) < r.grace {
		return nil
	}
	var both []string
	for _, s := range signature {
		if slices.Contains(first.signature, s) {
			both = append(both, s)
		}
	}
	if len(both) == 0 {
		r.seen[id] = sighting{at: now, signature: signature} // other differences: start again
	}
	return both
}

func (r *Reconciler) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, id)
}

// compareOne compares one loaded tenant with the ledger.
func (e *Engine) compareOne(ctx context.Context, id string) (comparison, error) {
	t, err := e.cfg.Tenants.GetTenant(ctx, id)
	if err != nil {
		return comparison{}, err
	}
	b, err := e.cfg.Ledger.Balance(ctx, id, t.Currency)
	if err != nil {
		return comparison{}, err
	}
	return e.compare(ctx, id, pair{available: b.Available, reserved: b.Blocked}, true)
}

// repair reloads a tenant's wallet account from the ledger and records what it
// replaced (the audit).
func (e *Engine) repair(ctx context.Context, id string, problems []string) (billing.Repair, error) {
	before, err := e.cfg.Wallet.Account(ctx, id)
	if err != nil && !errors.Is(err, wallet.ErrNotLoaded) {
		return billing.Repair{}, err
	}
	open, err := e.cfg.Wallet.Open(ctx, id)
	if err != nil && !errors.Is(err, wallet.ErrNotLoaded) {
		return billing.Repair{}, err
	}
	acct, ledgerOpen, err := e.fromLedger(ctx, id)
	if err != nil {
		return billing.Repair{}, err
	}
	if err := unloadable(acct); err != nil {
		return billing.Repair{}, err
	}
	if err := e.cfg.Wallet.Unload(ctx, id); err != nil {
		return billing.Repair{}, err
	}
	if err := e.Load(ctx, id); err != nil {
		return billing.Repair{}, err
	}
	rep := billing.Repair{ID: uuid.NewString(), TenantID: id, At: e.cfg.Now(), Problems: problems,
		Wallet: state(before.Currency, before.Balance, before.Blocked, open),
		Ledger: state(acct.Currency, acct.Balance, acct.Blocked, ledgerOpen)}
	rep, err = e.cfg.Charges.RecordRepair(ctx, rep)
	if err != nil {
		return rep, errs.Wrap(errs.CodeOf(err), err, "billing: tenant %s repaired, its audit record not written", id)
	}
	e.cfg.Logger.WarnContext(ctx, "billing: wallet account repaired from the ledger", "tenant_id", id, "repair_id", rep.ID,
		"problems", problems, "wallet_balance", rep.Wallet.Balance, "ledger_balance", rep.Ledger.Balance)
	return rep, nil
}

func state(currency string, balance, blocked decimal.Decimal, open []wallet.Reservation) billing.AccountState {
	s := billing.AccountState{Currency: currency, Balance: ledger.Format(balance), Blocked: ledger.Format(blocked)}
	for _, r := range open {
		if s.Reservations == nil {
			s.Reservations = map[string]string{}
		}
		s.Reservations[r.ID] = ledger.Format(r.Amount)
	}
	return s
}

// Adjust corrects a tenant's balance in the ledger by amount (negative takes money
// out: a top-up reversed, a ledger balance the wallet cannot hold brought back into
// range) under an idempotency key, then reloads the tenant's wallet account from the
// ledger. The balance after it must be within what the wallet holds and cover what is
// reserved (Unprocessable on amount otherwise, nothing written). An operator's tool
// (`catalyst billing adjust`): the reload re-reads reservations in flight, so run it
// with the tenant's traffic stopped.
func (e *Engine) Adjust(ctx context.Context, tenantID, key, reference string, amount decimal.Decimal) (ledger.Transaction, error) {
	t, err := e.cfg.Tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return ledger.Transaction{}, err
	}
	bal, err := e.cfg.Ledger.Balance(ctx, tenantID, t.Currency)
	if err != nil {
		return ledger.Transaction{}, err
	}
	after := bal.Amount.Add(amount)
	refuse := func(reason string) error {
		return &errs.Error{Code: errs.Unprocessable, Message: "adjustment refused: " + reason,
			Fields: []errs.FieldViolation{{Field: "amount", Reason: reason}}}
	}
	switch {
	case amount.IsZero():
		return ledger.Transaction{}, refuse("must not be zero")
	case after.LessThan(bal.Blocked):
		return ledger.Transaction{}, refuse(fmt.Sprintf("the balance %s %s would not cover the %s reserved", ledger.Format(after), t.Currency, ledger.Format(bal.Blocked)))
	case after.GreaterThanOrEqual(walletLimit):
		return ledger.Transaction{}, refuse(fmt.Sprintf("the balance %s %s would exceed %d integer digits", ledger.Format(after), t.Currency, ledger.IntegerDigits))
	}
	tx, _, err := e.cfg.Ledger.Post(ctx, ledger.NewAdjustment(tenantID, "adjust:"+key, reference, amount, t.Currency))
	if err != nil {
		return tx, err
	}
	if err := e.cfg.Wallet.Unload(ctx, tenantID); err != nil {
		return tx, err
	}
	if err := e.Load(ctx, tenantID); err != nil {
		return tx, err
	}
	e.cfg.Logger.WarnContext(ctx, "billing: balance adjusted in the ledger", "tenant_id", tenantID, "transaction_id", tx.ID,
		"amount", ledger.Format(amount), "currency", t.Currency, "reference", reference)
	return tx, nil
}
