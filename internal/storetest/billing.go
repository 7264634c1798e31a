package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// billingCase is one subtest of a billing store suite; env is the suite's own.
type billingCase[E any] struct {
	name string
	run  func(t *testing.T, e E)
}

// runBilling runs cases in parallel, each with a fresh clock and env.
func runBilling[S, E any](t *testing.T, cases []billingCase[E], newStore func(*testing.T, func() time.Time) S,
	newEnv func(s S, c *Clock) E) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, newEnv(newStore(t, clock.Now), clock))
		})
	}
}

// dec parses a decimal the suite spells out.
func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// wantDec fails unless got is exactly want in its canonical form: the stores return
// amounts without trailing zeros (ledger.Normalize), whatever they were given.
func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if got.String() != want {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// wantField fails unless err is Invalid naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, errs.Invalid)
	var e *errs.Error
	if !errors.As(err, &e) {
		return
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Errorf("error %v names fields %+v, want %q", err, e.Fields, field)
}

// sameJSON fails unless a and b marshal to the same JSON value.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	mustNot(t, err)
	w, err := json.Marshal(want)
	mustNot(t, err)
	if !jsonEqual(g, w) {
		t.Errorf("%s =\n%s\nwant\n%s", what, g, w)
	}
}

var bg = context.Background()
