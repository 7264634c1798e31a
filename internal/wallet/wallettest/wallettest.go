// Package wallettest is the contract every wallet.Wallet adapter passes: each
// promise in wallet.go's doc comments, and exactness at 18 fractional and 20
// integer digits.
package wallettest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// Start is the suite clock's first reading: not UTC and with nanoseconds, so an
// adapter that does not store UTC microseconds is caught.
var Start = time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+2", 2*3600))

// Run runs the contract; each subtest gets a fresh wallet and clock.
func Run(t *testing.T, newWallet func(t *testing.T, now func() time.Time) wallet.Wallet) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *fixture)
	}{
		{"NotLoaded", testNotLoaded},
		{"LoadTwice", testLoadTwice},
		{"LoadOpen", testLoadOpen},
		{"LoadInvalid", testLoadInvalid},
		{"Reserve", testReserve},
		{"ReserveInsufficient", testReserveInsufficient},
		{"ReserveExactAvailable", testReserveExact},
		{"ReserveSuspended", testReserveSuspended},
		{"ReserveReplayed", testReserveReplayed},
		{"ReserveInvalid", testReserveInvalid},
		{"CommitFull", testCommitFull},
		{"CommitPartial", testCommitPartial},
		{"CommitOverAmount", testCommitOver},
		{"CommitReplayed", testCommitReplayed},
		{"ReleaseReplayed", testReleaseReplayed},
		{"SettledOtherWay", testSettledOtherWay},
		{"UnknownIDs", testUnknown},
		{"Forget", testForget},
		{"Credit", testCredit},
		{"Open", testOpen},
		{"Expired", testExpired},
		{"TenantsUnload", testTenantsUnload},
		{"Exact18Digits", testExact18},
		{"Exact20IntegerDigits", testExact20},
		{"ExactRandom", testExactRandom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := storetest.NewClock(Start)
			tc.f(t, &fixture{w: newWallet(t, clock.Now), clock: clock, ctx: context.Background()})
		})
	}
}

type fixture struct {
	w     wallet.Wallet
	clock *storetest.Clock
	ctx   context.Context
}

// D parses a decimal or panics.
func D(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// load loads tenant with balance in EUR and no reservations.
func (f *fixture) load(t *testing.T, tenant, balance string) {
	t.Helper()
	ok, err := f.w.Load(f.ctx, wallet.Account{TenantID: tenant, Currency: "EUR", Balance: D(balance), Blocked: decimal.Zero}, nil)
	if err != nil || !ok {
		t.Fatalf("Load(%s) = %v, %v", tenant, ok, err)
	}
}

func (f *fixture) reserve(t *testing.T, tenant, id, amount string, want wallet.Outcome) wallet.Result {
	t.Helper()
	res, err := f.w.Reserve(f.ctx, wallet.Reservation{ID: id, TenantID: tenant, Currency: "EUR", Amount: D(amount)})
	if err != nil || res.Outcome != want {
		t.Fatalf("Reserve(%s, %s) = %+v, %v; want %s", id, amount, res, err, want)
	}
	return res
}

func (f *fixture) commit(t *testing.T, tenant, id, charged string, want wallet.Outcome) wallet.Result {
	t.Helper()
	res, err := f.w.Commit(f.ctx, tenant, id, D(charged))
	if err != nil || res.Outcome != want {
		t.Fatalf("Commit(%s, %s) = %+v, %v; want %s", id, charged, res, err, want)
	}
	return res
}

func (f *fixture) release(t *testing.T, tenant, id string, want wallet.Outcome) wallet.Result {
	t.Helper()
	res, err := f.w.Release(f.ctx, tenant, id)
	if err != nil || res.Outcome != want {
		t.Fatalf("Release(%s) = %+v, %v; want %s", id, res, err, want)
	}
	return res
}

// wantAccount checks an account's amounts by their canonical strings, so a
// non-normalized decimal is caught too.
func wantAccount(t *testing.T, a wallet.Account, balance, blocked string) {
	t.Helper()
	avail := D(balance).Sub(D(blocked)).String()
	if a.Balance.String() != balance || a.Blocked.String() != blocked || a.Available.String() != avail {
		t.Fatalf("account = balance %s blocked %s available %s; want %s %s %s",
			a.Balance, a.Blocked, a.Available, balance, blocked, avail)
	}
}

func (f *fixture) wantAccount(t *testing.T, tenant, balance, blocked string) {
	t.Helper()
	a, err := f.w.Account(f.ctx, tenant)
	if err != nil {
		t.Fatalf("Account(%s): %v", tenant, err)
	}
	if a.TenantID != tenant || a.Currency != "EUR" {
		t.Fatalf("account = %+v", a)
	}
	wantAccount(t, a, balance, blocked)
}

func wantCode(t *testing.T, err error, code errs.Code, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != field) {
		t.Fatalf("error %v fields = %+v, want %s", err, e.Fields, field)
	}
}

