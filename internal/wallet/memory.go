package wallet

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Memory is the in-process Wallet (catalyst dev, tests): one mutex over every
// account, exact decimal arithmetic. Settled reservations are remembered for
// DefaultRetention (or until forgotten) and Credit keys for DefaultCreditTTL on the
// injected clock, swept lazily, like the Redis adapter's key TTLs: what it holds is
// bounded by the open reservations and the last retention's settlements.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	accts     map[string]*memAccount
	res       map[memKey]*memRes // open and settled
	credits   map[memKey]time.Time
	sinceScan int
}

type memKey struct{ tenant, id string }

type memAccount struct {
	acct Account
	open map[string]bool
}

type memRes struct {
	r      Reservation
	forget time.Time // settled only: when the record goes
}

var _ Wallet = (*Memory)(nil)

// NewMemory returns an empty Memory wallet reading time from now (time.Now if nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, accts: map[string]*memAccount{}, res: map[memKey]*memRes{}, credits: map[memKey]time.Time{}}
}

// lock takes the mutex after checking ctx, and sweeps expired records every so often.
func (m *Memory) lock(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, ctxErr(err)
	}
	m.mu.Lock()
	now := m.now()
	if m.sinceScan++; m.sinceScan >= max(1024, len(m.res)+len(m.credits)) {
		m.sinceScan = 0
		for k, r := range m.res {
			if !r.forget.IsZero() && !now.Before(r.forget) {
				delete(m.res, k)
			}
		}
		for k, at := range m.credits {
			if !now.Before(at) {
				delete(m.credits, k)
			}
		}
	}
	return now, nil
}

// lookup returns a reservation record unless it is unknown or past its retention.
func (m *Memory) lookup(k memKey, now time.Time) *memRes {
	r := m.res[k]
	if r != nil && !r.forget.IsZero() && !now.Before(r.forget) {
		delete(m.res, k)
		return nil
	}
	return r
}

// Load implements Wallet.
func (m *Memory) Load(ctx context.Context, acct Account, open []Reservation) (bool, error) {
	now, err := m.lock(ctx)
	if err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	acct, open, err = checkLoad(acct, open, now)
	if err != nil {
		return false, err
	}
	if m.accts[acct.TenantID] != nil {
		return false, nil
	}
	a := &memAccount{acct: acct, open: make(map[string]bool, len(open))}
	for _, r := range open {
		a.open[r.ID] = true
		m.res[memKey{r.TenantID, r.ID}] = &memRes{r: r}
	}
	m.accts[acct.TenantID] = a
	return true, nil
}

// Unload implements Wallet. Like Redis, it keeps settled reservations and Credit
// keys: the ledger a reload comes from already holds their effects.
func (m *Memory) Unload(ctx context.Context, tenantID string) error {
	if err := checkTenant("unload", tenantID); err != nil {
		return err
	}
	if _, err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if a := m.accts[tenantID]; a != nil {
		for id := range a.open {
			delete(m.res, memKey{tenantID, id})
		}
		delete(m.accts, tenantID)
	}
	return nil
}

func (m *Memory) account(tenantID string) (*memAccount, error) {
	a := m.accts[tenantID]
	if a == nil {
		return nil, ErrNotLoaded
	}
	return a, nil
}

// Account implements Wallet.
func (m *Memory) Account(ctx context.Context, tenantID string) (Account, error) {
	if err := checkTenant("account", tenantID); err != nil {
		return Account{}, err
	}
	if _, err := m.lock(ctx); err != nil {
		return Account{}, err
	}
	defer m.mu.Unlock()
	a, err := m.account(tenantID)
	if err != nil {
		return Account{}, err
	}
	return a.acct, nil
}

// Reserve implements Wallet.
func (m *Memory) Reserve(ctx context.Context, r Reservation) (Result, error) {
	now, err := m.lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer m.mu.Unlock()
	if r, err = newReservation(r, now); err != nil {
		return Result{}, err
	}
	a, err := m.account(r.TenantID)
	if err != nil {
		return Result{}, err
	}
	if r.Currency != a.acct.Currency {
		return Result{}, currencyMismatch(r.Currency, a.acct.Currency)
	}
	k := memKey{r.TenantID, r.ID}
	if old := m.lookup(k, now); old != nil {
		return Result{Reservation: old.r, Outcome: Replayed, Account: a.acct}, nil
	}
	switch {
	case a.acct.Suspended:
		return Result{Reservation: r, Outcome: Refused, Account: a.acct}, nil
	case a.acct.Available.LessThan(r.Amount):
		return Result{Reservation: r, Outcome: Insufficient, Account: a.acct}, nil
	}
	a.setBlocked(a.acct.Blocked.Add(r.Amount))
	a.open[r.ID] = true
	m.res[k] = &memRes{r: r}
	return Result{Reservation: r, Outcome: Done, Account: a.acct}, nil
}

// setBlocked sets Blocked and derives Available, all normalized.
func (a *memAccount) setBlocked(b decimal.Decimal) {
	a.acct.Balance = normalize(a.acct.Balance)
	a.acct.Blocked = normalize(b)
	a.acct.Available = normalize(a.acct.Balance.Sub(b))
}

