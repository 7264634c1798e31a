package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// IntegerDigits is the most digits an amount may have before its decimal point:
// NUMERIC(38,18) leaves 38 − Scale. A larger amount is Invalid in every adapter, not
// an overflow in one of them.
const IntegerDigits = 38 - Scale

var (
	ten       = big.NewInt(10)
	amountMax = decimal.New(1, IntegerDigits) // the first amount too large to store
)

// Normalize returns d with its trailing fractional zeros removed: the same value, in
// the fewest digits (10.500 becomes 10.5, 1.000 becomes 1). Stores return normalized
// amounts, so what one adapter reads back looks exactly like what another does.
func Normalize(d decimal.Decimal) decimal.Decimal {
	exp := d.Exponent()
	if exp >= 0 {
		return d
	}
	coef := d.Coefficient()
	if coef.Sign() == 0 {
		return decimal.Zero
	}
	q, r := new(big.Int), new(big.Int)
	for exp < 0 {
		q.QuoRem(coef, ten, r)
		if r.Sign() != 0 {
			break
		}
		coef, q = q, coef
		exp++
	}
	return decimal.NewFromBigInt(coef, exp)
}

// Digits returns the number of fractional digits d needs: its fractional digits once
// trailing zeros are removed (Digits of 1.50 is 1, of 3 is 0, of 0.000001 is 6). An
// amount is storable when Digits(amount) <= Scale.
func Digits(d decimal.Decimal) int32 {
	if exp := Normalize(d).Exponent(); exp < 0 {
		return -exp
	}
	return 0
}

// checkAmount says what is wrong with an amount a caller gave, or "" when it has at
// most Scale fractional digits and at most IntegerDigits integer digits.
func checkAmount(d decimal.Decimal) string {
	if n := Digits(d); n > Scale {
		return fmt.Sprintf("%d fractional digits, at most %d allowed (amounts are never rounded)", n, Scale)
	}
	if d.Abs().GreaterThanOrEqual(amountMax) {
		return fmt.Sprintf("more than %d integer digits", IntegerDigits)
	}
	return ""
}

var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// ParseAmount parses an amount written as a plain decimal string: an optional minus
// sign, digits, and optionally a point followed by digits ("10", "-0.5", "0.016929").
// Exponents ("1e3"), a plus sign, a bare point (".5", "5."), spaces, "NaN" and
// "Inf" are Invalid, and so is an amount with more than Scale fractional digits once
// trailing zeros are dropped (it would need rounding) or more than IntegerDigits
// integer digits (it would not fit NUMERIC(38,18)).
func ParseAmount(s string) (decimal.Decimal, error) {
	if !plainDecimal.MatchString(s) {
		return decimal.Decimal{}, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("amount %q is not a plain decimal number", s),
			Fields: []errs.FieldViolation{{Field: "amount", Reason: "want digits with an optional sign and decimal point, no exponent"}}}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errs.Wrap(errs.Invalid, err, "amount %q", s)
	}
	if reason := checkAmount(d); reason != "" {
		return decimal.Decimal{}, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("amount %q: %s", s, reason),
			Fields: []errs.FieldViolation{{Field: "amount", Reason: reason}}}
	}
	return d, nil
}

// Format returns d's canonical string, the form amounts take in events, APIs and
// logs: plain decimal notation (never an exponent), a leading "-" when negative, no
// trailing fractional zeros and no trailing point ("10.5", "0.016929", "3", "0").
// It does not round: Format of an amount with more than Scale fractional digits shows
// them all. ParseAmount(Format(d)) equals d for every storable amount.
func Format(d decimal.Decimal) string { return d.String() }

// CheckCurrency returns nil when code is an ISO 4217 currency code in upper case
// ("EUR"), else Invalid with the field "currency". "XXX" (no currency) is Invalid.
func CheckCurrency(code string) error {
	if reason := currencyProblem(code); reason != "" {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("currency %q: %s", code, reason),
			Fields: []errs.FieldViolation{{Field: "currency", Reason: reason}}}
	}
	return nil
}

func currencyProblem(code string) string {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return "want a three-letter ISO 4217 code in upper case"
	}
	u, err := currency.ParseISO(code)
	if err != nil || u.String() != code {
		return "not an ISO 4217 currency code"
	}
	if code == "XXX" {
		return "XXX means no currency"
	}
	return ""
}

// CheckBalance checks Store.Balance's arguments: a tenant id and a currency
// (CheckCurrency). Either missing or wrong is Invalid.
func CheckBalance(tenantID, code string) error {
	if tenantID == "" {
		return &errs.Error{Code: errs.Invalid, Message: "balance: no tenant id",
			Fields: []errs.FieldViolation{{Field: "tenant_id", Reason: "required"}}}
	}
	return CheckCurrency(code)
}

