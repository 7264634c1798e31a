package storetest

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// postBatch posts txs and fails unless the batch as a whole succeeds with one result
// per transaction.
func (e *ledgerEnv) postBatch(t *testing.T, txs ...ledger.Transaction) []ledger.Posted {
	t.Helper()
	out, err := e.s.PostBatch(e.ctx, txs)
	if err != nil {
		t.Fatalf("PostBatch(%d): %v", len(txs), err)
	}
	if len(out) != len(txs) {
		t.Fatalf("PostBatch(%d) returned %d results", len(txs), len(out))
	}
	return out
}

// wantPosted fails unless r is a success with created as wanted.
func wantPosted(t *testing.T, what string, r ledger.Posted, created bool) {
	t.Helper()
	if r.Err != nil || r.Created != created {
		t.Fatalf("%s: created %v, %v; want created %v", what, r.Created, r.Err, created)
	}
}

// accounts returns the store's totals of the accounts whose names contain one of ids.
func (e *ledgerEnv) accounts(t *testing.T, ids ...string) map[string]ledger.AccountTotal {
	t.Helper()
	all, err := e.s.Accounts(e.ctx)
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Account > b.Account || a.Account == b.Account && a.Currency >= b.Currency {
			t.Fatalf("Accounts not sorted by account then currency: %s/%s before %s/%s", a.Account, a.Currency, b.Account, b.Currency)
		}
	}
	out := map[string]ledger.AccountTotal{}
	for _, a := range all {
		for _, id := range ids {
			if strings.Contains(a.Account, id) {
				out[a.Account+"/"+a.Currency] = a
			}
		}
	}
	return out
}

// wantAccount fails unless got holds account/currency with exactly these totals.
func wantAccount(t *testing.T, got map[string]ledger.AccountTotal, account, currency, credits, debits, balance string, postings int64) {
	t.Helper()
	a, ok := got[account+"/"+currency]
	if !ok {
		t.Fatalf("Accounts has no %s/%s", account, currency)
	}
	if ledger.Format(a.Credits) != credits || ledger.Format(a.Debits) != debits || ledger.Format(a.Balance) != balance || a.Postings != postings {
		t.Errorf("%s/%s: credits %s debits %s balance %s postings %d; want %s %s %s %d", account, currency,
			ledger.Format(a.Credits), ledger.Format(a.Debits), ledger.Format(a.Balance), a.Postings, credits, debits, balance, postings)
	}
}

// wantOpen fails unless the tenant's open reservations are exactly these, in order.
func (e *ledgerEnv) wantOpen(t *testing.T, tenantID string, reservations ...string) []ledger.Transaction {
	t.Helper()
	open, err := e.s.OpenReservations(e.ctx, tenantID)
	if err != nil {
		t.Fatalf("OpenReservations: %v", err)
	}
	var got []string
	for _, tx := range open {
		got = append(got, tx.Reservation)
	}
	if strings.Join(got, ",") != strings.Join(reservations, ",") {
		t.Fatalf("open reservations of %s = %v, want %v", tenantID, got, reservations)
	}
	return open
}