// Commit implements Wallet.
func (m *Memory) Commit(ctx context.Context, tenantID, id string, charged decimal.Decimal) (Result, error) {
	return m.settle(ctx, "commit", tenantID, id, Committed, charged)
}

// Release implements Wallet.
func (m *Memory) Release(ctx context.Context, tenantID, id string) (Result, error) {
	return m.settle(ctx, "release", tenantID, id, Released, decimal.Zero)
}

func (m *Memory) settle(ctx context.Context, op, tenantID, id string, to State, charged decimal.Decimal) (Result, error) {
	if err := checkSettle(op, tenantID, id, charged); err != nil {
		return Result{}, err
	}
	now, err := m.lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer m.mu.Unlock()
	a, err := m.account(tenantID)
	if err != nil {
		return Result{}, err
	}
	rec := m.lookup(memKey{tenantID, id}, now)
	switch {
	case rec == nil:
		return Result{Reservation: Reservation{ID: id, TenantID: tenantID}, Outcome: Unknown, Account: a.acct}, nil
	case rec.r.State == to:
		return Result{Reservation: rec.r, Outcome: Replayed, Account: a.acct}, nil
	case rec.r.State != Reserved:
		return Result{Reservation: rec.r, Outcome: Settled, Account: a.acct}, nil
	case charged.GreaterThan(rec.r.Amount):
		return Result{}, overCharge(id, charged, rec.r.Amount)
	}
	r := rec.r
	if to == Committed {
		a.acct.Balance = a.acct.Balance.Sub(charged)
		r.Charged = normalize(charged)
	}
	a.setBlocked(a.acct.Blocked.Sub(r.Amount))
	r.State = to
	delete(a.open, id)
	*rec = memRes{r: r, forget: now.Add(DefaultRetention)}
	return Result{Reservation: r, Outcome: Done, Account: a.acct}, nil
}

// Forget implements Wallet.
func (m *Memory) Forget(ctx context.Context, tenantID, id string) error {
	if err := checkSettle("forget", tenantID, id, decimal.Zero); err != nil {
		return err
	}
	if _, err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := memKey{tenantID, id}
	if r := m.res[k]; r != nil && r.r.State != Reserved {
		delete(m.res, k)
	}
	return nil
}

// Credit implements Wallet.
func (m *Memory) Credit(ctx context.Context, tenantID, key string, amount decimal.Decimal) (Account, Outcome, error) {
	if err := checkCredit(tenantID, key, amount); err != nil {
		return Account{}, "", err
	}
	now, err := m.lock(ctx)
	if err != nil {
		return Account{}, "", err
	}
	defer m.mu.Unlock()
	a, err := m.account(tenantID)
	if err != nil {
		return Account{}, "", err
	}
	k := memKey{tenantID, key}
	if at, ok := m.credits[k]; ok && now.Before(at) {
		return a.acct, Replayed, nil
	}
	b := a.acct.Balance.Add(amount)
	if b.GreaterThanOrEqual(amountLimit) {
		return Account{}, "", overflow()
	}
	a.acct.Balance = b
	a.setBlocked(a.acct.Blocked)
	m.credits[k] = now.Add(DefaultCreditTTL)
	return a.acct, Done, nil
}

// SetSuspended implements Wallet.
func (m *Memory) SetSuspended(ctx context.Context, tenantID string, suspended bool) error {
	if err := checkTenant("suspend", tenantID); err != nil {
		return err
	}
	if _, err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	a, err := m.account(tenantID)
	if err != nil {
		return err
	}
	a.acct.Suspended = suspended
	return nil
}

// Open implements Wallet.
func (m *Memory) Open(ctx context.Context, tenantID string) ([]Reservation, error) {
	if err := checkTenant("open", tenantID); err != nil {
		return nil, err
	}
	if _, err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	a, err := m.account(tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]Reservation, 0, len(a.open))
	for id := range a.open {
		out = append(out, m.res[memKey{tenantID, id}].r)
	}
	// Redis's sorted set order: by score (created µs), then by member (id) bytes.
	slices.SortFunc(out, func(x, y Reservation) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// Expired implements Wallet.
func (m *Memory) Expired(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if err := checkExpired(limit); err != nil {
		return nil, err
	}
	if _, err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	now = stamp(now)
	var out []Reservation
	for tenant, a := range m.accts {
		for id := range a.open {
			if r := m.res[memKey{tenant, id}].r; !r.ExpiresAt.After(now) {
				out = append(out, r)
			}
		}
	}
	// Redis's order: by expiry, then by member tenant+"\x00"+id.
	slices.SortFunc(out, func(x, y Reservation) int {
		return cmp.Or(x.ExpiresAt.Compare(y.ExpiresAt), cmp.Compare(x.TenantID+"\x00"+x.ID, y.TenantID+"\x00"+y.ID))
	})
	return out[:min(limit, len(out))], nil
}

// Tenants implements Wallet.
func (m *Memory) Tenants(ctx context.Context) ([]string, error) {
	if _, err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.accts))
	for t := range m.accts {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}
