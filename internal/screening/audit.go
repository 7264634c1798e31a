package screening

import (
	"context"
	"log/slog"
	"sync"

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
}

type auditReq struct {
	ctx  context.Context
	rec  *firewall.AuditRecord // a pointer: records are large, and the caller waits
	done chan error
}

// auditBatchMax bounds one store call.
const auditBatchMax = 256

func newAuditBatcher(store firewall.Audit, log *slog.Logger) *auditBatcher {
	b := &auditBatcher{store: store, log: log, in: make(chan auditReq, 4*auditBatchMax)}
	b.wg.Add(1)
	go b.run()
	return b
}

func (b *auditBatcher) record(ctx context.Context, rec *firewall.AuditRecord) error {
	done := make(chan error, 1)
	select {
	case b.in <- auditReq{ctx: ctx, rec: rec, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run takes what is queued, up to auditBatchMax, and writes it in one call: a
// batch forms while the previous one is written, so load sets the batch size.
func (b *auditBatcher) run() {
	defer b.wg.Done()
	batch := make([]auditReq, 0, auditBatchMax)
	recs := make([]firewall.AuditRecord, 0, auditBatchMax)
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
		for _, r := range batch {
			if r.ctx.Err() == nil {
				recs = append(recs, *r.rec)
			}
		}
		var err error
		if len(recs) > 0 {
			err = b.store.Record(context.WithoutCancel(batch[0].ctx), recs...)
			if err != nil {
				b.log.Warn("firewall: audit batch failed", "records", len(recs), "error", err)
			}
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (b *auditBatcher) close() {
	b.once.Do(func() { close(b.in) })
	b.wg.Wait()
}
