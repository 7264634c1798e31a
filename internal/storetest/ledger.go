package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// LedgerStore runs the ledger.Store contract against the stores newStore returns.
// Besides the interface's doc comment, it holds the adapters to what makes them
// interchangeable: amounts come back normalized (ledger.Normalize, so ledger.Format
// prints "10.5" whichever store answered), At is the store's clock in UTC
// microseconds, and a caller's transaction id is kept (an empty one is generated).
func LedgerStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) ledger.Store) {
	for _, tc := range append(ledgerCases[:len(ledgerCases):len(ledgerCases)], ledgerBatchCases...) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, &ledgerEnv{s: newStore(t, clock.Now), clock: clock, ctx: context.Background(), tenant: newID("tenant")})
		})
	}
}

type ledgerEnv struct {
	s      ledger.Store
	clock  *Clock
	ctx    context.Context
	tenant string // the subtest's own
}

func amount(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// topup returns a top-up of the env's tenant with a fresh key.
func (e *ledgerEnv) topup(value, currency string) ledger.Transaction {
	return ledger.NewTopup(e.tenant, newID("pay"), "payment", amount(value), currency)
}

// post posts tx and fails unless it succeeds with created as wanted.
func (e *ledgerEnv) post(t *testing.T, tx ledger.Transaction, wantCreated bool) ledger.Transaction {
	t.Helper()
	rec, created, err := e.s.Post(e.ctx, tx)
	if err != nil {
		t.Fatalf("Post(%s): %v", tx.Key, err)
	}
	if created != wantCreated {
		t.Fatalf("Post(%s): created = %v, want %v", tx.Key, created, wantCreated)
	}
	return rec
}

// wantBalance fails unless tenantID's balance in currency is available + blocked,
// each printed by ledger.Format exactly as given.
func (e *ledgerEnv) wantBalance(t *testing.T, tenantID, currency, available, blocked string) {
	t.Helper()
	b, err := e.s.Balance(e.ctx, tenantID, currency)
	if err != nil {
		t.Fatalf("Balance(%s, %s): %v", tenantID, currency, err)
	}
	total := ledger.Format(amount(available).Add(amount(blocked)))
	if b.TenantID != tenantID || b.Currency != currency || ledger.Format(b.Available) != available ||
		ledger.Format(b.Blocked) != blocked || ledger.Format(b.Amount) != total {
		t.Fatalf("Balance(%s, %s) = %s/%s available %s blocked %s amount %s, want available %s blocked %s amount %s",
			tenantID, currency, b.TenantID, b.Currency, ledger.Format(b.Available), ledger.Format(b.Blocked), ledger.Format(b.Amount),
			available, blocked, total)
	}
}

// wantRecorded fails unless rec is tx as recorded: same tenant, key, kind, reference
// and postings (in order, amounts normalized), an id, and At from the clock.
func wantRecorded(t *testing.T, rec, tx ledger.Transaction, at time.Time) {
	t.Helper()
	if rec.ID == "" || (tx.ID != "" && rec.ID != tx.ID) {
		t.Errorf("recorded id %q, want %q or a generated one", rec.ID, tx.ID)
	}
	if rec.TenantID != tx.TenantID || rec.Key != tx.Key || rec.Kind != tx.Kind || rec.Reference != tx.Reference {
		t.Errorf("recorded %s/%s/%s/%q, want %s/%s/%s/%q", rec.TenantID, rec.Key, rec.Kind, rec.Reference,
			tx.TenantID, tx.Key, tx.Kind, tx.Reference)
	}
	wantTime(t, "At", rec.At, at)
	if len(rec.Postings) != len(tx.Postings) {
		t.Fatalf("recorded %d postings, want %d", len(rec.Postings), len(tx.Postings))
	}
	for i, p := range rec.Postings {
		w := tx.Postings[i]
		if p.Account != w.Account || p.Currency != w.Currency || ledger.Format(p.Amount) != ledger.Format(w.Amount) ||
			p.Amount.String() != ledger.Normalize(w.Amount).String() || ledger.Digits(p.Amount) != -min(0, p.Amount.Exponent()) {
			t.Errorf("posting %d = %s %s %s (exponent %d), want %s %s %s normalized",
				i, p.Account, p.Currency, p.Amount, p.Amount.Exponent(), w.Account, w.Currency, ledger.Format(w.Amount))
		}
	}
}

var ledgerCases = []struct {
	name string
	run  func(t *testing.T, e *ledgerEnv)
}{
	{"a top-up credits the available account", func(t *testing.T, e *ledgerEnv) {
		tx := ledger.NewTopup(e.tenant, newID("pay"), "invoice 7", amount("10.50"), "EUR")
		rec := e.post(t, tx, true)
		wantRecorded(t, rec, tx, start)
		e.wantBalance(t, e.tenant, "EUR", "10.5", "0")
	}},
	{"top-ups add up exactly", func(t *testing.T, e *ledgerEnv) {
		for _, c := range []struct {
			amounts []string
			want    string
		}{
			{[]string{"0.1", "0.2"}, "0.3"},
			{[]string{"0.000000000000000001", "0.000000000000000001", "0.000000000000000001"}, "0.000000000000000003"},
			{[]string{"1", "0.000000000000000001"}, "1.000000000000000001"},
			{[]string{"12345678901234567890.123456789012345678", "0.000000000000000001"}, "12345678901234567890.123456789012345679"},
			{[]string{"99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999"}, "199999999999999999999.999999999999999998"},
			{[]string{"0.016929", "0.016929", "0.016929"}, "0.050787"},
		} {
			tenant := newID("tenant")
			for _, a := range c.amounts {
				e.post(t, ledger.NewTopup(tenant, newID("pay"), "", amount(a), "USD"), true)
			}
			e.wantBalance(t, tenant, "USD", c.want, "0")
		}
	}},
	{"a retry with the same key and postings records nothing", func(t *testing.T, e *ledgerEnv) {
		tx := ledger.NewTopup(e.tenant, newID("pay"), "first", amount("10.5"), "EUR")
		first := e.post(t, tx, true)
		e.clock.Advance(time.Hour)
		for _, retry := range []ledger.Transaction{
			tx,
			ledger.NewTopup(e.tenant, tx.Key, "another reference", amount("10.500"), "EUR"), // same postings
			func() ledger.Transaction { // the same postings in another order
				r := tx.Clone()
				r.Postings[0], r.Postings[1] = r.Postings[1], r.Postings[0]
				return r
			}(),
		} {
			again := e.post(t, retry, false)
			wantRecorded(t, again, tx, start) // the first one's id, reference, postings and time
			if again.ID != first.ID {
				t.Fatalf("retry returned transaction %s, want %s", again.ID, first.ID)
			}
		}
		e.wantBalance(t, e.tenant, "EUR", "10.5", "0")
	}},
	{"Get finds a transaction by its key, and only its tenant's", func(t *testing.T, e *ledgerEnv) {
		e.post(t, e.topup("5", "EUR"), true)
		reserve := e.post(t, ledger.NewReserve(e.tenant, "m1", amount("1.25"), "EUR"), true)
		commit := ledger.NewCommit(e.tenant, "m1", amount("1.25"), amount("1"), "EUR", "", decimal.Zero)
		e.clock.Advance(time.Hour)
		e.post(t, commit, true)
		got, err := e.s.Get(e.ctx, e.tenant, ledger.SettleKey("m1"))
		if err != nil {
			t.Fatal(err)
		}
		wantRecorded(t, got, commit, start.Add(time.Hour))
		if got.Reservation != "m1" {
			t.Fatalf("Get: reservation %q, want m1", got.Reservation)
		}
		if got, err := e.s.Get(e.ctx, e.tenant, ledger.ReserveKey("m1")); err != nil || got.ID != reserve.ID {
			t.Fatalf("Get(reserve) = %+v, %v; want %s", got, err, reserve.ID)
		}
		for _, c := range [][2]string{{e.tenant, ledger.SettleKey("m2")}, {newID("tenant"), ledger.SettleKey("m1")}} {
			_, err := e.s.Get(e.ctx, c[0], c[1])
			wantCode(t, err, errs.NotFound)
		}
	}},
	{"the same key with other postings is Conflict", func(t *testing.T, e *ledgerEnv) {
		tx := e.topup("10", "EUR")
		e.post(t, tx, true)
		for _, other := range []ledger.Transaction{
			ledger.NewTopup(e.tenant, tx.Key, tx.Reference, amount("11"), "EUR"),
			ledger.NewTopup(e.tenant, tx.Key, tx.Reference, amount("10.000000000000000001"), "EUR"),
			ledger.NewTopup(e.tenant, tx.Key, tx.Reference, amount("10"), "USD"),
			func() ledger.Transaction { r := tx.Clone(); r.Kind = "adjustment"; return r }(),
		} {
			_, _, err := e.s.Post(e.ctx, other)
			wantCode(t, err, errs.Conflict)
		}
		e.wantBalance(t, e.tenant, "EUR", "10", "0")
		e.wantBalance(t, e.tenant, "USD", "0", "0")
	}},
	{"an invalid transaction is Invalid and records nothing", func(t *testing.T, e *ledgerEnv) {
		key := newID("pay")
		valid := ledger.NewTopup(e.tenant, key, "", amount("10"), "EUR")
		for name, edit := range map[string]func(tx *ledger.Transaction){
			"unbalanced":           func(tx *ledger.Transaction) { tx.Postings[1].Amount = amount("-9") },
			"unbalanced by 1e-18":  func(tx *ledger.Transaction) { tx.Postings[1].Amount = amount("-9.999999999999999999") },
			"19 fractional digits": func(tx *ledger.Transaction) { tx.Postings[0].Amount = amount("10.0000000000000000001") },
			"21 integer digits": func(tx *ledger.Transaction) {
				*tx = ledger.NewTopup(e.tenant, key, "", amount("100000000000000000000"), "EUR")
			},
			"one posting": func(tx *ledger.Transaction) { tx.Postings = tx.Postings[:1] },
			"a zero posting": func(tx *ledger.Transaction) {
				tx.Postings = append(tx.Postings, ledger.Posting{Account: "x", Currency: "EUR"})
			},
			"no account":            func(tx *ledger.Transaction) { tx.Postings[1].Account = "" },
			"lower-case currency":   func(tx *ledger.Transaction) { tx.Postings[0].Currency, tx.Postings[1].Currency = "eur", "eur" },
			"unknown currency":      func(tx *ledger.Transaction) { tx.Postings[0].Currency, tx.Postings[1].Currency = "ABC", "ABC" },
			"currencies unbalanced": func(tx *ledger.Transaction) { tx.Postings[1].Currency = "USD" },
			"no key":                func(tx *ledger.Transaction) { tx.Key = "" },
			"no kind":               func(tx *ledger.Transaction) { tx.Kind = "" },
		} {
			tx := valid.Clone()
			edit(&tx)
			if _, _, err := e.s.Post(e.ctx, tx); errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Post %s: %v, want code %q", name, err, errs.Invalid)
			}
		}
		e.wantBalance(t, e.tenant, "EUR", "0", "0")
		e.wantBalance(t, e.tenant, "USD", "0", "0")
		e.post(t, valid, true) // the key is still free
		e.wantBalance(t, e.tenant, "EUR", "10", "0")
	}},
	{"bad balance queries are Invalid", func(t *testing.T, e *ledgerEnv) {
		for _, c := range []struct{ tenant, currency string }{{"", "EUR"}, {e.tenant, ""}, {e.tenant, "eur"}, {e.tenant, "EURO"}, {e.tenant, "ABC"}} {
			_, err := e.s.Balance(e.ctx, c.tenant, c.currency)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Balance(%q, %q): %v, want code %q", c.tenant, c.currency, err, errs.Invalid)
			}
		}
	}},
	{"a tenant with nothing has a zero balance", func(t *testing.T, e *ledgerEnv) {
		e.wantBalance(t, e.tenant, "EUR", "0", "0")
		e.wantBalance(t, e.tenant, "JPY", "0", "0")
	}},
	{"currencies are separate", func(t *testing.T, e *ledgerEnv) {
		e.post(t, e.topup("5", "EUR"), true)
		e.wantBalance(t, e.tenant, "USD", "0", "0")
		e.post(t, e.topup("7.25", "USD"), true)
		e.wantBalance(t, e.tenant, "EUR", "5", "0")
		e.wantBalance(t, e.tenant, "USD", "7.25", "0")
		// One transaction may move two currencies, each balanced on its own.
		e.post(t, ledger.Transaction{TenantID: e.tenant, Kind: "fx", Key: newID("fx"), Postings: []ledger.Posting{
			{Account: ledger.TenantAvailable(e.tenant), Amount: amount("-2"), Currency: "EUR"},
			{Account: "platform:fx", Amount: amount("2"), Currency: "EUR"},
			{Account: "platform:fx", Amount: amount("-2.16"), Currency: "USD"},
			{Account: ledger.TenantAvailable(e.tenant), Amount: amount("2.16"), Currency: "USD"},
		}}, true)
		e.wantBalance(t, e.tenant, "EUR", "3", "0")
		e.wantBalance(t, e.tenant, "USD", "9.41", "0")
	}},
	{"tenants are separate", func(t *testing.T, e *ledgerEnv) {
		other := newID("tenant")
		tx := e.topup("5", "EUR")
		e.post(t, tx, true)
		e.wantBalance(t, other, "EUR", "0", "0")
		// Keys are scoped by tenant: the other tenant's same key is its own transaction.
		rec := e.post(t, ledger.NewTopup(other, tx.Key, "", amount("3"), "EUR"), true)
		if rec.TenantID != other {
			t.Fatalf("recorded for tenant %s, want %s", rec.TenantID, other)
		}
		e.wantBalance(t, e.tenant, "EUR", "5", "0")
		e.wantBalance(t, other, "EUR", "3", "0")
	}},
	{"reserved funds are blocked", func(t *testing.T, e *ledgerEnv) {
		e.post(t, e.topup("10", "EUR"), true)
		e.post(t, ledger.Transaction{TenantID: e.tenant, Kind: "reserve", Key: newID("msg"), Postings: []ledger.Posting{
			{Account: ledger.TenantAvailable(e.tenant), Amount: amount("-0.016929"), Currency: "EUR"},
			{Account: ledger.TenantReserved(e.tenant), Amount: amount("0.016929"), Currency: "EUR"},
		}}, true)
		e.wantBalance(t, e.tenant, "EUR", "9.983071", "0.016929")
	}},
	{"a caller's transaction id is kept, and used only once", func(t *testing.T, e *ledgerEnv) {
		tx := e.topup("1", "EUR")
		tx.ID = newID("tx")
		rec := e.post(t, tx, true)
		wantRecorded(t, rec, tx, start)
		again := e.topup("2", "EUR")
		again.ID = tx.ID
		_, _, err := e.s.Post(e.ctx, again)
		wantCode(t, err, errs.Conflict)
		e.wantBalance(t, e.tenant, "EUR", "1", "0")
		e.post(t, ledger.NewTopup(e.tenant, again.Key, "", amount("2"), "EUR"), true) // its key is still free
		e.wantBalance(t, e.tenant, "EUR", "3", "0")
	}},
	{"transactions are copied in and out", func(t *testing.T, e *ledgerEnv) {
		tx := e.topup("4", "EUR")
		want := tx.Clone()
		rec := e.post(t, tx, true)
		tx.Postings[0].Account, tx.Postings[1].Amount = "changed", amount("-1")
		rec.Postings[0].Account = "changed too"
		wantRecorded(t, e.post(t, want, false), want, start)
		e.wantBalance(t, e.tenant, "EUR", "4", "0")
	}},
	{"concurrent top-ups add up", func(t *testing.T, e *ledgerEnv) {
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-ready
				if _, created, err := e.s.Post(e.ctx, e.topup("0.01", "EUR")); err != nil || !created {
					t.Errorf("Post: created %v, %v", created, err)
				}
			})
		}
		close(ready)
		wg.Wait()
		e.wantBalance(t, e.tenant, "EUR", "0.5", "0")
	}},
	{"concurrent posts of one key record it once", func(t *testing.T, e *ledgerEnv) {
		tx := e.topup("0.01", "EUR")
		var mu sync.Mutex
		ids := map[string]int{}
		created := 0
		var wg sync.WaitGroup
		ready := make(chan struct{}) // released at once, so the posts race
		for range 20 {
			wg.Go(func() {
				<-ready
				rec, c, err := e.s.Post(e.ctx, tx)
				if err != nil {
					t.Errorf("Post: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[rec.ID]++
				if c {
					created++
				}
			})
		}
		close(ready)
		wg.Wait()
		if created != 1 || len(ids) != 1 {
			t.Errorf("%d posts created, transaction ids %v; want 1 created and one id", created, ids)
		}
		e.wantBalance(t, e.tenant, "EUR", "0.01", "0")
	}},
}
