package wallet

import (
	"context"
	"embed"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Redis is the Wallet shared by every billing replica. Each call is one Lua script,
// so it is atomic. Keys, with the tenant as a Redis Cluster hash tag so a tenant's
// keys share a slot:
//
//	P{T}:acct         hash currency, balance, blocked, suspended (0|1)
//	P{T}:res:ID       hash amount, currency, state, charged, charge_on_failure (0|1),
//	                  created_at, expires_at (Unix µs); settled ones expire after the retention,
//	                  or go at once when billing forgets them (the ledger has the settlement)
//	P{T}:open         zset ID → created_at: the reservations still reserved
//	P{T}:credit:KEY   string: a Credit key already applied (expires after the credit TTL)
//	Ptenants          set of loaded tenant ids
//	Pexpiry           zset T\x00ID → expires_at of every reserved reservation
//
// Ptenants and Pexpiry are global and the scripts touch them alongside a tenant's
// keys, so the wallet needs a single Redis node (or, in cluster mode, every key in
// one slot: a prefix of the form "{wallet}:" does that, at the cost of sharding).
// Amounts are decimal strings (ledger.Format); see decimal.lua for the arithmetic.
type Redis struct {
	client    redis.UniversalClient
	prefix    string
	now       func() time.Time
	retention string   // ms
	creditTTL string   // ms
	batch     *batcher // nil: one round trip per call
}

var _ Wallet = (*Redis)(nil)

// Option configures a Redis wallet.
type Option func(*Redis)

// WithClock sets the clock for CreatedAt (tests); time.Now by default.
func WithClock(now func() time.Time) Option { return func(r *Redis) { r.now = now } }

// WithRetention sets how long settled reservations are kept (DefaultRetention).
func WithRetention(d time.Duration) Option {
	return func(r *Redis) { r.retention = strconv.FormatInt(max(1, d.Milliseconds()), 10) }
}

// WithCreditTTL sets how long Credit keys are kept (DefaultCreditTTL).
func WithCreditTTL(d time.Duration) Option {
	return func(r *Redis) { r.creditTTL = strconv.FormatInt(max(1, d.Milliseconds()), 10) }
}

// WithBatching coalesces concurrent calls into pipelines, at most pipelines of them
// in flight (see batcher); 0 sends each call on its own. The default is
// DefaultPipelines.
func WithBatching(pipelines int) Option {
	return func(r *Redis) {
		r.batch = nil
		if pipelines > 0 {
			r.batch = newBatcher(r.client, pipelines, maxBatch)
		}
	}
}

// DefaultPipelines is how many pipelines a Redis wallet keeps in flight by default;
// maxBatch bounds the calls in one.
const (
	DefaultPipelines = 2
	maxBatch         = 256
)

// NewRedis returns a Redis wallet keeping its keys under prefix.
func NewRedis(client redis.UniversalClient, prefix string, opts ...Option) *Redis {
	r := &Redis{client: client, prefix: prefix, now: time.Now}
	WithRetention(DefaultRetention)(r)
	WithCreditTTL(DefaultCreditTTL)(r)
	WithBatching(DefaultPipelines)(r)
	for _, o := range opts {
		o(r)
	}
	return r
}

//go:embed lua/*.lua
var luaFS embed.FS

// script is one of lua/*.lua with decimal.lua's helpers in front.
func script(name string) *redis.Script {
	lib, err := luaFS.ReadFile("lua/decimal.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(lib) + string(body))
}

var (
	reserveScript = script("reserve")
	settleScript  = script("settle")
	creditScript  = script("credit")
	loadScript    = script("load")
	unloadScript  = script("unload")
	openScript    = script("open")
	expiredScript = script("expired")
	suspendScript = script("suspend")
	forgetScript  = script("forget")
)

func (w *Redis) base(tenant string) string { return w.prefix + "{" + tenant + "}:" }

func (w *Redis) tenantKeys(tenant, id string) []string {
	b := w.base(tenant)
	return []string{b + "acct", b + "res:" + id, b + "open", w.prefix + "expiry"}
}

// run runs a script and returns its reply, a flat array of strings (nil as "").
func (w *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) ([]string, error) {
	var v []any
	var err error
	if w.batch != nil {
		v, err = w.batch.do(ctx, s, keys, args)
	} else {
		v, err = s.Run(ctx, w.client, keys, args...).Slice()
	}
	if err != nil {
		return nil, w.redisErr(ctx, err)
	}
	return strs(v)
}

func strs(v []any) ([]string, error) {
	out := make([]string, len(v))
	for i, x := range v {
		switch x := x.(type) {
		case string:
			out[i] = x
		case nil:
		default:
			return nil, errs.E(errs.Internal, "wallet: script reply %d is %T, want a string", i, x)
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Internal, "wallet: empty script reply")
	}
	return out, nil
}

// redisErr classifies a failed call: the context's end, an error Redis answered
// (a script failing on corrupt data: Internal) or a transport failure (Unavailable).
func (w *Redis) redisErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctxErr(ctx.Err())
	}
	var re redis.Error
	if errors.As(err, &re) {
		return errs.Wrap(errs.Internal, err, "wallet: redis")
	}
	return errs.Wrap(errs.Unavailable, err, "wallet: redis")
}

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// parseAccount reads reply fields 1..4 (see reply() in decimal.lua).
func parseAccount(tenant string, f []string) (Account, error) {
	if len(f) < 5 {
		return Account{}, errs.E(errs.Internal, "wallet: script reply has %d fields, want an account", len(f))
	}
	bal, err1 := decimal.NewFromString(f[2])
	blk, err2 := decimal.NewFromString(f[3])
	if err := errors.Join(err1, err2); err != nil {
		return Account{}, errs.Wrap(errs.Internal, err, "wallet: account %q", tenant)
	}
	return Account{TenantID: tenant, Currency: f[1], Balance: bal, Blocked: blk,
		Available: bal.Sub(blk), Suspended: f[4] == "1"}, nil
}

