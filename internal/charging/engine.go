// Package charging runs billing's two phases over the stores: authorize (rate a
// message with its tenant's rate card, then reserve the price on the tenant's wallet
// balance) and settle (commit the reservation on delivery — or on failure when the
// rate charges on failure — release it otherwise, or when it expires). Every step is
// idempotent on the message: the reservation id is the message id, the ledger keys
// are ReserveKey and SettleKey of it, so a replayed or duplicated event never charges
// twice. The wallet (Redis) is the hot path; the ledger (PostgreSQL) is the truth the
// wallet is loaded from whenever it lacks an account.
package charging

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/batch"
	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// DefaultReservationTTL is how long a reservation waits for its message's outcome
// before it expires and is released. It outlasts every carrier's receipt timeout
// (config/carriers.yaml), so only a lost outcome lets a reservation expire.
const DefaultReservationTTL = 2 * time.Hour

// Config holds the engine's stores. Ledger should be a ledger.Batcher so concurrent
// steps share database round trips.
type Config struct {
	Tenants  tenant.Store
	Cards    billing.RateCards
	FX       billing.FXRates
	Promos   billing.Promos
	Settings billing.SettingsStore
	Charges  billing.Charges
	Wallet   wallet.Wallet
	Ledger   ledger.Store
	Volume   Counter
	// DefaultCard, when set, prices the messages of a tenant with no rate card of its
	// own (the platform's public price list, config/rate-card.json).
	DefaultCard *billing.RateCard
	// DefaultFX, when set, are the exchange rates used for a pair the FX store has no
	// rate for (the platform's defaults, config/fx-rates.json).
	DefaultFX []billing.FXRate
	// ReservationTTL defaults to DefaultReservationTTL.
	ReservationTTL time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

// Engine is billing's logic; the billing functions are thin wrappers around it.
type Engine struct {
	cfg Config
	// charges and settles write one batch at a time (group commit): concurrent
	// batches waited on each other's locks.
	charges *batch.Batcher[billing.Charge]
	settles *batch.Batcher[billing.Settlement]
	// recent holds the charges this engine recorded and has not settled yet, so the
	// settle step of a fused process finds its charge without reading it back. Only
	// the fields fixed at authorization are used from it; a miss reads the store.
	recent *otter.Cache[chargeKey, billing.Charge]

	cardsMu sync.Mutex
	cards   map[cardVersion]billing.RateCard // versions are immutable once stored
}

type chargeKey struct{ tenantID, id string }

// recentCharges bounds Engine.recent: charges settled later than this many
// authorizations after theirs (receipts slower than that) are read back.
const recentCharges = 50_000

type cardVersion struct {
	id      string
	version int
}

// New returns an engine over cfg's stores; every store is required.
func New(cfg Config) (*Engine, error) {
	missing := ""
	switch {
	case cfg.Tenants == nil:
		missing = "tenants"
	case cfg.Cards == nil:
		missing = "rate cards"
	case cfg.FX == nil:
		missing = "FX rates"
	case cfg.Promos == nil:
		missing = "promos"
	case cfg.Settings == nil:
		missing = "settings"
	case cfg.Charges == nil:
		missing = "charges"
	case cfg.Wallet == nil:
		missing = "wallet"
	case cfg.Ledger == nil:
		missing = "ledger"
	case cfg.Volume == nil:
		missing = "volume counter"
	}
	if missing != "" {
		return nil, errs.E(errs.Unavailable, "billing: no %s store", missing)
	}
	if cfg.ReservationTTL <= 0 {
		cfg.ReservationTTL = DefaultReservationTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, cards: map[cardVersion]billing.RateCard{}, recent: otter.Must(&otter.Options[chargeKey, billing.Charge]{
		MaximumSize: recentCharges, ExpiryCalculator: otter.ExpiryWriting[chargeKey, billing.Charge](cfg.ReservationTTL)})}
	e.charges = batch.NewSerial(256, time.Millisecond, 1, cfg.Charges.Record)
	e.settles = batch.NewSerial(256, time.Millisecond, 1, cfg.Charges.Settle)
	return e, nil
}

// Close flushes pending charge records.
func (e *Engine) Close() {
	e.charges.Close()
	e.settles.Close()
}

// Wallet returns the engine's wallet (for the API's balance view).
func (e *Engine) Wallet() wallet.Wallet { return e.cfg.Wallet }

// card returns one version of a rate card, cached: a stored version never changes.
func (e *Engine) card(ctx context.Context, id string, version int) (billing.RateCard, error) {
	if d := e.cfg.DefaultCard; d != nil && d.ID == id && d.Version == version {
		return *d, nil
	}
	k := cardVersion{id, version}
	e.cardsMu.Lock()
	c, ok := e.cards[k]
	e.cardsMu.Unlock()
	if ok {
		return c, nil
	}
	versions, err := e.cfg.Cards.Versions(ctx, id)
	if err != nil {
		return billing.RateCard{}, err
	}
	e.cardsMu.Lock()
	defer e.cardsMu.Unlock()
	for _, v := range versions {
		e.cards[cardVersion{v.ID, v.Version}] = v
		if v.Version == version {
			c, ok = v, true
		}
	}
	if !ok {
		return billing.RateCard{}, errs.E(errs.NotFound, "rate card %s has no version %d", id, version)
	}
	return c, nil
}

// withAccount runs op, loading the tenant's account from the ledger into the wallet
// first when op reports it missing (a fresh wallet, a Redis restart).
func (e *Engine) withAccount(ctx context.Context, tenantID string, op func() (wallet.Result, error)) (wallet.Result, error) {
	r, err := op()
	if !errors.Is(err, wallet.ErrNotLoaded) {
		return r, err
	}
	if err := e.Load(ctx, tenantID); err != nil {
		return wallet.Result{}, err
	}
	return op()
}

// Load puts a tenant's account into the wallet from the ledger, unless it is there:
// the balance of its available and reserved accounts and its open reservations. A
// ledger account the wallet cannot hold (see Unloadable) is Unprocessable, naming the
// amounts, not the wallet's bare argument error.
func (e *Engine) Load(ctx context.Context, tenantID string) error {
	acct, open, err := e.fromLedger(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := unloadable(acct); err != nil {
		e.cfg.Logger.ErrorContext(ctx, "billing: wallet cannot hold the ledger's account", "tenant_id", tenantID, "error", err)
		return err
	}
	loaded, err := e.cfg.Wallet.Load(ctx, acct, open)
	if err != nil {
		return fmt.Errorf("billing: load tenant %s into the wallet: %w", tenantID, err)
	}
	if loaded {
		e.cfg.Logger.InfoContext(ctx, "wallet account loaded from the ledger", "tenant_id", tenantID,
			"balance", ledger.Format(acct.Balance), "blocked", ledger.Format(acct.Blocked), "open_reservations", len(open))
	}
	return nil
}

// fromLedger is a tenant's wallet account as the ledger has it.
func (e *Engine) fromLedger(ctx context.Context, tenantID string) (wallet.Account, []wallet.Reservation, error) {
	t, err := e.cfg.Tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return wallet.Account{}, nil, err
	}
	bal, err := e.cfg.Ledger.Balance(ctx, t.ID, t.Currency)
	if err != nil {
		return wallet.Account{}, nil, err
	}
	settings, err := e.cfg.Settings.Get(ctx, t.ID)
	if err != nil {
		return wallet.Account{}, nil, err
	}
	txs, err := e.cfg.Ledger.OpenReservations(ctx, t.ID)
	if err != nil {
		return wallet.Account{}, nil, err
	}
	acct := wallet.Account{TenantID: t.ID, Currency: t.Currency, Balance: bal.Amount, Suspended: settings.Suspended}
	open := make([]wallet.Reservation, 0, len(txs))
	for _, tx := range txs {
		r := wallet.Reservation{ID: tx.Reservation, TenantID: t.ID, Currency: t.Currency, CreatedAt: tx.At,
			ExpiresAt: tx.At.Add(e.cfg.ReservationTTL), State: wallet.Reserved}
		for _, p := range tx.Postings {
			if p.Account == ledger.TenantReserved(t.ID) && p.Currency == t.Currency {
				r.Amount = r.Amount.Add(p.Amount)
			}
		}
		if c, err := e.cfg.Charges.Get(ctx, t.ID, tx.Reservation); err == nil {
			r.ChargeOnFailure = c.Breakdown.ChargeOnFailure
		}
		acct.Blocked = acct.Blocked.Add(r.Amount)
		open = append(open, r)
	}
	acct.Available = acct.Balance.Sub(acct.Blocked)
	return acct, open, nil
}

// Account returns a tenant's wallet account, loading it from the ledger if needed.
func (e *Engine) Account(ctx context.Context, tenantID string) (wallet.Account, error) {
	a, err := e.cfg.Wallet.Account(ctx, tenantID)
	if errors.Is(err, wallet.ErrNotLoaded) {
		if err := e.Load(ctx, tenantID); err != nil {
			return wallet.Account{}, err
		}
		a, err = e.cfg.Wallet.Account(ctx, tenantID)
	}
	return a, err
}

// LedgerBalance returns a tenant's balance as the ledger has it.
func (e *Engine) LedgerBalance(ctx context.Context, tenantID, currency string) (ledger.Balance, error) {
	return e.cfg.Ledger.Balance(ctx, tenantID, currency)
}

// Settings returns a tenant's balance settings.
func (e *Engine) Settings(ctx context.Context, tenantID string) (billing.Settings, error) {
	return e.cfg.Settings.Get(ctx, tenantID)
}

// PutSettings stores a tenant's balance settings (levels, expiry, b2b) keeping the
// suspension state billing manages, and applies the suspension state to the wallet.
func (e *Engine) PutSettings(ctx context.Context, s billing.Settings) (billing.Settings, error) {
	out, _, err := e.swapSettings(ctx, s.TenantID, func(cur *billing.Settings) (bool, error) {
		next := s
		next.Suspended, next.LowNotified, next.Alerts, next.Version = cur.Suspended, cur.LowNotified, cur.Alerts, cur.Version
		*cur = next
		return true, nil
	})
	return out, err
}

var zero = decimal.Zero

// walletLimit is the first balance the wallet cannot hold (ledger.IntegerDigits
// integer digits).
var walletLimit = decimal.New(1, ledger.IntegerDigits)

// ErrUnloadable marks a tenant whose ledger account the wallet cannot hold: a balance
// of 10^20 or more (written before top-ups were checked against the limit), or a
// negative one. Such a tenant's messages are declined with the reason, its balance
// is answered from the ledger, and rebuild goes on past it; correcting the ledger
// (a reversing transaction) makes it usable again.
var ErrUnloadable = errors.New("the wallet cannot hold the tenant's ledger balance")

func unloadable(a wallet.Account) error {
	var why string
	switch {
	case a.Balance.GreaterThanOrEqual(walletLimit):
		why = fmt.Sprintf("more than %d integer digits", ledger.IntegerDigits)
	case a.Balance.IsNegative() || a.Available.IsNegative():
		why = "negative"
	default:
		return nil
	}
	return errs.Wrap(errs.Unprocessable, ErrUnloadable, "billing: tenant %s: the ledger holds a balance of %s %s (%s reserved), %s: correct the ledger before the tenant can spend",
		a.TenantID, ledger.Format(a.Balance), a.Currency, ledger.Format(a.Blocked), why)
}

// post records a billing step's ledger transaction. A Conflict (the key already
// records different postings: the reservation was settled the other way, or reserved
// at another price) is a final answer, not a race a retry could win: it becomes
// Unprocessable, which Knative does not retry (a 409 would be retried until
// dead-lettered). The wallet and the ledger are then apart; the reconciler repairs
// the wallet from the ledger.
func (e *Engine) post(ctx context.Context, tx ledger.Transaction) (ledger.Transaction, bool, error) {
	got, created, err := e.cfg.Ledger.Post(ctx, tx)
	if errs.CodeOf(err) == errs.Conflict {
		e.cfg.Logger.ErrorContext(ctx, "billing: ledger conflict: the step is final, the reconciler repairs the wallet",
			"tenant_id", tx.TenantID, "key", tx.Key, "kind", tx.Kind, "error", err)
		return got, created, errs.Wrap(errs.Unprocessable, err, "billing: ledger key %s of tenant %s already records another transaction", tx.Key, tx.TenantID)
	}
	return got, created, err
}

// DefaultCardFile is the platform's price list in the config directory.
const DefaultCardFile = "rate-card.json"

// LoadDefaultCard reads the platform's price list from dir/rate-card.json (nil, nil
// when there is none). Its id is "default" and its version 1 unless the file says.
func LoadDefaultCard(dir string) (*billing.RateCard, error) {
	body, err := os.ReadFile(filepath.Join(dir, DefaultCardFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: default rate card: %w", err)
	}
	c, err := billing.DecodeRateCard(body)
	if err != nil {
		return nil, fmt.Errorf("billing: %s: %w", filepath.Join(dir, DefaultCardFile), err)
	}
	if c.ID == "" {
		c.ID = "default"
	}
	if c.Version == 0 {
		c.Version = 1
	}
	return &c, nil
}