// Validate checks tx as every Store checks it before recording it: TenantID, Key and
// Kind are set; there are at least two postings; each posting has an account, an
// upper-case ISO 4217 currency and a non-zero amount with at most Scale fractional
// digits (Digits) and IntegerDigits integer digits; and the postings sum to exactly
// zero in each currency (a transaction may move several currencies, each balanced on
// its own). ID, At and Reference are not checked. Every problem found is reported as
// an errs.FieldViolation with the field's JSON path ("postings[1].amount"); the
// error's code is Invalid.
func (tx Transaction) Validate() error {
	var fields []errs.FieldViolation
	bad := func(field, reason string) { fields = append(fields, errs.FieldViolation{Field: field, Reason: reason}) }
	if tx.TenantID == "" {
		bad("tenant_id", "required")
	}
	if tx.Key == "" {
		bad("key", "required")
	}
	if tx.Kind == "" {
		bad("kind", "required")
	}
	if len(tx.Postings) < 2 {
		bad("postings", fmt.Sprintf("%d postings, want at least 2", len(tx.Postings)))
	}
	sums := map[string]decimal.Decimal{}
	for i, p := range tx.Postings {
		path := fmt.Sprintf("postings[%d].", i)
		if p.Account == "" {
			bad(path+"account", "required")
		}
		if reason := currencyProblem(p.Currency); reason != "" {
			bad(path+"currency", fmt.Sprintf("%q: %s", p.Currency, reason))
		}
		if p.Amount.IsZero() {
			bad(path+"amount", "must not be zero")
		} else if reason := checkAmount(p.Amount); reason != "" {
			bad(path+"amount", reason)
		}
		sums[p.Currency] = sums[p.Currency].Add(p.Amount)
	}
	currencies := make([]string, 0, len(sums))
	for c := range sums {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	for _, c := range currencies {
		if s := sums[c]; !s.IsZero() {
			bad("postings", fmt.Sprintf("the %s postings sum to %s, want 0", c, Format(s)))
		}
	}
	if len(fields) == 0 {
		return nil
	}
	msg := fmt.Sprintf("ledger transaction %q of tenant %q is invalid: %s %s", tx.Key, tx.TenantID, fields[0].Field, fields[0].Reason)
	if len(fields) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(fields)-1)
	}
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: fields}
}

// Fingerprint identifies what tx records, so a store can tell a retry (the same key,
// the same fingerprint) from a reused key (another fingerprint): the SHA-256, in hex,
// of its Kind and its postings as a set, each amount normalized (1.50 and 1.5 are the
// same amount; the postings' order does not matter). ID, Reference and At are not
// part of it.
func (tx Transaction) Fingerprint() string {
	type leg struct{ Account, Currency, Amount string }
	legs := make([]leg, len(tx.Postings))
	for i, p := range tx.Postings {
		legs[i] = leg{p.Account, p.Currency, Format(Normalize(p.Amount))}
	}
	sort.Slice(legs, func(i, j int) bool {
		a, b := legs[i], legs[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		return a.Amount < b.Amount
	})
	b, _ := json.Marshal(struct {
		Kind     Kind
		Postings []leg
	}{tx.Kind, legs}) // strings only: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewTopup returns the transaction that credits amount of currency to tenantID's
// available account, drawn from PlatformTopups: the tenant's posting first, then
// the platform's. key is the idempotency key (a payment id, say); reference is free
// text for humans. It does not validate: Store.Post does.
func NewTopup(tenantID, key, reference string, amount decimal.Decimal, currency string) Transaction {
	return Transaction{
		TenantID:  tenantID,
		Kind:      Topup,
		Key:       key,
		Reference: reference,
		Postings: []Posting{
			{Account: TenantAvailable(tenantID), Amount: amount, Currency: currency},
			{Account: PlatformTopups, Amount: amount.Neg(), Currency: currency},
		},
	}
}

// NewAdjustment returns the transaction correcting tenantID's available account by
// amount (negative to take money out) against PlatformTopups, under key.
func NewAdjustment(tenantID, key, reference string, amount decimal.Decimal, currency string) Transaction {
	tx := NewTopup(tenantID, key, reference, amount, currency)
	tx.Kind = Adjustment
	return tx
}

// Clone returns a copy of tx that shares no memory with it.
func (tx Transaction) Clone() Transaction {
	if tx.Postings != nil {
		tx.Postings = append([]Posting(nil), tx.Postings...)
	}
	return tx
}

// NewReserve returns the transaction reserving amount for reservationID: the tenant's
// available account debited, its reserved account credited.
func NewReserve(tenantID, reservationID string, amount decimal.Decimal, currency string) Transaction {
	return Transaction{
		TenantID: tenantID, Kind: Reserve, Key: ReserveKey(reservationID), Reservation: reservationID,
		Postings: []Posting{
			{Account: TenantAvailable(tenantID), Amount: amount.Neg(), Currency: currency},
			{Account: TenantReserved(tenantID), Amount: amount, Currency: currency},
		},
	}
}

// NewCommit returns the transaction committing a reservation of reserved: charged
// leaves the reserved account for PlatformRevenue, except commission, which goes to
// partnerAccount; reserved − charged goes back to available. Zero legs are left out.
func NewCommit(tenantID, reservationID string, reserved, charged decimal.Decimal, currency, partnerAccount string, commission decimal.Decimal) Transaction {
	tx := Transaction{TenantID: tenantID, Kind: Commit, Key: SettleKey(reservationID), Reservation: reservationID,
		Postings: []Posting{{Account: TenantReserved(tenantID), Amount: reserved.Neg(), Currency: currency}}}
	add := func(account string, amount decimal.Decimal) {
		if !amount.IsZero() {
			tx.Postings = append(tx.Postings, Posting{Account: account, Amount: amount, Currency: currency})
		}
	}
	add(PlatformRevenue, charged.Sub(commission))
	if partnerAccount != "" {
		add(partnerAccount, commission)
	}
	add(TenantAvailable(tenantID), reserved.Sub(charged))
	return tx
}

// NewRelease returns the transaction giving a reservation of amount back: reserved
// debited, available credited.
func NewRelease(tenantID, reservationID string, amount decimal.Decimal, currency string) Transaction {
	return Transaction{
		TenantID: tenantID, Kind: Release, Key: SettleKey(reservationID), Reservation: reservationID,
		Postings: []Posting{
			{Account: TenantReserved(tenantID), Amount: amount.Neg(), Currency: currency},
			{Account: TenantAvailable(tenantID), Amount: amount, Currency: currency},
		},
	}
}