var ledgerBatchCases = []struct {
	name string
	run  func(t *testing.T, e *ledgerEnv)
}{
	{"a batch answers each item as Post would", func(t *testing.T, e *ledgerEnv) {
		old := e.topup("1", "EUR")
		first := e.post(t, old, true)
		e.clock.Advance(time.Minute)
		fresh, other := e.topup("2", "EUR"), e.topup("4", "EUR")
		invalid := e.topup("8", "EUR")
		invalid.Postings[1].Amount = amount("-7")
		sameID := e.topup("16", "EUR")
		sameID.ID = first.ID
		out := e.postBatch(t,
			fresh, // 0: new
			old,   // 1: a retry of an earlier post
			ledger.NewTopup(e.tenant, old.Key, "", amount("1.5"), "EUR"), // 2: its key, other postings
			invalid, // 3
			other,   // 4: new
			ledger.NewTopup(e.tenant, fresh.Key, "again", amount("2.00"), "EUR"), // 5: a retry of item 0
			ledger.NewTopup(e.tenant, fresh.Key, "", amount("3"), "EUR"),         // 6: item 0's key, other postings
			sameID, // 7: a new key with a used id
		)
		wantPosted(t, "new", out[0], true)
		wantRecorded(t, out[0].Transaction, fresh, start.Add(time.Minute))
		wantPosted(t, "retry", out[1], false)
		wantRecorded(t, out[1].Transaction, old, start)
		if out[1].Transaction.ID != first.ID {
			t.Errorf("retry answered with %s, want %s", out[1].Transaction.ID, first.ID)
		}
		wantCode(t, out[2].Err, errs.Conflict)
		wantCode(t, out[3].Err, errs.Invalid)
		wantPosted(t, "second new", out[4], true)
		wantPosted(t, "duplicate in the batch", out[5], false)
		if out[5].Transaction.ID != out[0].Transaction.ID {
			t.Errorf("duplicate answered with %s, want %s", out[5].Transaction.ID, out[0].Transaction.ID)
		}
		wantCode(t, out[6].Err, errs.Conflict)
		wantCode(t, out[7].Err, errs.Conflict)
		e.wantBalance(t, e.tenant, "EUR", "7", "0")
		got := e.accounts(t, e.tenant)
		wantAccount(t, got, ledger.TenantAvailable(e.tenant), "EUR", "7", "0", "7", 3)
		e.post(t, ledger.NewTopup(e.tenant, sameID.Key, "", amount("16"), "EUR"), true) // its key is still free
	}},
	{"an empty batch records nothing", func(t *testing.T, e *ledgerEnv) {
		if out, err := e.s.PostBatch(e.ctx, nil); err != nil || len(out) != 0 {
			t.Fatalf("PostBatch(nil) = %v, %v", out, err)
		}
	}},
	{"a batch adds every posting to the balances exactly", func(t *testing.T, e *ledgerEnv) {
		var txs []ledger.Transaction
		for range 10 {
			txs = append(txs, e.topup("0.1", "EUR"))
		}
		for i := range 5 {
			txs = append(txs, ledger.NewReserve(e.tenant, newID("r"), amount("0.000000000000000001"), "EUR"))
			txs = append(txs, txs[i]) // retries do not count twice
		}
		for i, r := range e.postBatch(t, txs...) {
			wantPosted(t, txs[i].Key, r, i < 10 || i%2 == 0)
		}
		e.wantBalance(t, e.tenant, "EUR", "0.999999999999999995", "0.000000000000000005")
		got := e.accounts(t, e.tenant)
		wantAccount(t, got, ledger.TenantAvailable(e.tenant), "EUR", "1", "0.000000000000000005", "0.999999999999999995", 15)
		wantAccount(t, got, ledger.TenantReserved(e.tenant), "EUR", "0.000000000000000005", "0", "0.000000000000000005", 5)
	}},
	{"concurrent overlapping batches record each key once", func(t *testing.T, e *ledgerEnv) {
		var txs []ledger.Transaction
		for i := range 40 {
			if i%2 == 0 {
				txs = append(txs, e.topup("0.01", "EUR"))
			} else {
				txs = append(txs, ledger.NewReserve(e.tenant, newID("r"), amount("0.001"), "EUR"))
			}
		}
		var mu sync.Mutex
		created := map[string]string{}
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for range 8 {
			batch := append([]ledger.Transaction(nil), txs...)
			rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			wg.Go(func() {
				<-ready
				out, err := e.s.PostBatch(e.ctx, batch)
				if err != nil {
					t.Errorf("PostBatch: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range out {
					if r.Err != nil {
						t.Errorf("PostBatch item: %v", r.Err)
					} else if r.Created {
						if _, dup := created[r.Transaction.Key]; dup {
							t.Errorf("key %s created twice", r.Transaction.Key)
						}
						created[r.Transaction.Key] = r.Transaction.ID
					}
				}
			})
		}
		close(ready)
		wg.Wait()
		if len(created) != len(txs) {
			t.Errorf("%d keys created, want %d", len(created), len(txs))
		}
		e.wantBalance(t, e.tenant, "EUR", "0.18", "0.02")
	}},
	{"a reservation is recorded with its transactions", func(t *testing.T, e *ledgerEnv) {
		res := newID("res")
		tx := ledger.NewReserve(e.tenant, res, amount("0.25"), "EUR")
		rec := e.post(t, tx, true)
		wantRecorded(t, rec, tx, start)
		again := e.post(t, tx, false)
		if rec.Reservation != res || again.Reservation != res {
			t.Fatalf("reservation recorded as %q, read back as %q; want %q", rec.Reservation, again.Reservation, res)
		}
		open := e.wantOpen(t, e.tenant, res)
		wantRecorded(t, open[0], tx, start)
		if open[0].ID != rec.ID {
			t.Errorf("open reservation %s, want %s", open[0].ID, rec.ID)
		}
		rel := e.post(t, ledger.NewRelease(e.tenant, res, amount("0.25"), "EUR"), true)
		if rel.Reservation != res || rel.Kind != ledger.Release {
			t.Errorf("release recorded as %s of %q", rel.Kind, rel.Reservation)
		}
	}},
	{"accounts total credits, debits and postings", func(t *testing.T, e *ledgerEnv) {
		partner := ledger.PartnerCommission(newID("partner"))
		e.post(t, e.topup("10", "EUR"), true)
		e.post(t, e.topup("3", "USD"), true)
		res := newID("res")
		e.post(t, ledger.NewReserve(e.tenant, res, amount("0.5"), "EUR"), true)
		e.post(t, ledger.NewCommit(e.tenant, res, amount("0.5"), amount("0.3"), "EUR", partner, amount("0.1")), true)
		got := e.accounts(t, e.tenant, partner)
		if len(got) != 4 {
			t.Errorf("Accounts has %d accounts of the tenant and partner, want 4: %v", len(got), got)
		}
		wantAccount(t, got, ledger.TenantAvailable(e.tenant), "EUR", "10.2", "0.5", "9.7", 3)
		wantAccount(t, got, ledger.TenantAvailable(e.tenant), "USD", "3", "0", "3", 1)
		wantAccount(t, got, ledger.TenantReserved(e.tenant), "EUR", "0.5", "0.5", "0", 2)
		wantAccount(t, got, partner, "EUR", "0.1", "0", "0.1", 1)
		e.wantBalance(t, e.tenant, "EUR", "9.7", "0")
	}},
	{"open reservations are those not yet settled", func(t *testing.T, e *ledgerEnv) {
		other := newID("tenant")
		e.wantOpen(t, e.tenant)
		r := []string{newID("r1"), newID("r2"), newID("r3"), newID("r4")}
		for _, id := range r {
			e.post(t, ledger.NewReserve(e.tenant, id, amount("1"), "EUR"), true)
			e.clock.Advance(time.Second)
		}
		e.post(t, ledger.NewReserve(other, newID("r"), amount("1"), "EUR"), true)
		e.wantOpen(t, e.tenant, r...)
		e.post(t, ledger.NewCommit(e.tenant, r[0], amount("1"), amount("1"), "EUR", "", amount("0")), true)
		e.post(t, ledger.NewRelease(e.tenant, r[2], amount("1"), "EUR"), true)
		open := e.wantOpen(t, e.tenant, r[1], r[3])
		wantRecorded(t, open[1], ledger.NewReserve(e.tenant, r[3], amount("1"), "EUR"), start.Add(3*time.Second))
		// Commit and release share the SettleKey: a reservation is settled once.
		_, _, err := e.s.Post(e.ctx, ledger.NewRelease(e.tenant, r[0], amount("1"), "EUR"))
		wantCode(t, err, errs.Conflict)
		_, _, err = e.s.Post(e.ctx, ledger.NewCommit(e.tenant, r[2], amount("1"), amount("1"), "EUR", "", amount("0")))
		wantCode(t, err, errs.Conflict)
		e.post(t, ledger.NewRelease(e.tenant, r[2], amount("1"), "EUR"), false)
		out := e.postBatch(t, ledger.NewRelease(e.tenant, r[1], amount("1"), "EUR"), ledger.NewRelease(e.tenant, r[3], amount("1"), "EUR"))
		wantPosted(t, "release", out[0], true)
		wantPosted(t, "release", out[1], true)
		e.wantOpen(t, e.tenant)
		e.wantBalance(t, e.tenant, "EUR", "-1", "0")
	}},
}
