package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// countingStore records the sizes of the batches a Batcher sends, and can hold them
// (gate) or fail them (fail).
type countingStore struct {
	ledger.Store
	mu      sync.Mutex
	batches []int
	gate    chan struct{} // when set, PostBatch waits for it to close
	fail    error
	panics  bool
}

func (s *countingStore) PostBatch(ctx context.Context, txs []ledger.Transaction) ([]ledger.Posted, error) {
	s.mu.Lock()
	s.batches = append(s.batches, len(txs))
	gate, fail, panics := s.gate, s.fail, s.panics
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if panics {
		panic("boom")
	}
	if fail != nil {
		return nil, fail
	}
	return s.Store.PostBatch(ctx, txs)
}

func (s *countingStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

func newCounting() *countingStore { return &countingStore{Store: inmem.New().Ledger()} }

func topup(tenant, value string) ledger.Transaction {
	return ledger.NewTopup(tenant, uuid.NewString(), "", decimal.RequireFromString(value), "EUR")
}

func TestBatcherGroupsConcurrentPosts(t *testing.T) {
	t.Parallel()
	store := newCounting()
	b := ledger.NewBatcher(store, ledger.BatcherOptions{MaxBatch: 64, MaxDelay: 20 * time.Millisecond})
	defer b.Close()
	const n = 500
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-ready
			if _, created, err := b.Post(context.Background(), topup("t1", "0.01")); err != nil || !created {
				t.Errorf("Post: created %v, %v", created, err)
			}
		})
	}
	close(ready)
	wg.Wait()
	bal, err := b.Balance(context.Background(), "t1", "EUR")
	if err != nil || ledger.Format(bal.Available) != "5" {
		t.Fatalf("Balance = %v, %v; want 5 available", bal, err)
	}
	sizes, total := store.sizes(), 0
	for _, s := range sizes {
		if s > 64 {
			t.Errorf("a batch of %d, more than MaxBatch", s)
		}
		total += s
	}
	if total != n || len(sizes) >= n/4 {
		t.Errorf("%d posts went in %d batches (%v); want them grouped", total, len(sizes), sizes)
	}
}

func TestBatcherAnswersEachPostItsOwnResult(t *testing.T) {
	t.Parallel()
	store := newCounting()
	b := ledger.NewBatcher(store, ledger.BatcherOptions{MaxDelay: 50 * time.Millisecond})
	defer b.Close()
	ctx := context.Background()
	used := topup("t2", "1")
	first, _, err := b.Post(ctx, used)
	if err != nil {
		t.Fatal(err)
	}
	invalid := topup("t2", "1")
	invalid.Postings[1].Amount = decimal.RequireFromString("-2")
	cases := []struct {
		tx      ledger.Transaction
		code    errs.Code
		created bool
	}{
		{topup("t2", "2"), "", true},
		{used, "", false},
		{ledger.NewTopup("t2", used.Key, "", decimal.RequireFromString("3"), "EUR"), errs.Conflict, false},
		{invalid, errs.Invalid, false},
	}
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			rec, created, err := b.Post(ctx, c.tx)
			if errs.CodeOf(err) != c.code || created != c.created {
				t.Errorf("case %d: created %v, %v; want created %v, code %q", i, created, err, c.created, c.code)
			}
			if i == 1 && rec.ID != first.ID {
				t.Errorf("retry answered with %s, want %s", rec.ID, first.ID)
			}
		})
	}
	wg.Wait()
	if sizes := store.sizes(); len(sizes) != 2 {
		t.Errorf("batches %v, want the first post and then one batch of 4", sizes)
	}
}

