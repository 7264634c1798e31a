package wallet

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Defaults shared by the adapters.
const (
	// DefaultTTL is how long a reservation lasts when Reserve is given no ExpiresAt.
	DefaultTTL = 24 * time.Hour
	// DefaultRetention is how long a settled reservation is remembered unless
	// forgotten first, so a replayed Reserve, Commit or Release is answered Replayed or
	// Settled rather than redone. Billing forgets a reservation as soon as the ledger
	// has its settlement and answers older replays from the ledger; the window covers
	// the moment between the two, a settlement whose ledger post failed until its
	// retry, and free (zero) reservations, which the ledger does not record.
	DefaultRetention = 2 * time.Hour
	// DefaultCreditTTL is how long a Credit key is remembered.
	DefaultCreditTTL = 30 * 24 * time.Hour
)

// amountLimit is the first amount with more than ledger.IntegerDigits integer digits.
// Memory's Credit compares with it.
var amountLimit = decimal.New(1, ledger.IntegerDigits)

// invalid returns an Invalid error naming one field.
func invalid(op, field, reason string) error {
	return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("wallet %s: %s %s", op, field, reason),
		Fields: []errs.FieldViolation{{Field: field, Reason: reason}}}
}

// checkAmount rejects what the Lua scripts could not hold exactly: negative amounts,
// more than 18 fractional or 20 integer digits. It counts digits in the canonical
// string (which it returns, for Redis): cheaper than decimal comparisons, which
// rescale through big.Int powers, and this is on every call's path.
func checkAmount(op, field string, d decimal.Decimal) (string, error) {
	s := ledger.Format(d) // no exponent, no trailing fractional zeros
	if strings.HasPrefix(s, "-") {
		return "", invalid(op, field, "must not be negative")
	}
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) > ledger.Scale {
		return "", invalid(op, field, fmt.Sprintf("more than %d fractional digits", ledger.Scale))
	}
	if len(ip) > ledger.IntegerDigits {
		return "", invalid(op, field, fmt.Sprintf("more than %d integer digits", ledger.IntegerDigits))
	}
	return s, nil
}

// checkTenant rejects an empty tenant id and one holding NUL, which separates
// tenant from reservation id in the Redis expiry index.
func checkTenant(op, tenantID string) error {
	if tenantID == "" {
		return invalid(op, "tenant_id", "required")
	}
	if strings.ContainsRune(tenantID, 0) {
		return invalid(op, "tenant_id", "must not contain NUL")
	}
	return nil
}

func checkID(op, field, id string) error {
	if id == "" {
		return invalid(op, field, "required")
	}
	return nil
}

func checkCurrency(op, code string) error {
	if err := ledger.CheckCurrency(code); err != nil {
		return invalid(op, "currency", fmt.Sprintf("%q is not an ISO 4217 code", code))
	}
	return nil
}

// stamp is a time as both adapters store it: UTC, whole microseconds (Redis keeps
// Unix µs, exact in a Lua double and a sorted-set score).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newReservation checks Reserve's argument and returns the reservation as it is
// stored: created at r.CreatedAt (the caller's clock, which also dates the charge and
// its month; now when unset), expiring at r.ExpiresAt or CreatedAt+DefaultTTL,
// reserved, nothing charged, Amount normalized. An ExpiresAt in the past is accepted:
// the reservation is at once in Expired, and the caller releases it.
func newReservation(r Reservation, now time.Time) (Reservation, error) {
	const op = "reserve"
	if err := checkTenant(op, r.TenantID); err != nil {
		return r, err
	}
	if err := checkID(op, "id", r.ID); err != nil {
		return r, err
	}
	if err := checkCurrency(op, r.Currency); err != nil {
		return r, err
	}
	if _, err := checkAmount(op, "amount", r.Amount); err != nil {
		return r, err
	}
	r.Amount = ledger.Normalize(r.Amount)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.CreatedAt = stamp(r.CreatedAt)
	if r.ExpiresAt.IsZero() {
		r.ExpiresAt = r.CreatedAt.Add(DefaultTTL)
	}
	r.ExpiresAt = stamp(r.ExpiresAt)
	r.State, r.Charged = Reserved, decimal.Zero
	return r, nil
}