func wantNotLoaded(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, wallet.ErrNotLoaded) {
		t.Fatalf("%s: error = %v, want ErrNotLoaded", what, err)
	}
}

func testNotLoaded(t *testing.T, f *fixture) {
	_, err := f.w.Account(f.ctx, "t1")
	wantNotLoaded(t, "Account", err)
	_, err = f.w.Reserve(f.ctx, wallet.Reservation{ID: "r1", TenantID: "t1", Currency: "EUR", Amount: D("1")})
	wantNotLoaded(t, "Reserve", err)
	_, err = f.w.Commit(f.ctx, "t1", "r1", D("1"))
	wantNotLoaded(t, "Commit", err)
	_, err = f.w.Release(f.ctx, "t1", "r1")
	wantNotLoaded(t, "Release", err)
	_, _, err = f.w.Credit(f.ctx, "t1", "k1", D("1"))
	wantNotLoaded(t, "Credit", err)
	wantNotLoaded(t, "SetSuspended", f.w.SetSuspended(f.ctx, "t1", true))
	_, err = f.w.Open(f.ctx, "t1")
	wantNotLoaded(t, "Open", err)
	if err := f.w.Unload(f.ctx, "t1"); err != nil {
		t.Fatalf("Unload of an unloaded tenant: %v", err)
	}
}

func testLoadTwice(t *testing.T, f *fixture) {
	f.load(t, "t1", "10.50")
	ok, err := f.w.Load(f.ctx, wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("99")}, nil)
	if err != nil || ok {
		t.Fatalf("second Load = %v, %v; want false, nil", ok, err)
	}
	f.wantAccount(t, "t1", "10.5", "0")
}

func testLoadOpen(t *testing.T, f *fixture) {
	created := Start.Add(-time.Hour)
	open := []wallet.Reservation{
		{ID: "b", Amount: D("1.25"), CreatedAt: created.Add(time.Minute), ExpiresAt: created.Add(2 * time.Hour), ChargeOnFailure: true},
		{ID: "a", TenantID: "t1", Currency: "EUR", Amount: D("0.75"), CreatedAt: created, State: wallet.Reserved},
	}
	ok, err := f.w.Load(f.ctx, wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("5"), Blocked: D("2"),
		Available: D("123"), Suspended: true}, open)
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	a, _ := f.w.Account(f.ctx, "t1")
	wantAccount(t, a, "5", "2")
	if !a.Suspended {
		t.Fatal("Suspended not loaded")
	}
	got, err := f.w.Open(f.ctx, "t1")
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	b := got[1]
	if b.TenantID != "t1" || b.Currency != "EUR" || b.State != wallet.Reserved || !b.ChargeOnFailure ||
		!b.CreatedAt.Equal(stamp(created.Add(time.Minute))) || !b.ExpiresAt.Equal(stamp(created.Add(2*time.Hour))) ||
		b.Amount.String() != "1.25" || !b.Charged.IsZero() {
		t.Fatalf("loaded reservation = %+v", b)
	}
	if !got[0].ExpiresAt.Equal(stamp(created).Add(wallet.DefaultTTL)) {
		t.Fatalf("default ExpiresAt = %v", got[0].ExpiresAt)
	}
	res := f.commit(t, "t1", "b", "1", wallet.Done)
	wantAccount(t, res.Account, "4", "0.75")
}

