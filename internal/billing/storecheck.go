package billing

// The checks and normalizations every adapter of the stores in store.go applies
// before it writes (internal/inmem and internal/postgres share them, as they share
// numbers.Check), so both answer the same Invalid for the same input. They check only
// the stores' own invariants: ids, versions, dates, currencies and amount digits. A
// rate card's content is RateCard.Validate's business, done by the API.

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Charge page sizes (ChargeFilter.Limit).
const (
	DefaultChargeLimit = 100
	MaxChargeLimit     = 1000
)

// storeMaxIDLen bounds ids and codes, so a key stays an index entry.
const storeMaxIDLen = 200

// StoreTime is t as the stores keep it: UTC, microsecond precision (PostgreSQL's).
func StoreTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func storeTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := StoreTime(*t)
	return &v
}

func storeViolation(field, reason, format string, args ...any) *errs.Error {
	return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf(format, args...),
		Fields: []errs.FieldViolation{{Field: field, Reason: reason}}}
}

func storeCheckID(field, id string) error {
	switch {
	case id == "":
		return storeViolation(field, "required", "no %s", field)
	case len(id) > storeMaxIDLen:
		return storeViolation(field, fmt.Sprintf("at most %d bytes", storeMaxIDLen), "%s is too long", field)
	}
	return nil
}

// checkMoney rejects an amount NUMERIC(38,18) would have to round or could not hold.
func storeCheckMoney(field string, d decimal.Decimal) error {
	if n := ledger.Digits(d); n > ledger.Scale {
		return storeViolation(field, fmt.Sprintf("at most %d fractional digits", ledger.Scale), "%s %s has %d fractional digits", field, d, n)
	}
	if d.Abs().GreaterThanOrEqual(decimal.New(1, ledger.IntegerDigits)) {
		return storeViolation(field, fmt.Sprintf("at most %d integer digits", ledger.IntegerDigits), "%s %s is too large", field, d)
	}
	return nil
}

func storeCheckCurrency(field, code string) error {
	if err := ledger.CheckCurrency(code); err != nil {
		return storeViolation(field, "not an ISO 4217 currency code in upper case", "%s: %v", field, err)
	}
	return nil
}

// PrepareRateCard checks a card the store is about to write as version (1 for
// Create) and sets what the store owns: Version, CreatedAt (now) and the times in
// UTC microseconds. A zero EffectiveFrom means now.
func PrepareRateCard(c RateCard, version int, now time.Time) (RateCard, error) {
	if err := storeCheckID("rate_card_id", c.ID); err != nil {
		return RateCard{}, err
	}
	if c.EffectiveFrom.IsZero() {
		c.EffectiveFrom = now
	}
	c.EffectiveFrom = StoreTime(c.EffectiveFrom)
	c.Version, c.CreatedAt = version, StoreTime(now)
	return c, nil
}

// CheckUpdateTime is Update's immutability rule: a new version may not take effect
// before now, when the versions already effective must stay as they are.
func CheckUpdateTime(c RateCard, now time.Time) error {
	if c.EffectiveFrom.Before(StoreTime(now)) {
		return storeViolation("effective_from", "must not be before now: versions already in force are immutable",
			"rate card %s: effective_from %s is before now %s", c.ID, c.EffectiveFrom.Format(time.RFC3339Nano), StoreTime(now).Format(time.RFC3339Nano))
	}
	return nil
}

// ErrSameInstant is the stores' refusal of a version taking effect at the same
// instant as another card of its tenant: InForce could only choose between them by
// card id. (Versions of one card may: the highest wins.)
func ErrSameInstant(c RateCard) error {
	return storeViolation("effective_from", "another rate card of this tenant takes effect at the same time: choose another instant, or update that card",
		"rate card %s: tenant %s has another card effective at %s", c.ID, c.TenantID, c.EffectiveFrom.Format(time.RFC3339Nano))
}

// InheritTenant gives an updated card its card's tenant: a card is assigned to one
// tenant for life (an empty TenantID keeps it; another one is Invalid).
func InheritTenant(c *RateCard, tenantID string) error {
	if c.TenantID == "" {
		c.TenantID = tenantID
	}
	if c.TenantID != tenantID {
		return storeViolation("tenant_id", "a card's tenant cannot change", "rate card %s belongs to another tenant", c.ID)
	}
	return nil
}

