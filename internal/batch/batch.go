// Package batch groups writes from concurrent callers into one store call: each
// caller waits for the flush its item was in and gets its error. The charges and
// settlements of billing and the message record's events go through it, so a
// database round trip carries many writes instead of one.
package batch

import (
	"context"
	"sync"
	"time"
)

// Batcher groups items added by concurrent callers into one flush; each caller
// waits for the flush its item was in and gets its error. A flush starts when
// maxItems are waiting or maxDelay after the first; flushes may run concurrently,
// so the flush function must be safe for that (and idempotent: a caller whose
// context ends may see its item flushed anyway).
type Batcher[T any] struct {
	flush      func(context.Context, []T) error
	maxItems   int
	maxDelay   time.Duration
	maxFlushes int // 0: no bound

	flushing sync.WaitGroup // flushes in flight, which Close waits for

	mu       sync.Mutex
	pending  []T
	waiters  []chan error
	timer    *time.Timer
	closed   bool
	inFlight int
}

// New returns a Batcher flushing with flush.
func New[T any](maxItems int, maxDelay time.Duration, flush func(context.Context, []T) error) *Batcher[T] {
	return &Batcher[T]{flush: flush, maxItems: maxItems, maxDelay: maxDelay}
}

// NewSerial returns a Batcher that runs at most maxFlushes flushes at once: while
// they run, items gather (past maxItems) and go together when one ends — a group
// commit. Flushes of one Batcher then do not wait on each other's row locks, and a
// busy store gets fewer, larger batches instead of more round trips.
func NewSerial[T any](maxItems int, maxDelay time.Duration, maxFlushes int, flush func(context.Context, []T) error) *Batcher[T] {
	return &Batcher[T]{flush: flush, maxItems: maxItems, maxDelay: maxDelay, maxFlushes: maxFlushes}
}

// Add queues item and waits until it is flushed (or ctx ends: the item may still be
// flushed; every flush is idempotent).
func (b *Batcher[T]) Add(ctx context.Context, item T) error {
	done := make(chan error, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.flush(ctx, []T{item})
	}
	b.pending = append(b.pending, item)
	b.waiters = append(b.waiters, done)
	switch {
	case len(b.pending) >= b.maxItems:
		b.take()
	case len(b.pending) == 1:
		b.timer = time.AfterFunc(b.maxDelay, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.take()
		})
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take hands the pending items to a flushing goroutine, unless maxFlushes are
// running (the last to end takes them); b.mu is held.
func (b *Batcher[T]) take() {
	if len(b.pending) == 0 || (b.maxFlushes > 0 && b.inFlight >= b.maxFlushes && !b.closed) {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	items, waiters := b.pending, b.waiters
	b.pending, b.waiters = nil, nil
	b.inFlight++
	b.flushing.Add(1)
	go func() {
		defer b.flushing.Done()
		defer func() {
			b.mu.Lock()
			b.inFlight--
			b.take()
			b.mu.Unlock()
		}()
		// The callers' contexts may end; the flush must not be cut short by them.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := b.flush(ctx, items)
		for _, w := range waiters {
			w <- err
		}
	}()
}

// Close flushes what is pending and waits for every flush in flight; later Adds
// flush on their own.
func (b *Batcher[T]) Close() {
	b.mu.Lock()
	b.closed = true
	b.take()
	b.mu.Unlock()
	b.flushing.Wait()
}