func testLoadInvalid(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		acct  wallet.Account
		open  []wallet.Reservation
		field string
	}{
		{wallet.Account{Currency: "EUR"}, nil, "tenant_id"},
		{wallet.Account{TenantID: "t1", Currency: "eur"}, nil, "currency"},
		{wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("-1")}, nil, "balance"},
		{wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("1"), Blocked: D("2")},
			[]wallet.Reservation{{ID: "a", Amount: D("2")}}, "blocked"},
		{wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("5"), Blocked: D("2")},
			[]wallet.Reservation{{ID: "a", Amount: D("1")}}, "blocked"},
		{wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("5"), Blocked: D("2")},
			[]wallet.Reservation{{ID: "a", Amount: D("1")}, {ID: "a", Amount: D("1")}}, "open[1].id"},
		{wallet.Account{TenantID: "t1", Currency: "EUR", Balance: D("5"), Blocked: D("1")},
			[]wallet.Reservation{{ID: "a", Amount: D("1"), Currency: "USD"}}, "open[0].currency"},
	} {
		_, err := f.w.Load(f.ctx, tc.acct, tc.open)
		wantCode(t, err, errs.Invalid, tc.field)
	}
	_, err := f.w.Account(f.ctx, "t1")
	wantNotLoaded(t, "Account after invalid loads", err)
}

func testReserve(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	exp := Start.Add(time.Hour)
	res, err := f.w.Reserve(f.ctx, wallet.Reservation{ID: "r1", TenantID: "t1", Currency: "EUR", Amount: D("2.500"),
		ChargeOnFailure: true, ExpiresAt: exp, State: wallet.Committed, Charged: D("9")})
	if err != nil || res.Outcome != wallet.Done {
		t.Fatalf("Reserve = %+v, %v", res, err)
	}
	r := res.Reservation
	if r.ID != "r1" || r.TenantID != "t1" || r.Currency != "EUR" || r.Amount.String() != "2.5" || !r.ChargeOnFailure ||
		r.State != wallet.Reserved || !r.Charged.IsZero() || !r.CreatedAt.Equal(stamp(Start)) ||
		r.CreatedAt.Location() != time.UTC || !r.ExpiresAt.Equal(stamp(exp)) {
		t.Fatalf("reservation = %+v", r)
	}
	wantAccount(t, res.Account, "10", "2.5")
	f.wantAccount(t, "t1", "10", "2.5")
	r2 := f.reserve(t, "t1", "r2", "1", wallet.Done).Reservation
	if !r2.ExpiresAt.Equal(stamp(Start).Add(wallet.DefaultTTL)) || r2.ChargeOnFailure {
		t.Fatalf("default reservation = %+v", r2)
	}
	f.reserve(t, "t1", "zero", "0", wallet.Done)
	f.wantAccount(t, "t1", "10", "3.5")
	// The caller's clock dates the reservation (and so its charge's month), not the
	// wallet's: a charge made in November stays November's whatever the wallet's clock.
	nov := time.Date(2026, 11, 30, 23, 59, 59, 999_999_999, time.FixedZone("UTC+14", 14*3600))
	r3, err := f.w.Reserve(f.ctx, wallet.Reservation{ID: "r3", TenantID: "t1", Currency: "EUR", Amount: D("1"), CreatedAt: nov})
	if err != nil || !r3.Reservation.CreatedAt.Equal(stamp(nov)) || r3.Reservation.CreatedAt.Location() != time.UTC ||
		!r3.Reservation.ExpiresAt.Equal(stamp(nov).Add(wallet.DefaultTTL)) {
		t.Fatalf("reservation dated by its caller = %+v, %v; want created %s", r3.Reservation, err, stamp(nov))
	}
}