func TestBatcherPostRespectsContext(t *testing.T) {
	t.Parallel()
	store := newCounting()
	gate := make(chan struct{})
	store.gate = gate
	b := ledger.NewBatcher(store, ledger.BatcherOptions{})
	defer b.Close()
	defer close(gate) // before Close: let the held batch finish

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.Post(ctx, topup("t3", "1")); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("Post with a canceled ctx: %v, want Unavailable", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := b.Post(ctx, topup("t3", "1")) // its batch is held at the gate
	if errs.CodeOf(err) != errs.Timeout || time.Since(start) > 2*time.Second {
		t.Fatalf("Post past its deadline: %v after %v, want Timeout at once", err, time.Since(start))
	}
}

func TestBatcherSkipsPostsWhoseCallerLeft(t *testing.T) {
	t.Parallel()
	store := newCounting()
	store.gate = make(chan struct{})
	b := ledger.NewBatcher(store, ledger.BatcherOptions{MaxDelay: time.Millisecond})
	// The first batch holds the flusher; the next post waits in the queue and its
	// caller gives up before the flusher gets to it.
	go func() { _, _, _ = b.Post(context.Background(), topup("t4", "1")) }()
	waitFor(t, func() bool { return len(store.sizes()) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, _, err := b.Post(ctx, topup("t4", "2")); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("canceled Post: %v", err)
	}
	close(store.gate)
	b.Close()
	if sizes := store.sizes(); len(sizes) != 1 {
		t.Errorf("batches %v: the abandoned post was sent", sizes)
	}
	bal, _ := b.Balance(context.Background(), "t4", "EUR")
	if ledger.Format(bal.Available) != "1" {
		t.Errorf("available %s, want 1", ledger.Format(bal.Available))
	}
}

func TestBatcherCloseFlushes(t *testing.T) {
	t.Parallel()
	store := newCounting()
	b := ledger.NewBatcher(store, ledger.BatcherOptions{MaxDelay: time.Hour}) // only Close or a full batch flushes
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, created, err := b.Post(context.Background(), topup("t5", "1")); err != nil || !created {
				t.Errorf("Post before Close: created %v, %v", created, err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	b.Close()
	wg.Wait()
	b.Close() // twice is fine
	if _, _, err := b.Post(context.Background(), topup("t5", "1")); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("Post after Close: %v, want Unavailable", err)
	}
	bal, _ := b.Balance(context.Background(), "t5", "EUR")
	if ledger.Format(bal.Available) != "10" {
		t.Errorf("available %s after Close, want 10", ledger.Format(bal.Available))
	}
}

func TestBatcherBatchFailureReachesEveryPost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		fail   error
		panics bool
		code   errs.Code
	}{
		{"error", errs.E(errs.Unavailable, "database down"), false, errs.Unavailable},
		{"panic", nil, true, errs.Internal},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := newCounting()
			store.fail, store.panics = c.fail, c.panics
			b := ledger.NewBatcher(store, ledger.BatcherOptions{MaxDelay: 20 * time.Millisecond})
			defer b.Close()
			var wg sync.WaitGroup
			var failed atomic.Int32
			for range 5 {
				wg.Go(func() {
					if _, _, err := b.Post(context.Background(), topup("t6", "1")); errs.CodeOf(err) == c.code {
						failed.Add(1)
					} else {
						t.Errorf("Post: %v, want code %q", err, c.code)
					}
				})
			}
			wg.Wait()
			if failed.Load() != 5 {
				t.Errorf("%d posts failed, want 5", failed.Load())
			}
			store.mu.Lock()
			store.fail, store.panics = nil, false
			store.mu.Unlock()
			if _, created, err := b.Post(context.Background(), topup("t6", "1")); err != nil || !created { // the flusher survived
				t.Errorf("Post after the failure: %v, %v", created, err)
			}
		})
	}
}

func TestBatcherDelegates(t *testing.T) {
	t.Parallel()
	b := ledger.NewBatcher(inmem.New().Ledger(), ledger.BatcherOptions{})
	defer b.Close()
	ctx := context.Background()
	out, err := b.PostBatch(ctx, []ledger.Transaction{
		ledger.NewReserve("t7", "r1", decimal.RequireFromString("1"), "EUR"), topup("t7", "5")})
	if err != nil || !out[0].Created || !out[1].Created {
		t.Fatalf("PostBatch = %v, %v", out, err)
	}
	open, err := b.OpenReservations(ctx, "t7")
	if err != nil || len(open) != 1 || open[0].Reservation != "r1" {
		t.Fatalf("OpenReservations = %v, %v", open, err)
	}
	accounts, err := b.Accounts(ctx)
	if err != nil || len(accounts) != 3 {
		t.Fatalf("Accounts = %v, %v", accounts, err)
	}
	if got := fmt.Sprint(accounts[0].Account, " ", ledger.Format(accounts[0].Balance)); got != "platform:topups -5" {
		t.Errorf("first account %s", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not met in 5s"))
		}
	}
}
