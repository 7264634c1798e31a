package ledger_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// fieldsOf returns the field paths of err's violations; err must be Invalid.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("error = %v, want an Invalid *errs.Error", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	topup := ledger.NewTopup("t1", "k1", "invoice 7", d("10.5"), "EUR")
	with := func(edit func(tx *ledger.Transaction)) ledger.Transaction {
		tx := topup.Clone()
		edit(&tx)
		return tx
	}
	leg := func(account, amount, currency string) ledger.Posting {
		return ledger.Posting{Account: account, Amount: d(amount), Currency: currency}
	}
	for _, c := range []struct {
		name string
		tx   ledger.Transaction
		want []string // violated fields; nil: valid
	}{
		{"a top-up", topup, nil},
		{"1e-18 is storable", ledger.NewTopup("t1", "k1", "", d("0.000000000000000001"), "USD"), nil},
		{"trailing zeros beyond Scale are fine", ledger.NewTopup("t1", "k1", "", d("0.10000000000000000000000"), "USD"), nil},
		{"20 integer digits", ledger.NewTopup("t1", "k1", "", d("99999999999999999999.999999999999999999"), "USD"), nil},
		{"three legs", with(func(tx *ledger.Transaction) {
			tx.Postings = []ledger.Posting{leg("a", "1", "EUR"), leg("b", "2", "EUR"), leg("c", "-3", "EUR")}
		}), nil},
		{"mixed currencies, each balanced", with(func(tx *ledger.Transaction) {
			tx.Postings = []ledger.Posting{leg("a", "1", "EUR"), leg("b", "-1", "EUR"), leg("a", "0.3", "USD"), leg("c", "-0.1", "USD"), leg("d", "-0.2", "USD")}
		}), nil},
		{"mixed currencies balanced only in total", with(func(tx *ledger.Transaction) {
			tx.Postings = []ledger.Posting{leg("a", "1", "EUR"), leg("b", "-1", "USD")}
		}), []string{"postings", "postings"}},
		{"unbalanced", with(func(tx *ledger.Transaction) { tx.Postings[1].Amount = d("-10.4") }), []string{"postings"}},
		{"unbalanced by 1e-18", with(func(tx *ledger.Transaction) { tx.Postings[1].Amount = d("-10.500000000000000001") }), []string{"postings"}},
		{"no tenant", with(func(tx *ledger.Transaction) { tx.TenantID = "" }), []string{"tenant_id"}},
		{"no key", with(func(tx *ledger.Transaction) { tx.Key = "" }), []string{"key"}},
		{"no kind", with(func(tx *ledger.Transaction) { tx.Kind = "" }), []string{"kind"}},
		{"no postings", with(func(tx *ledger.Transaction) { tx.Postings = nil }), []string{"postings"}},
		{"one posting", with(func(tx *ledger.Transaction) { tx.Postings = tx.Postings[:1] }), []string{"postings", "postings"}},
		{"no account", with(func(tx *ledger.Transaction) { tx.Postings[1].Account = "" }), []string{"postings[1].account"}},
		{"lower-case currency", with(func(tx *ledger.Transaction) { tx.Postings[0].Currency = "eur" }), []string{"postings[0].currency", "postings", "postings"}},
		{"unknown currency", with(func(tx *ledger.Transaction) {
			tx.Postings[0].Currency, tx.Postings[1].Currency = "ABC", "ABC"
		}), []string{"postings[0].currency", "postings[1].currency"}},
		{"no currency", with(func(tx *ledger.Transaction) {
			tx.Postings[0].Currency, tx.Postings[1].Currency = "", ""
		}), []string{"postings[0].currency", "postings[1].currency"}},
		{"XXX", with(func(tx *ledger.Transaction) {
			tx.Postings[0].Currency, tx.Postings[1].Currency = "XXX", "XXX"
		}), []string{"postings[0].currency", "postings[1].currency"}},
		{"zero amount", with(func(tx *ledger.Transaction) {
			tx.Postings = append(tx.Postings, leg("c", "0.000", "EUR"))
		}), []string{"postings[2].amount"}},
		{"19 fractional digits", ledger.NewTopup("t1", "k1", "", d("0.0000000000000000001"), "USD"),
			[]string{"postings[0].amount", "postings[1].amount"}},
		{"21 integer digits", ledger.NewTopup("t1", "k1", "", d("100000000000000000000"), "USD"),
			[]string{"postings[0].amount", "postings[1].amount"}},
		{"everything wrong", ledger.Transaction{Postings: []ledger.Posting{{}}},
			[]string{"tenant_id", "key", "kind", "postings", "postings[0].account", "postings[0].currency", "postings[0].amount"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.tx.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if got := fieldsOf(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("Validate: fields %v, want %v (%v)", got, c.want, err)
			}
		})
	}
}