func testReserveInsufficient(t *testing.T, f *fixture) {
	f.load(t, "t1", "1")
	f.reserve(t, "t1", "r1", "0.6", wallet.Done)
	res := f.reserve(t, "t1", "r2", "0.41", wallet.Insufficient)
	if res.Reservation.ID != "r2" || res.Reservation.Amount.String() != "0.41" {
		t.Fatalf("insufficient reservation = %+v", res.Reservation)
	}
	wantAccount(t, res.Account, "1", "0.6")
	f.commit(t, "t1", "r2", "0", wallet.Unknown) // nothing was recorded
}

func testReserveExact(t *testing.T, f *fixture) {
	f.load(t, "t1", "1")
	f.reserve(t, "t1", "r1", "0.6", wallet.Done)
	res := f.reserve(t, "t1", "r2", "0.4", wallet.Done)
	wantAccount(t, res.Account, "1", "1")
	f.reserve(t, "t1", "r3", "0.000000000000000001", wallet.Insufficient)
	f.reserve(t, "t1", "r4", "0", wallet.Done)
}

func testReserveSuspended(t *testing.T, f *fixture) {
	f.load(t, "t1", "1")
	if err := f.w.SetSuspended(f.ctx, "t1", true); err != nil {
		t.Fatal(err)
	}
	res := f.reserve(t, "t1", "r1", "0.5", wallet.Refused)
	if !res.Account.Suspended {
		t.Fatal("account not suspended in the result")
	}
	wantAccount(t, res.Account, "1", "0")
	if err := f.w.SetSuspended(f.ctx, "t1", false); err != nil {
		t.Fatal(err)
	}
	f.reserve(t, "t1", "r1", "0.5", wallet.Done)
	// Settling is not refused while suspended.
	_ = f.w.SetSuspended(f.ctx, "t1", true)
	f.commit(t, "t1", "r1", "0.5", wallet.Done)
}

func testReserveReplayed(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	first := f.reserve(t, "t1", "r1", "2", wallet.Done).Reservation
	f.clock.Advance(time.Minute)
	res := f.reserve(t, "t1", "r1", "7", wallet.Replayed)
	if res.Reservation.Amount.String() != "2" || !res.Reservation.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("replayed reservation = %+v, want the first %+v", res.Reservation, first)
	}
	wantAccount(t, res.Account, "10", "2")
	// Insufficient for a new one, but a replay still answers Replayed.
	f.reserve(t, "t1", "r1", "100", wallet.Replayed)
	f.commit(t, "t1", "r1", "1.5", wallet.Done)
	res = f.reserve(t, "t1", "r1", "2", wallet.Replayed)
	if res.Reservation.State != wallet.Committed || res.Reservation.Charged.String() != "1.5" {
		t.Fatalf("replay after commit = %+v", res.Reservation)
	}
	wantAccount(t, res.Account, "8.5", "0")
}

func testReserveInvalid(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	ok := wallet.Reservation{ID: "r1", TenantID: "t1", Currency: "EUR", Amount: D("1")}
	for _, tc := range []struct {
		edit  func(*wallet.Reservation)
		field string
	}{
		{func(r *wallet.Reservation) { r.TenantID = "" }, "tenant_id"},
		{func(r *wallet.Reservation) { r.ID = "" }, "id"},
		{func(r *wallet.Reservation) { r.Currency = "EURO" }, "currency"},
		{func(r *wallet.Reservation) { r.Currency = "USD" }, "currency"}, // not the account's
		{func(r *wallet.Reservation) { r.Amount = D("-0.1") }, "amount"},
		{func(r *wallet.Reservation) { r.Amount = D("0.0000000000000000001") }, "amount"},
		{func(r *wallet.Reservation) { r.Amount = D("100000000000000000000") }, "amount"},
	} {
		r := ok
		tc.edit(&r)
		_, err := f.w.Reserve(f.ctx, r)
		wantCode(t, err, errs.Invalid, tc.field)
	}
	f.wantAccount(t, "t1", "10", "0")
}