// PrepareFXRate checks r for FXRates.Put and sets CreatedAt (now); a zero ValidFrom
// means now.
func PrepareFXRate(r FXRate, now time.Time) (FXRate, error) {
	if err := storeCheckCurrency("from", r.From); err != nil {
		return FXRate{}, err
	}
	if err := storeCheckCurrency("to", r.To); err != nil {
		return FXRate{}, err
	}
	if r.From == r.To {
		return FXRate{}, storeViolation("to", "must differ from from", "fx rate %s → %s: a currency converts to itself at 1", r.From, r.To)
	}
	if !r.Rate.IsPositive() {
		return FXRate{}, storeViolation("rate", "must be positive", "fx rate %s → %s: rate %s", r.From, r.To, r.Rate)
	}
	if err := storeCheckMoney("rate", r.Rate); err != nil {
		return FXRate{}, err
	}
	if r.ValidFrom.IsZero() {
		r.ValidFrom = now
	}
	r.ValidFrom, r.CreatedAt = StoreTime(r.ValidFrom), StoreTime(now)
	return r, nil
}

// CheckRateQuery checks FXRates.Rate's currencies.
func CheckRateQuery(from, to string) error {
	if err := storeCheckCurrency("from", from); err != nil {
		return err
	}
	return storeCheckCurrency("to", to)
}

// PreparePromo checks p for Promos.Create and sets Uses (0) and CreatedAt (now).
func PreparePromo(p Promo, now time.Time) (Promo, error) {
	if err := storeCheckID("code", p.Code); err != nil {
		return Promo{}, err
	}
	if err := storeCheckID("tenant_id", p.TenantID); err != nil {
		return Promo{}, err
	}
	switch p.Kind {
	case PromoFixed, PromoPercent, PromoFirstNFree:
	default:
		return Promo{}, storeViolation("kind", "fixed, percent or first_n_free", "promo %s: unknown kind %q", p.Code, p.Kind)
	}
	if p.Value.IsNegative() {
		return Promo{}, storeViolation("value", "must not be negative", "promo %s: value %s", p.Code, p.Value)
	}
	if p.Kind == PromoPercent && p.Value.GreaterThan(decimal.NewFromInt(100)) {
		return Promo{}, storeViolation("value", "a percentage, at most 100", "promo %s: value %s", p.Code, p.Value)
	}
	if err := storeCheckMoney("value", p.Value); err != nil {
		return Promo{}, err
	}
	if p.FreeCount < 0 || (p.Kind == PromoFirstNFree && p.FreeCount == 0) {
		return Promo{}, storeViolation("free_count", "positive for first_n_free, else 0 or more", "promo %s: free_count %d", p.Code, p.FreeCount)
	}
	if p.MaxUses < 0 {
		return Promo{}, storeViolation("max_uses", "0 (unlimited) or more", "promo %s: max_uses %d", p.Code, p.MaxUses)
	}
	p.ExpiresAt, p.Uses, p.CreatedAt = storeTimePtr(p.ExpiresAt), 0, StoreTime(now)
	return p, nil
}

// PromoCap is how many uses p can have (0: unlimited): MaxUses, and for first_n_free
// no more than FreeCount, since a later use would take nothing off.
func PromoCap(p Promo) int64 {
	limit := p.MaxUses
	if p.Kind == PromoFirstNFree && (limit == 0 || p.FreeCount < limit) {
		limit = p.FreeCount
	}
	return limit
}

// PromoUsable reports whether p can be used at t: not expired (t before ExpiresAt)
// and uses left.
func PromoUsable(p Promo, t time.Time) bool {
	if p.ExpiresAt != nil && !t.Before(*p.ExpiresAt) {
		return false
	}
	limit := PromoCap(p)
	return limit == 0 || p.Uses < limit
}

// CheckRedeem checks Promos.Redeem's arguments.
func CheckRedeem(code, tenantID, key string) error {
	if err := storeCheckID("code", code); err != nil {
		return err
	}
	if err := storeCheckID("tenant_id", tenantID); err != nil {
		return err
	}
	return storeCheckID("key", key)
}

// CheckTenantID checks a tenant id argument.
func CheckTenantID(tenantID string) error { return storeCheckID("tenant_id", tenantID) }

// PrepareSettings checks s for SettingsStore.Put and sets UpdatedAt (now).
func PrepareSettings(s Settings, now time.Time) (Settings, error) {
	if err := storeCheckID("tenant_id", s.TenantID); err != nil {
		return Settings{}, err
	}
	if err := storeCheckMoney("critical_level", s.CriticalLevel); err != nil {
		return Settings{}, err
	}
	if err := storeCheckMoney("suspend_level", s.SuspendLevel); err != nil {
		return Settings{}, err
	}
	s.Expiry, s.UpdatedAt = storeTimePtr(s.Expiry), StoreTime(now)
	if len(s.Alerts) > 0 {
		s.Alerts = slices.Clone(s.Alerts)
		for i := range s.Alerts {
			s.Alerts[i].At = StoreTime(s.Alerts[i].At)
		}
	}
	return s, nil
}

func storeCheckStatus(field string, st ChargeStatus) error {
	switch st {
	case ChargeReserved, ChargeCommitted, ChargeReleased:
		return nil
	}
	return storeViolation(field, "reserved, committed or released", "unknown charge status %q", st)
}