func TestValidateReportsTheSum(t *testing.T) {
	t.Parallel()
	tx := ledger.NewTopup("t1", "k1", "", d("0.1"), "EUR")
	tx.Postings[1].Amount = d("-0.3")
	err := tx.Validate()
	if err == nil || !strings.Contains(err.Error(), "EUR postings sum to -0.2") {
		t.Fatalf("Validate: %v, want it to name the EUR sum -0.2", err)
	}
}

func TestNewTopup(t *testing.T) {
	t.Parallel()
	tx := ledger.NewTopup("t1", "pay-1", "stripe pi_1", d("25.00"), "EUR")
	if tx.TenantID != "t1" || tx.Key != "pay-1" || tx.Reference != "stripe pi_1" || tx.Kind != ledger.Topup || tx.ID != "" || !tx.At.IsZero() {
		t.Fatalf("NewTopup = %+v", tx)
	}
	want := []ledger.Posting{
		{Account: "tenant:t1:available", Amount: d("25"), Currency: "EUR"},
		{Account: ledger.PlatformTopups, Amount: d("-25"), Currency: "EUR"},
	}
	if len(tx.Postings) != len(want) {
		t.Fatalf("postings %+v, want %+v", tx.Postings, want)
	}
	for i, p := range tx.Postings {
		if p.Account != want[i].Account || p.Currency != want[i].Currency || !p.Amount.Equal(want[i].Amount) {
			t.Errorf("posting %d = %+v, want %+v", i, p, want[i])
		}
	}
	if err := tx.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestParseAmount(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string // want "" : Invalid
	}{
		{"10", "10"},
		{"10.5", "10.5"},
		{"10.50", "10.5"},
		{"-0.5", "-0.5"},
		{"0", "0"},
		{"-0", "0"},
		{"007.10", "7.1"},
		{"0.016929", "0.016929"},
		{"0.000000000000000001", "0.000000000000000001"},
		{"1.1000000000000000000000", "1.1"}, // the zeros are not digits it needs
		{"99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999"},
		{"0.0000000000000000001", ""}, // 19 fractional digits
		{"100000000000000000000", ""}, // 21 integer digits
		{"1e3", ""},
		{"1E3", ""},
		{"1.5e-2", ""},
		{"+1", ""},
		{".5", ""},
		{"5.", ""},
		{"", ""},
		{"-", ""},
		{" 1", ""},
		{"1 ", ""},
		{"1,5", ""},
		{"0x10", ""},
		{"NaN", ""},
		{"Inf", ""},
		{"1.2.3", ""},
	} {
		got, err := ledger.ParseAmount(c.in)
		if c.want == "" {
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("ParseAmount(%q) = %v, %v; want Invalid", c.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(d(c.want)) {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestDigitsAndNormalize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in     decimal.Decimal
		digits int32
		norm   string
	}{
		{d("1.50"), 1, "1.5"},
		{d("3"), 0, "3"},
		{d("3.000"), 0, "3"},
		{d("-0.000001"), 6, "-0.000001"},
		{d("0.000"), 0, "0"},
		{decimal.New(15, 3), 0, "15000"},
		{decimal.New(1, -18), 18, "0.000000000000000001"},
		{decimal.New(1000, -22), 19, "0.0000000000000000001"},
	} {
		if got := ledger.Digits(c.in); got != c.digits {
			t.Errorf("Digits(%s) = %d, want %d", c.in, got, c.digits)
		}
		n := ledger.Normalize(c.in)
		if !n.Equal(c.in) || n.String() != c.norm {
			t.Errorf("Normalize(%s) = %s, want %s", c.in, n, c.norm)
		}
		if n.Exponent() < 0 && n.Coefficient().Int64()%10 == 0 {
			t.Errorf("Normalize(%s) keeps trailing zeros: coefficient %s, exponent %d", c.in, n.Coefficient(), n.Exponent())
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   decimal.Decimal
		want string
	}{
		{d("10.50"), "10.5"},
		{d("0.016929"), "0.016929"},
		{d("-3.000"), "-3"},
		{d("0.0"), "0"},
		{decimal.New(15, 5), "1500000"},
		{d("0.000000000000000001"), "0.000000000000000001"},
		{d("12345678901234567890.123456789012345678"), "12345678901234567890.123456789012345678"},
	} {
		got := ledger.Format(c.in)
		if got != c.want {
			t.Errorf("Format(%s) = %q, want %q", c.in, got, c.want)
		}
		back, err := ledger.ParseAmount(got)
		if err != nil || !back.Equal(c.in) {
			t.Errorf("ParseAmount(Format(%s)) = %v, %v", c.in, back, err)
		}
	}
}

func TestCheckCurrencyAndBalance(t *testing.T) {
	t.Parallel()
	for code, ok := range map[string]bool{"EUR": true, "USD": true, "JPY": true, "eur": false, "Eur": false, "EU": false, "EURO": false, "ABC": false, "XXX": false, "": false} {
		if err := ledger.CheckCurrency(code); (err == nil) != ok {
			t.Errorf("CheckCurrency(%q) = %v, want ok=%v", code, err, ok)
		} else if err != nil && !slices.Equal(fieldsOf(t, err), []string{"currency"}) {
			t.Errorf("CheckCurrency(%q) fields %v", code, fieldsOf(t, err))
		}
	}
	if err := ledger.CheckBalance("t1", "EUR"); err != nil {
		t.Errorf("CheckBalance: %v", err)
	}
	if got := fieldsOf(t, ledger.CheckBalance("", "EUR")); !slices.Equal(got, []string{"tenant_id"}) {
		t.Errorf("CheckBalance without tenant: fields %v", got)
	}
	if got := fieldsOf(t, ledger.CheckBalance("t1", "eur")); !slices.Equal(got, []string{"currency"}) {
		t.Errorf("CheckBalance lower case: fields %v", got)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	base := ledger.NewTopup("t1", "k1", "first", d("10.5"), "EUR")
	fp := base.Fingerprint()
	same := []ledger.Transaction{
		ledger.NewTopup("t1", "k1", "another reference", d("10.50"), "EUR"),
		func() ledger.Transaction { tx := base.Clone(); tx.ID = "x"; return tx }(),
		func() ledger.Transaction {
			tx := base.Clone()
			tx.Postings[0], tx.Postings[1] = tx.Postings[1], tx.Postings[0]
			return tx
		}(),
	}
	for i, tx := range same {
		if tx.Fingerprint() != fp {
			t.Errorf("same[%d]: fingerprint differs", i)
		}
	}
	other := []ledger.Transaction{
		ledger.NewTopup("t1", "k1", "first", d("10.51"), "EUR"),
		ledger.NewTopup("t1", "k1", "first", d("10.5"), "USD"),
		ledger.NewTopup("t2", "k1", "first", d("10.5"), "EUR"), // another account
		func() ledger.Transaction { tx := base.Clone(); tx.Kind = "refund"; return tx }(),
	}
	for i, tx := range other {
		if tx.Fingerprint() == fp {
			t.Errorf("other[%d]: same fingerprint", i)
		}
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	tx := ledger.NewTopup("t1", "k1", "", d("1"), "EUR")
	c := tx.Clone()
	c.Postings[0].Account = "changed"
	if tx.Postings[0].Account == "changed" {
		t.Fatal("Clone shares postings")
	}
}