func testCommitFull(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "2.5", wallet.Done)
	res := f.commit(t, "t1", "r1", "2.5", wallet.Done)
	if r := res.Reservation; r.State != wallet.Committed || r.Charged.String() != "2.5" || r.Amount.String() != "2.5" {
		t.Fatalf("committed = %+v", r)
	}
	wantAccount(t, res.Account, "7.5", "0")
}

func testCommitPartial(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "2.5", wallet.Done)
	f.reserve(t, "t1", "r2", "1", wallet.Done)
	res := f.commit(t, "t1", "r1", "0.75", wallet.Done)
	wantAccount(t, res.Account, "9.25", "1")
	res = f.commit(t, "t1", "r2", "0", wallet.Done)
	wantAccount(t, res.Account, "9.25", "0")
}

func testCommitOver(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "2.5", wallet.Done)
	_, err := f.w.Commit(f.ctx, "t1", "r1", D("2.500000000000000001"))
	wantCode(t, err, errs.Invalid, "charged")
	_, err = f.w.Commit(f.ctx, "t1", "r1", D("-1"))
	wantCode(t, err, errs.Invalid, "charged")
	_, err = f.w.Commit(f.ctx, "t1", "", D("1"))
	wantCode(t, err, errs.Invalid, "id")
	f.wantAccount(t, "t1", "10", "2.5")
	f.commit(t, "t1", "r1", "2.5", wallet.Done)
}

func testCommitReplayed(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "2.5", wallet.Done)
	f.commit(t, "t1", "r1", "2", wallet.Done)
	res := f.commit(t, "t1", "r1", "1", wallet.Replayed) // whatever the amount
	if res.Reservation.Charged.String() != "2" || res.Reservation.State != wallet.Committed {
		t.Fatalf("replayed commit = %+v", res.Reservation)
	}
	wantAccount(t, res.Account, "8", "0")
}

func testReleaseReplayed(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "2.5", wallet.Done)
	res := f.release(t, "t1", "r1", wallet.Done)
	if r := res.Reservation; r.State != wallet.Released || !r.Charged.IsZero() || r.Amount.String() != "2.5" {
		t.Fatalf("released = %+v", r)
	}
	wantAccount(t, res.Account, "10", "0")
	res = f.release(t, "t1", "r1", wallet.Replayed)
	wantAccount(t, res.Account, "10", "0")
	if open, _ := f.w.Open(f.ctx, "t1"); len(open) != 0 {
		t.Fatalf("Open after release = %+v", open)
	}
}

func testSettledOtherWay(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "r1", "1", wallet.Done)
	f.reserve(t, "t1", "r2", "2", wallet.Done)
	f.release(t, "t1", "r1", wallet.Done)
	res := f.commit(t, "t1", "r1", "1", wallet.Settled)
	if res.Reservation.State != wallet.Released {
		t.Fatalf("commit after release = %+v", res.Reservation)
	}
	f.commit(t, "t1", "r2", "2", wallet.Done)
	res = f.release(t, "t1", "r2", wallet.Settled)
	if res.Reservation.State != wallet.Committed || res.Reservation.Charged.String() != "2" {
		t.Fatalf("release after commit = %+v", res.Reservation)
	}
	wantAccount(t, res.Account, "8", "0")
}

func testUnknown(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.load(t, "t2", "10")
	f.reserve(t, "t2", "r1", "1", wallet.Done)
	for _, id := range []string{"nope", "r1"} { // r1 is t2's, not t1's
		res := f.commit(t, "t1", id, "1", wallet.Unknown)
		if res.Reservation.ID != id || res.Reservation.TenantID != "t1" {
			t.Fatalf("unknown = %+v", res.Reservation)
		}
		wantAccount(t, res.Account, "10", "0")
		f.release(t, "t1", id, wallet.Unknown)
	}
}