// PrepareCharge checks c for Charges.Record: an empty Status is reserved, a zero
// CreatedAt is now, times are kept in UTC microseconds.
func PrepareCharge(c Charge, now time.Time) (Charge, error) {
	if err := storeCheckID("tenant_id", c.TenantID); err != nil {
		return Charge{}, err
	}
	if err := storeCheckID("transaction_id", c.ID); err != nil {
		return Charge{}, err
	}
	if c.Status == "" {
		c.Status = ChargeReserved
	}
	if err := storeCheckStatus("status", c.Status); err != nil {
		return Charge{}, err
	}
	if err := storeCheckCurrency("currency", c.Currency); err != nil {
		return Charge{}, err
	}
	if err := storeCheckMoney("amount", c.Amount); err != nil {
		return Charge{}, err
	}
	if err := storeCheckMoney("charged", c.Charged); err != nil {
		return Charge{}, err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.CreatedAt, c.SettledAt = StoreTime(c.CreatedAt), storeTimePtr(c.SettledAt)
	return c, nil
}

// PrepareSettlements checks ss for Charges.Settle and returns them with a zero At set
// to now, and only the first settlement of each charge (the first wins).
func PrepareSettlements(ss []Settlement, now time.Time) ([]Settlement, error) {
	type key struct{ tenantID, id string }
	seen := make(map[key]bool, len(ss))
	out := make([]Settlement, 0, len(ss))
	for _, s := range ss {
		if err := storeCheckID("tenant_id", s.TenantID); err != nil {
			return nil, err
		}
		if err := storeCheckID("transaction_id", s.ID); err != nil {
			return nil, err
		}
		if s.CreatedAt.IsZero() {
			return nil, storeViolation("created_at", "the charge's created_at is required", "settlement of %s: no created_at", s.ID)
		}
		if s.Status != ChargeCommitted && s.Status != ChargeReleased {
			return nil, storeViolation("status", "committed or released", "settlement of %s: status %q", s.ID, s.Status)
		}
		if err := storeCheckMoney("charged", s.Charged); err != nil {
			return nil, err
		}
		if s.Status == ChargeReleased && !s.Charged.IsZero() {
			return nil, storeViolation("charged", "a released charge is charged nothing", "settlement of %s: released with charged %s", s.ID, s.Charged)
		}
		if s.At.IsZero() {
			s.At = now
		}
		s.CreatedAt, s.At = StoreTime(s.CreatedAt), StoreTime(s.At)
		if k := (key{s.TenantID, s.ID}); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// ChargeCursor is a decoded ChargeFilter.Cursor: the last charge of the previous page.
type ChargeCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether there is no cursor (the first page).
func (c ChargeCursor) IsZero() bool { return c.ID == "" }

// Before reports whether ch comes after the cursor in newest-first order (created_at
// descending, then ID descending byte-wise): (ch.CreatedAt, ch.ID) < (c.CreatedAt, c.ID).
func (c ChargeCursor) Before(ch Charge) bool {
	if !ch.CreatedAt.Equal(c.CreatedAt) {
		return ch.CreatedAt.Before(c.CreatedAt)
	}
	return ch.ID < c.ID
}

// EncodeChargeCursor returns the opaque cursor after ch: base64url (unpadded) of
// "<unix microseconds of CreatedAt>.<ID>".
func EncodeChargeCursor(ch Charge) string {
	raw := strconv.FormatInt(ch.CreatedAt.UnixMicro(), 10) + "." + ch.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Normalize checks f for Charges.List and returns it with Limit set to the page size
// and From/To in UTC microseconds, with its decoded cursor. A negative or too large
// Limit, an unknown Status or a malformed cursor is Invalid.
func (f ChargeFilter) Normalize() (ChargeFilter, ChargeCursor, error) {
	switch {
	case f.Limit < 0 || f.Limit > MaxChargeLimit:
		return f, ChargeCursor{}, storeViolation("limit", fmt.Sprintf("1 to %d", MaxChargeLimit), "limit %d out of range", f.Limit)
	case f.Limit == 0:
		f.Limit = DefaultChargeLimit
	}
	if f.Status != "" {
		if err := storeCheckStatus("status", f.Status); err != nil {
			return f, ChargeCursor{}, err
		}
	}
	if !f.From.IsZero() {
		f.From = StoreTime(f.From)
	}
	if !f.To.IsZero() {
		f.To = StoreTime(f.To)
	}
	if f.Cursor == "" {
		return f, ChargeCursor{}, nil
	}
	bad := storeViolation("cursor", "not a cursor this API returned", "malformed cursor %q", f.Cursor)
	raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
	if err != nil {
		return f, ChargeCursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return f, ChargeCursor{}, bad
	}
	return f, ChargeCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// NewRateCardID returns a new card id.
func NewRateCardID() string { return uuid.NewString() }