// checkLoad checks Load's arguments and returns the reservations as stored (tenant
// and currency filled in from acct when empty; CreatedAt defaulting to now, ExpiresAt
// to CreatedAt+DefaultTTL). acct.Available is ignored: it is Balance − Blocked.
func checkLoad(acct Account, open []Reservation, now time.Time) (Account, []Reservation, error) {
	const op = "load"
	if err := checkTenant(op, acct.TenantID); err != nil {
		return acct, nil, err
	}
	if err := checkCurrency(op, acct.Currency); err != nil {
		return acct, nil, err
	}
	if _, err := checkAmount(op, "balance", acct.Balance); err != nil {
		return acct, nil, err
	}
	if _, err := checkAmount(op, "blocked", acct.Blocked); err != nil {
		return acct, nil, err
	}
	if acct.Blocked.GreaterThan(acct.Balance) {
		return acct, nil, invalid(op, "blocked", "exceeds the balance")
	}
	sum := decimal.Zero
	seen := make(map[string]bool, len(open))
	out := make([]Reservation, len(open))
	for i, r := range open {
		field := fmt.Sprintf("open[%d]", i)
		switch {
		case r.TenantID != "" && r.TenantID != acct.TenantID:
			return acct, nil, invalid(op, field+".tenant_id", "is not the account's")
		case r.Currency != "" && r.Currency != acct.Currency:
			return acct, nil, invalid(op, field+".currency", "is not the account's")
		case r.State != "" && r.State != Reserved:
			return acct, nil, invalid(op, field+".state", "an open reservation is reserved")
		case seen[r.ID]:
			return acct, nil, invalid(op, field+".id", "duplicate")
		}
		if err := checkID(op, field+".id", r.ID); err != nil {
			return acct, nil, err
		}
		if _, err := checkAmount(op, field+".amount", r.Amount); err != nil {
			return acct, nil, err
		}
		seen[r.ID] = true
		sum = sum.Add(r.Amount)
		r.TenantID, r.Currency, r.State, r.Charged = acct.TenantID, acct.Currency, Reserved, decimal.Zero
		r.Amount = ledger.Normalize(r.Amount)
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.CreatedAt = stamp(r.CreatedAt)
		if r.ExpiresAt.IsZero() {
			r.ExpiresAt = r.CreatedAt.Add(DefaultTTL)
		}
		r.ExpiresAt = stamp(r.ExpiresAt)
		out[i] = r
	}
	if !sum.Equal(acct.Blocked) {
		return acct, nil, invalid(op, "blocked", fmt.Sprintf("is %s but the open reservations sum to %s",
			ledger.Format(acct.Blocked), ledger.Format(sum)))
	}
	acct.Balance, acct.Blocked = ledger.Normalize(acct.Balance), ledger.Normalize(acct.Blocked)
	acct.Available = ledger.Normalize(acct.Balance.Sub(acct.Blocked))
	return acct, out, nil
}

// checkSettle checks Commit's and Release's arguments.
func checkSettle(op, tenantID, id string, charged decimal.Decimal) error {
	if err := checkTenant(op, tenantID); err != nil {
		return err
	}
	if err := checkID(op, "id", id); err != nil {
		return err
	}
	_, err := checkAmount(op, "charged", charged)
	return err
}

func checkCredit(tenantID, key string, amount decimal.Decimal) error {
	const op = "credit"
	if err := checkTenant(op, tenantID); err != nil {
		return err
	}
	if err := checkID(op, "key", key); err != nil {
		return err
	}
	if _, err := checkAmount(op, "amount", amount); err != nil {
		return err
	}
	if amount.IsZero() {
		return invalid(op, "amount", "must be positive")
	}
	return nil
}

func checkExpired(limit int) error {
	if limit <= 0 {
		return invalid("expired", "limit", "must be positive")
	}
	return nil
}

// overCharge is Commit's answer to charged > the reserved amount.
func overCharge(id string, charged, amount decimal.Decimal) error {
	return invalid("commit", "charged", fmt.Sprintf("%s exceeds reservation %q's amount %s",
		ledger.Format(charged), id, ledger.Format(amount)))
}

// overflow is Credit's answer when the balance would outgrow 20 integer digits.
func overflow() error {
	return invalid("credit", "amount", fmt.Sprintf("the balance would exceed %d integer digits", ledger.IntegerDigits))
}

// currencyMismatch is Reserve's answer to a currency other than the account's.
func currencyMismatch(got, want string) error {
	return invalid("reserve", "currency", fmt.Sprintf("%s is not the account's currency %s", got, want))
}

// normalize drops trailing fractional zeros, so both adapters return the same
// decimal representation (Redis parses canonical strings).
func normalize(d decimal.Decimal) decimal.Decimal { return ledger.Normalize(d) }

// ctxErr wraps a context's error as a Timeout that still matches errors.Is(err,
// context.Canceled / DeadlineExceeded).
func ctxErr(err error) error { return errs.Wrap(errs.Timeout, err, "wallet") }