// Forget drops settled records only: afterwards the id is Unknown to Commit and
// Release and new to Reserve; an open reservation and an unknown id are untouched.
func testForget(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "done", "1", wallet.Done)
	f.reserve(t, "t1", "open", "2", wallet.Done)
	f.commit(t, "t1", "done", "1", wallet.Done)
	for _, id := range []string{"done", "open", "never"} {
		if err := f.w.Forget(f.ctx, "t1", id); err != nil {
			t.Fatalf("Forget(%s): %v", id, err)
		}
	}
	f.commit(t, "t1", "done", "1", wallet.Unknown)
	f.release(t, "t1", "done", wallet.Unknown)
	if open, _ := f.w.Open(f.ctx, "t1"); idsOf(open) != "open" {
		t.Fatalf("Open after Forget = %s, want open", idsOf(open))
	}
	f.wantAccount(t, "t1", "9", "2")
	f.commit(t, "t1", "open", "2", wallet.Done)
	f.reserve(t, "t1", "done", "1", wallet.Done) // forgotten: a new reservation
	f.wantAccount(t, "t1", "7", "1")
	wantCode(t, f.w.Forget(f.ctx, "t1", ""), errs.Invalid, "id")
	wantCode(t, f.w.Forget(f.ctx, "", "done"), errs.Invalid, "tenant_id")
}

func testCredit(t *testing.T, f *fixture) {
	f.load(t, "t1", "1")
	f.reserve(t, "t1", "r1", "0.5", wallet.Done)
	a, o, err := f.w.Credit(f.ctx, "t1", "tx1", D("2.25"))
	if err != nil || o != wallet.Done {
		t.Fatalf("Credit = %v, %v", o, err)
	}
	wantAccount(t, a, "3.25", "0.5")
	a, o, err = f.w.Credit(f.ctx, "t1", "tx1", D("2.25"))
	if err != nil || o != wallet.Replayed {
		t.Fatalf("second Credit = %v, %v", o, err)
	}
	wantAccount(t, a, "3.25", "0.5")
	for _, bad := range []string{"0", "-1", "1.0000000000000000001"} {
		_, _, err = f.w.Credit(f.ctx, "t1", "tx2", D(bad))
		wantCode(t, err, errs.Invalid, "amount")
	}
	_, _, err = f.w.Credit(f.ctx, "t1", "", D("1"))
	wantCode(t, err, errs.Invalid, "key")
	f.load(t, "t2", "99999999999999999999")
	_, _, err = f.w.Credit(f.ctx, "t2", "big", D("1"))
	wantCode(t, err, errs.Invalid, "amount")
	a, o, err = f.w.Credit(f.ctx, "t2", "big", D("0.999999999999999999"))
	if err != nil || o != wallet.Done {
		t.Fatalf("Credit to the limit = %v, %v", o, err)
	}
	wantAccount(t, a, "99999999999999999999.999999999999999999", "0")
}

func testOpen(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.reserve(t, "t1", "c", "1", wallet.Done)
	f.reserve(t, "t1", "b", "1", wallet.Done) // same created time: by id
	f.clock.Advance(time.Second)
	f.reserve(t, "t1", "a", "1", wallet.Done)
	f.clock.Advance(time.Second)
	f.reserve(t, "t1", "d", "1", wallet.Done)
	f.release(t, "t1", "d", wallet.Done)
	got, err := f.w.Open(f.ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(got); ids != "b c a" {
		t.Fatalf("Open = %s, want b c a", ids)
	}
	if !got[2].CreatedAt.Equal(stamp(Start.Add(time.Second))) {
		t.Fatalf("CreatedAt = %v", got[2].CreatedAt)
	}
}

func idsOf(rs []wallet.Reservation) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
		if r.TenantID != "t1" {
			ids[i] = r.TenantID + "/" + r.ID
		}
	}
	return strings.Join(ids, " ")
}

