package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// BatcherOptions configures NewBatcher; zero values take the defaults.
type BatcherOptions struct {
	// MaxBatch is the most transactions one PostBatch carries (default 256).
	MaxBatch int
	// MaxDelay is how long the first post of a batch waits for company (default
	// 2ms): the latency a lone post pays for throughput under load.
	MaxDelay time.Duration
	// FlushTimeout bounds each PostBatch call (default 30s), since no caller's ctx
	// governs a batch shared by many.
	FlushTimeout time.Duration
	// Logger receives batch failures (default slog.Default()).
	Logger *slog.Logger
}

// Batcher is a Store whose Post joins concurrent posts into one PostBatch: a single
// flusher goroutine collects posts until MaxBatch are waiting or MaxDelay has passed
// since the first, posts them in one call and hands each caller its own result. Every
// other method goes straight to the store. Close it to stop the flusher.
type Batcher struct {
	store Store
	opts  BatcherOptions

	mu     sync.RWMutex // held for reading while sending on reqs, for writing to close it
	closed bool
	reqs   chan *request
	done   chan struct{} // closed when the flusher has answered everything and exited
}

type request struct {
	ctx context.Context
	tx  Transaction
	res chan Posted // buffered: the flusher never waits for a caller
}

var _ Store = (*Batcher)(nil)

// NewBatcher starts a Batcher posting to store.
func NewBatcher(store Store, opts BatcherOptions) *Batcher {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 2 * time.Millisecond
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &Batcher{store: store, opts: opts, reqs: make(chan *request, opts.MaxBatch), done: make(chan struct{})}
	go b.flusher()
	return b
}

// Post implements Store: tx joins the next batch and Post waits for its result. When
// ctx ends first Post returns Timeout (deadline) or Unavailable (canceled): tx may or
// may not be recorded, and posting it again with the same key is safe. After Close,
// Post is Unavailable.
func (b *Batcher) Post(ctx context.Context, tx Transaction) (Transaction, bool, error) {
	if err := ctx.Err(); err != nil {
		return Transaction{}, false, ctxError(err)
	}
	r := &request{ctx: ctx, tx: tx, res: make(chan Posted, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return Transaction{}, false, errs.E(errs.Unavailable, "ledger batcher: closed")
	}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		b.mu.RUnlock()
		return Transaction{}, false, ctxError(ctx.Err())
	}
	b.mu.RUnlock()
	select {
	case p := <-r.res:
		return p.Transaction, p.Created, p.Err
	case <-ctx.Done():
		return Transaction{}, false, ctxError(ctx.Err())
	}
}

func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.Timeout, err, "ledger batcher: post")
	}
	return errs.Wrap(errs.Unavailable, err, "ledger batcher: post canceled")
}

// Close stops taking posts, flushes those already taken, and waits for the flusher to
// finish. It is safe to call more than once.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.done
}

// flusher collects requests into batches until reqs is closed and drained.
func (b *Batcher) flusher() {
	defer close(b.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]*request, 0, b.opts.MaxBatch)
	for {
		r, ok := <-b.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		timer.Reset(b.opts.MaxDelay)
	collect:
		for len(batch) < b.opts.MaxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break collect // closed: flush what there is, then exit above
				}
				batch = append(batch, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		b.flush(batch)
		clear(batch) // let the answered requests go
	}
}

// flush posts the batch's live requests and answers every request.
func (b *Batcher) flush(batch []*request) {
	live := batch[:0:0]
	txs := make([]Transaction, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.res <- Posted{Err: ctxError(err)} // its caller has gone: not posted
			continue
		}
		live = append(live, r)
		txs = append(txs, r.tx)
	}
	if len(live) == 0 {
		return
	}
	out, err := b.postBatch(txs)
	if err == nil && len(out) != len(txs) {
		err = errs.E(errs.Internal, "ledger batcher: PostBatch answered %d of %d transactions", len(out), len(txs))
	}
	if err != nil {
		b.opts.Logger.Error("ledger batch failed", "transactions", len(txs), "error", err)
		for _, r := range live {
			r.res <- Posted{Err: err}
		}
		return
	}
	for i, r := range live {
		r.res <- out[i]
	}
}

// postBatch calls the store, turning a panic into an error so the flusher survives.
func (b *Batcher) postBatch(txs []Transaction) (out []Posted, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, errs.E(errs.Internal, "ledger batcher: PostBatch panicked: %v", fmt.Sprint(p))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.FlushTimeout)
	defer cancel()
	return b.store.PostBatch(ctx, txs)
}

// PostBatch implements Store: the batch goes to the store as it is.
func (b *Batcher) PostBatch(ctx context.Context, txs []Transaction) ([]Posted, error) {
	return b.store.PostBatch(ctx, txs)
}

// Balance implements Store.
func (b *Batcher) Balance(ctx context.Context, tenantID, currency string) (Balance, error) {
	return b.store.Balance(ctx, tenantID, currency)
}

// Accounts implements Store.
func (b *Batcher) Accounts(ctx context.Context) ([]AccountTotal, error) {
	return b.store.Accounts(ctx)
}

// Get implements Store.
func (b *Batcher) Get(ctx context.Context, tenantID, key string) (Transaction, error) {
	return b.store.Get(ctx, tenantID, key)
}

// OpenReservations implements Store.
func (b *Batcher) OpenReservations(ctx context.Context, tenantID string) ([]Transaction, error) {
	return b.store.OpenReservations(ctx, tenantID)
}
