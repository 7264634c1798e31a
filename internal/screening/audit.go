package screening

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// auditBatcher groups concurrent audit writes into one store call: every decision
// is audited before its event goes on, so without batching each would cost its own
// database round trip. A caller waits for the batch holding its record.
type auditBatcher struct {
	store firewall.Audit
	log   *slog.Logger
	in    chan auditReq
	wg    sync.WaitGroup
	once  sync.Once
	// mu guards closed: a record after close is refused, not a send on a closed
	// channel.
	mu     sync.RWMutex
	closed bool
}

type auditReq struct {
	ctx  context.Context
	rec  *firewall.AuditRecord // a pointer: records are large, and the caller waits
	done chan auditResult
}

// auditResult is a record's outcome: the verdict that stands for its id (Audit.RecordFirst).
type auditResult struct {
	standing *firewall.Verdict
	err      error
}

// auditBatchMax bounds one store call; auditBatchTimeout bounds its time.
const (
	auditBatchMax     = 256
	auditBatchTimeout = 10 * time.Second
)

func newAuditBatcher(store firewall.Audit, log *slog.Logger) *auditBatcher {
	b := &auditBatcher{store: store, log: log, in: make(chan auditReq, 4*auditBatchMax)}
	b.wg.Add(1)
	go b.run()
	return b
}

func (b *auditBatcher) record(ctx context.Context, rec *firewall.AuditRecord) (*firewall.Verdict, error) {
	done := make(chan auditResult, 1)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errs.E(errs.Unavailable, "firewall: audit closed")
	}
	select {
	case b.in <- auditReq{ctx: ctx, rec: rec, done: done}:
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	b.mu.RUnlock()
	select {
	case r := <-done:
		return r.standing, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run takes what is queued, up to auditBatchMax, and writes it in one call: a
// batch forms while the previous one is written, so load sets the batch size.
func (b *auditBatcher) run() {
	defer b.wg.Done()
	batch := make([]auditReq, 0, auditBatchMax)
	recs := make([]firewall.AuditRecord, 0, auditBatchMax)
	var deadline batchDeadline
	defer deadline.stop()
	for first := range b.in {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < auditBatchMax {
			select {
			case r, ok := <-b.in:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		recs = recs[:0]
		live := batch[:0:0]
		for _, r := range batch {
			if r.ctx.Err() == nil {
				recs = append(recs, *r.rec)
				live = append(live, r)
			} else {
				r.done <- auditResult{err: r.ctx.Err()}
			}
		}
		if len(recs) > 0 {
			// Not the first caller's context (its cancellation would fail the whole
			// batch), but a deadline of its own: a hung database must not stall every
			// decision behind it for longer than a caller would wait.
			standing, err := b.store.RecordFirst(deadline.next(), recs...)
			if err != nil {
				b.log.Warn("firewall: audit batch failed", "records", len(recs), "error", err)
			}
			for i, r := range live {
				res := auditResult{err: err}
				if err == nil {
					res.standing = standing[i]
				}
				r.done <- res
			}
		}
	}
}

// batchDeadline gives each batch between half of auditBatchTimeout and all of it: one
// context serves every batch of a window, as a context and timer per batch cost
// about 5 % of a decision's allocations when batches are small.
type batchDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	until  time.Time
}

func (d *batchDeadline) next() context.Context {
	if now := time.Now(); d.ctx == nil || d.until.Sub(now) < auditBatchTimeout/2 {
		d.stop()
		d.until = now.Add(auditBatchTimeout)
		d.ctx, d.cancel = context.WithDeadline(context.Background(), d.until)
	}
	return d.ctx
}

func (d *batchDeadline) stop() {
	if d.cancel != nil {
		d.cancel()
	}
}

func (b *auditBatcher) close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.in)
		b.mu.Unlock()
	})
	b.wg.Wait()
}