func testExpired(t *testing.T, f *fixture) {
	f.load(t, "t1", "10")
	f.load(t, "t2", "10")
	at := func(d time.Duration) time.Time { return Start.Add(d) }
	for _, r := range []wallet.Reservation{
		{ID: "late", TenantID: "t1", ExpiresAt: at(3 * time.Minute)},
		{ID: "x", TenantID: "t2", ExpiresAt: at(time.Minute)},
		{ID: "y", TenantID: "t1", ExpiresAt: at(time.Minute)},
		{ID: "first", TenantID: "t1", ExpiresAt: at(30 * time.Second)},
		{ID: "done", TenantID: "t2", ExpiresAt: at(time.Second)},
		{ID: "future", TenantID: "t2", ExpiresAt: at(time.Hour)},
	} {
		r.Currency, r.Amount = "EUR", D("1")
		if res, err := f.w.Reserve(f.ctx, r); err != nil || res.Outcome != wallet.Done {
			t.Fatalf("Reserve(%s) = %+v, %v", r.ID, res, err)
		}
	}
	f.commit(t, "t2", "done", "1", wallet.Done)
	got, err := f.w.Expired(f.ctx, at(3*time.Minute), 10) // expiring exactly now counts
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(got); ids != "first y t2/x late" {
		t.Fatalf("Expired = %s, want first y t2/x late", ids)
	}
	if got[2].TenantID != "t2" || got[2].State != wallet.Reserved || !got[2].ExpiresAt.Equal(stamp(at(time.Minute))) {
		t.Fatalf("expired reservation = %+v", got[2])
	}
	got, _ = f.w.Expired(f.ctx, at(3*time.Minute), 2)
	if ids := idsOf(got); ids != "first y" {
		t.Fatalf("Expired limit 2 = %s", ids)
	}
	f.release(t, "t1", "first", wallet.Done)
	got, _ = f.w.Expired(f.ctx, at(time.Minute), 10)
	if ids := idsOf(got); ids != "y t2/x" {
		t.Fatalf("Expired after release = %s", ids)
	}
	if got, _ := f.w.Expired(f.ctx, at(0), 10); len(got) != 0 {
		t.Fatalf("Expired at start = %s", idsOf(got))
	}
	_, err = f.w.Expired(f.ctx, at(0), 0)
	wantCode(t, err, errs.Invalid, "limit")
}

func testTenantsUnload(t *testing.T, f *fixture) {
	if ts, err := f.w.Tenants(f.ctx); err != nil || len(ts) != 0 {
		t.Fatalf("Tenants of an empty wallet = %v, %v", ts, err)
	}
	f.load(t, "t2", "10")
	f.load(t, "t1", "10")
	f.load(t, "t3", "10")
	if ts, _ := f.w.Tenants(f.ctx); strings.Join(ts, " ") != "t1 t2 t3" {
		t.Fatalf("Tenants = %v", ts)
	}
	f.reserve(t, "t2", "open", "1", wallet.Done)
	f.reserve(t, "t2", "gone", "1", wallet.Done)
	f.commit(t, "t2", "gone", "1", wallet.Done)
	if _, o, _ := f.w.Credit(f.ctx, "t2", "tx", D("5")); o != wallet.Done {
		t.Fatalf("Credit = %s", o)
	}
	if err := f.w.Unload(f.ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if ts, _ := f.w.Tenants(f.ctx); strings.Join(ts, " ") != "t1 t3" {
		t.Fatalf("Tenants after Unload = %v", ts)
	}
	_, err := f.w.Account(f.ctx, "t2")
	wantNotLoaded(t, "Account after Unload", err)
	if got, _ := f.w.Expired(f.ctx, Start.Add(1000*time.Hour), 10); len(got) != 0 {
		t.Fatalf("Expired after Unload = %s", idsOf(got))
	}
	// Reload (from the ledger, which has the commit and the credit): the open
	// reservation is forgotten, the settled one and the credit key are not.
	f.load(t, "t2", "14")
	f.wantAccount(t, "t2", "14", "0")
	f.commit(t, "t2", "open", "1", wallet.Unknown)
	f.commit(t, "t2", "gone", "1", wallet.Replayed)
	if _, o, _ := f.w.Credit(f.ctx, "t2", "tx", D("5")); o != wallet.Replayed {
		t.Fatalf("Credit after reload = %s, want replayed", o)
	}
	if open, _ := f.w.Open(f.ctx, "t2"); len(open) != 0 {
		t.Fatalf("Open after reload = %+v", open)
	}
}

func testExact18(t *testing.T, f *fixture) {
	f.load(t, "t1", "0.000000000000000003")
	f.reserve(t, "t1", "r1", "0.000000000000000001", wallet.Done)
	f.reserve(t, "t1", "r2", "0.000000000000000002", wallet.Done)
	f.reserve(t, "t1", "r3", "0.000000000000000001", wallet.Insufficient)
	res := f.commit(t, "t1", "r1", "0.000000000000000001", wallet.Done)
	wantAccount(t, res.Account, "0.000000000000000002", "0.000000000000000002")
	res = f.release(t, "t1", "r2", wallet.Done)
	wantAccount(t, res.Account, "0.000000000000000002", "0")
	a, _, err := f.w.Credit(f.ctx, "t1", "k", D("0.123456789012345678"))
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, "0.12345678901234568", "0")
}