// parseRes reads the 7 reservation fields in f (amount ... expires_at).
func parseRes(tenant, id string, f []string) (Reservation, error) {
	if len(f) < 7 {
		return Reservation{}, errs.E(errs.Internal, "wallet: reservation %q has %d fields", id, len(f))
	}
	amt, err1 := decimal.NewFromString(f[0])
	ch, err2 := decimal.NewFromString(f[3])
	c, err3 := strconv.ParseInt(f[5], 10, 64)
	e, err4 := strconv.ParseInt(f[6], 10, 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Reservation{}, errs.Wrap(errs.Internal, err, "wallet: reservation %q of %q", id, tenant)
	}
	return Reservation{ID: id, TenantID: tenant, Currency: f[1], Amount: amt, State: State(f[2]), Charged: ch,
		ChargeOnFailure: f[4] == "1", CreatedAt: time.UnixMicro(c).UTC(), ExpiresAt: time.UnixMicro(e).UTC()}, nil
}

// result turns a reserve or settle reply into a Result; req is the reservation to
// report when the reply carries none.
func result(req Reservation, f []string) (Result, error) {
	acct, err := parseAccount(req.TenantID, f)
	if err != nil {
		return Result{}, err
	}
	res := Result{Reservation: req, Outcome: Outcome(f[0]), Account: acct}
	if len(f) >= 12 {
		if res.Reservation, err = parseRes(req.TenantID, req.ID, f[5:]); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// Load implements Wallet.
func (w *Redis) Load(ctx context.Context, acct Account, open []Reservation) (bool, error) {
	acct, open, err := checkLoad(acct, open, w.now())
	if err != nil {
		return false, err
	}
	b := w.base(acct.TenantID)
	keys := make([]string, 4, 4+len(open))
	keys[0], keys[1], keys[2], keys[3] = b+"acct", b+"open", w.prefix+"expiry", w.prefix+"tenants"
	args := make([]any, 5, 5+5*len(open))
	args[0], args[1], args[2], args[3], args[4] = acct.TenantID, acct.Currency,
		ledger.Format(acct.Balance), ledger.Format(acct.Blocked), bit(acct.Suspended)
	for _, r := range open {
		keys = append(keys, b+"res:"+r.ID)
		args = append(args, r.ID, ledger.Format(r.Amount), bit(r.ChargeOnFailure), micros(r.CreatedAt), micros(r.ExpiresAt))
	}
	f, err := w.run(ctx, loadScript, keys, args...)
	if err != nil {
		return false, err
	}
	return f[0] == "done", nil
}

// Unload implements Wallet. Settled reservations and Credit keys stay until their
// TTLs (see unload.lua).
func (w *Redis) Unload(ctx context.Context, tenantID string) error {
	if err := checkTenant("unload", tenantID); err != nil {
		return err
	}
	b := w.base(tenantID)
	_, err := w.run(ctx, unloadScript, []string{b + "acct", b + "open", w.prefix + "expiry", w.prefix + "tenants"},
		tenantID, b+"res:")
	return err
}

// Account implements Wallet.
func (w *Redis) Account(ctx context.Context, tenantID string) (Account, error) {
	if err := checkTenant("account", tenantID); err != nil {
		return Account{}, err
	}
	v, err := w.client.HMGet(ctx, w.base(tenantID)+"acct", "currency", "balance", "blocked", "suspended").Result()
	if err != nil {
		return Account{}, w.redisErr(ctx, err)
	}
	if v[0] == nil {
		return Account{}, ErrNotLoaded
	}
	f, err := strs(append([]any{"done"}, v...))
	if err != nil {
		return Account{}, err
	}
	return parseAccount(tenantID, f)
}

// Reserve implements Wallet.
func (w *Redis) Reserve(ctx context.Context, r Reservation) (Result, error) {
	r, err := newReservation(r, w.now())
	if err != nil {
		return Result{}, err
	}
	f, err := w.run(ctx, reserveScript, w.tenantKeys(r.TenantID, r.ID), r.ID, r.TenantID,
		ledger.Format(r.Amount), r.Currency, bit(r.ChargeOnFailure), micros(r.CreatedAt), micros(r.ExpiresAt))
	if err != nil {
		return Result{}, err
	}
	return reserveResult(r, f)
}

func reserveResult(r Reservation, f []string) (Result, error) {
	switch f[0] {
	case "notloaded":
		return Result{}, ErrNotLoaded
	case "currency":
		return Result{}, currencyMismatch(r.Currency, f[1])
	}
	return result(r, f)
}

// Commit implements Wallet.
func (w *Redis) Commit(ctx context.Context, tenantID, id string, charged decimal.Decimal) (Result, error) {
	if err := checkSettle("commit", tenantID, id, charged); err != nil {
		return Result{}, err
	}
	f, err := w.run(ctx, settleScript, w.tenantKeys(tenantID, id), id, tenantID, string(Committed),
		ledger.Format(charged), w.retention)
	if err != nil {
		return Result{}, err
	}
	return settleResult(tenantID, id, charged, f)
}

// Release implements Wallet.
func (w *Redis) Release(ctx context.Context, tenantID, id string) (Result, error) {
	if err := checkSettle("release", tenantID, id, decimal.Zero); err != nil {
		return Result{}, err
	}
	f, err := w.run(ctx, settleScript, w.tenantKeys(tenantID, id), id, tenantID, string(Released), "0", w.retention)
	if err != nil {
		return Result{}, err
	}
	return settleResult(tenantID, id, decimal.Zero, f)
}

// Forget implements Wallet.
func (w *Redis) Forget(ctx context.Context, tenantID, id string) error {
	if err := checkSettle("forget", tenantID, id, decimal.Zero); err != nil {
		return err
	}
	_, err := w.run(ctx, forgetScript, []string{w.base(tenantID) + "res:" + id})
	return err
}

func settleResult(tenantID, id string, charged decimal.Decimal, f []string) (Result, error) {
	if f[0] == "notloaded" {
		return Result{}, ErrNotLoaded
	}
	res, err := result(Reservation{ID: id, TenantID: tenantID}, f)
	if err != nil {
		return Result{}, err
	}
	if res.Outcome == "overcharge" {
		return Result{}, overCharge(id, charged, res.Reservation.Amount)
	}
	return res, nil
}

// Credit implements Wallet.
func (w *Redis) Credit(ctx context.Context, tenantID, key string, amount decimal.Decimal) (Account, Outcome, error) {
	if err := checkCredit(tenantID, key, amount); err != nil {
		return Account{}, "", err
	}
	b := w.base(tenantID)
	f, err := w.run(ctx, creditScript, []string{b + "acct", b + "credit:" + key}, ledger.Format(amount), w.creditTTL)
	if err != nil {
		return Account{}, "", err
	}
	switch f[0] {
	case "notloaded":
		return Account{}, "", ErrNotLoaded
	case "overflow":
		return Account{}, "", overflow()
	}
	acct, err := parseAccount(tenantID, f)
	return acct, Outcome(f[0]), err
}

// SetSuspended implements Wallet.
func (w *Redis) SetSuspended(ctx context.Context, tenantID string, suspended bool) error {
	if err := checkTenant("suspend", tenantID); err != nil {
		return err
	}
	f, err := w.run(ctx, suspendScript, []string{w.base(tenantID) + "acct"}, bit(suspended))
	if err == nil && f[0] == "notloaded" {
		err = ErrNotLoaded
	}
	return err
}

// Open implements Wallet.
func (w *Redis) Open(ctx context.Context, tenantID string) ([]Reservation, error) {
	if err := checkTenant("open", tenantID); err != nil {
		return nil, err
	}
	b := w.base(tenantID)
	f, err := w.run(ctx, openScript, []string{b + "acct", b + "open"}, b+"res:")
	if err != nil {
		return nil, err
	}
	if f[0] == "notloaded" {
		return nil, ErrNotLoaded
	}
	out := make([]Reservation, 0, (len(f)-1)/8)
	for i := 1; i+8 <= len(f); i += 8 {
		r, err := parseRes(tenantID, f[i], f[i+1:i+8])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Expired implements Wallet.
func (w *Redis) Expired(ctx context.Context, now time.Time, limit int) ([]Reservation, error) {
	if err := checkExpired(limit); err != nil {
		return nil, err
	}
	f, err := w.run(ctx, expiredScript, []string{w.prefix + "expiry"}, micros(stamp(now)), limit, w.prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Reservation, 0, (len(f)-1)/9)
	for i := 1; i+9 <= len(f); i += 9 {
		r, err := parseRes(f[i], f[i+1], f[i+2:i+9])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Tenants implements Wallet.
func (w *Redis) Tenants(ctx context.Context) ([]string, error) {
	ts, err := w.client.SMembers(ctx, w.prefix+"tenants").Result()
	if err != nil {
		return nil, w.redisErr(ctx, err)
	}
	slices.Sort(ts)
	return ts, nil
}