func testExact20(t *testing.T, f *fixture) {
	const top = "99999999999999999999.999999999999999999"
	f.load(t, "t1", top)
	res := f.reserve(t, "t1", "r1", "0.000000000000000001", wallet.Done)
	wantAccount(t, res.Account, top, "0.000000000000000001")
	res = f.commit(t, "t1", "r1", "0.000000000000000001", wallet.Done)
	wantAccount(t, res.Account, "99999999999999999999.999999999999999998", "0")
	f.reserve(t, "t1", "r2", "99999999999999999999.999999999999999998", wallet.Done)
	f.reserve(t, "t1", "r3", "0.000000000000000001", wallet.Insufficient)
	res = f.commit(t, "t1", "r2", "12345678901234567890.123456789012345678", wallet.Done)
	wantAccount(t, res.Account, "87654321098765432109.87654321098765432", "0")
	a, _, err := f.w.Credit(f.ctx, "t1", "k", D("12345678901234567890.123456789012345679"))
	if err != nil {
		t.Fatal(err)
	}
	wantAccount(t, a, top, "0")
}

// testExactRandom runs random operations with large, finely divided amounts against
// a decimal model.
func testExactRandom(t *testing.T, f *fixture) {
	rng := rand.New(rand.NewPCG(1, 2))
	amount := func() decimal.Decimal {
		// up to 17 integer digits and 18 fractional ones
		return decimal.New(rng.Int64N(1e17), -18).Add(decimal.New(rng.Int64N(1e17), 0)).Div(decimal.New(int64(1+rng.IntN(1000)), 0)).Truncate(18)
	}
	balance := decimal.New(rng.Int64N(1e18), 0).Add(decimal.New(rng.Int64N(1e18), -18))
	blocked := decimal.Zero
	f.load(t, "t1", balance.String())
	var open []string
	reserved := map[string]decimal.Decimal{}
	for i := 0; i < 300; i++ {
		switch op := rng.IntN(4); {
		case op < 2 || len(open) == 0:
			id, amt := fmt.Sprint("r", i), amount()
			want := wallet.Done
			if balance.Sub(blocked).LessThan(amt) {
				want = wallet.Insufficient
			}
			f.reserve(t, "t1", id, amt.String(), want)
			if want == wallet.Done {
				blocked = blocked.Add(amt)
				open, reserved[id] = append(open, id), amt
			}
		case op == 2:
			id := open[0]
			open = open[1:]
			charged := reserved[id].Mul(decimal.New(int64(rng.IntN(101)), -2)).Truncate(18)
			f.commit(t, "t1", id, charged.String(), wallet.Done)
			balance, blocked = balance.Sub(charged), blocked.Sub(reserved[id])
		default:
			id := open[len(open)-1]
			open = open[:len(open)-1]
			f.release(t, "t1", id, wallet.Done)
			blocked = blocked.Sub(reserved[id])
		}
		if i%50 == 0 {
			amt := amount()
			if _, _, err := f.w.Credit(f.ctx, "t1", fmt.Sprint("c", i), amt); err != nil {
				t.Fatal(err)
			}
			balance = balance.Add(amt)
		}
	}
	f.wantAccount(t, "t1", balance.String(), blocked.String())
}
