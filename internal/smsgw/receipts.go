package smsgw

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// Receipt matching, the receipt deadlines and inbound messages: what happens after a
// message's parts were accepted by a carrier.

// deadlines is a container/heap of tracked messages by deadline.
type deadlines []*tracked

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	t := x.(*tracked)
	t.index, t.queued = len(*d), true
	*d = append(*d, t)
}
func (d *deadlines) Pop() any {
	old := *d
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	t.index, t.queued = 0, false
	return t
}

// partial forgets a message of which parts [0, accepted) were accepted and returns
// err (keeping its code) saying so.
func (g *Gateway) partial(t *tracked, accepted int, err error) error {
	g.forget(t)
	if accepted == 0 {
		return err
	}
	code := errs.CodeOf(err)
	if code == "" {
		code = errs.Unavailable
	}
	return errs.Wrap(code, err, "smsgw: %d of %d parts accepted by %s (SMSC ids %v), the rest not sent",
		accepted, len(t.ids), t.carrier, t.ids[:accepted])
}

func key(carrier, id string) string { return carrier + "\x00" + id }

// accept remembers an accepted part and applies a receipt that overtook it.
func (g *Gateway) accept(t *tracked, part int, id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t.ids[part] = id
	k := key(t.carrier, id)
	g.pending[k] = partRef{t: t, part: part}
	if e, ok := g.early[k]; ok {
		delete(g.early, k)
		apply(t, part, e.r)
	}
}

func (g *Gateway) forget(t *tracked) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.forgetLocked(t)
}

// finishSend marks every part accepted. If every receipt is already in, the outcome
// is reported now. Else the message waits in memory, its receipt deadline queued;
// with a Pending store it is written there once the grace passes without its
// receipts, and finishSend returns only then (or once it completed), so Send never
// reports sent a message a crash could lose. The store write runs without g.mu:
// receipts keep arriving meanwhile and apply in memory, and the message leaves
// memory only once the store holds every receipt memory has.
func (g *Gateway) finishSend(ctx context.Context, t *tracked) error {
	g.mu.Lock()
	t.sent = true
	timeout, ok := g.timeouts[t.carrier]
	if !ok || timeout <= 0 {
		timeout = carrier.DefaultReceiptTimeout
	}
	t.deadline = time.Now().Add(timeout)
	o, done := g.completeLocked(t)
	if !done {
		g.queueLocked(t)
	}
	g.mu.Unlock()
	if done {
		err := g.report(g.ctx, o)
		if err == nil {
			return nil
		}
		if g.store == nil {
			g.log.Error("smsgw: outcome event failed; lost", "message_id", t.msgID, "err", err)
			return nil
		}
		// The store keeps it, complete: its sweeper reports it timeoutRetry later.
		g.log.Error("smsgw: outcome event failed; kept to report again", "message_id", t.msgID, "err", err)
		return g.keepComplete(ctx, t)
	}
	if g.store == nil {
		return nil
	}
	if g.storeGrace > 0 && t.complete != nil {
		timer := time.NewTimer(g.storeGrace)
		select {
		case <-t.complete:
			timer.Stop()
			return nil // its receipts came: nothing to keep
		case <-timer.C:
		}
	}
	for {
		err := g.moveToStore(t)
		if err == nil {
			return nil
		}
		// Not durable, so not sent as far as the caller knows: a crash now would lose
		// its receipts. Retry while the caller waits; then give the message up here
		// (its first submission's receipts are ignored) so the event is redelivered
		// and the message submitted again — twice at worst, never lost.
		if werr := sleep(ctx, storeRetry); werr != nil {
			g.mu.Lock()
			g.forgetLocked(t)
			g.mu.Unlock()
			return errs.Wrap(errs.Unavailable, err, "smsgw: message %s sent but its receipts could not be kept", t.msgID)
		}
	}
}

// moveToStore writes t to the Pending store and drops it from memory. Receipts that
// apply while it is written are written after it (Add replaces the entry), until
// the store has what memory has. If t completes meanwhile, its outcome was reported
// from memory and the stored entry is finished off with the receipts it lacks.
func (g *Gateway) moveToStore(t *tracked) error {
	for {
		g.mu.Lock()
		if t.gone {
			g.mu.Unlock()
			return nil // completed or expired before it was written
		}
		e := t.entryLocked(t.deadline)
		g.mu.Unlock()
		if err := g.store.Add(g.ctx, e); err != nil {
			g.log.Error("smsgw: pending store failed; retrying", "carrier", t.carrier, "message_id", t.msgID, "err", err)
			return err
		}
		g.mu.Lock()
		if !t.gone && slices.Equal(e.States, t.states) {
			g.forgetLocked(t) // the store has it now
			g.mu.Unlock()
			g.storeChanged()
			return nil
		}
		if !t.gone {
			g.mu.Unlock()
			continue // receipts came while it was written: write again
		}
		// Completed or expired while it was written: whoever reports it from memory
		// finishes the stored copy, or this does when that report is already made.
		reported := t.reported
		t.stored = true
		g.mu.Unlock()
		if reported {
			g.finishStored(t)
		}
		return nil
	}
}

// keepComplete writes t, complete, to the store with a deadline timeoutRetry away,
// for its sweeper to report; retried until ctx ends.
func (g *Gateway) keepComplete(ctx context.Context, t *tracked) error {
	g.mu.Lock()
	e := t.entryLocked(time.Now().Add(timeoutRetry))
	g.mu.Unlock()
	for {
		err := g.store.Add(g.ctx, e)
		if err == nil {
			g.storeChanged()
			return nil
		}
		if werr := sleep(ctx, storeRetry); werr != nil {
			return errs.Wrap(errs.Unavailable, err, "smsgw: message %s sent but its outcome could be neither reported nor kept", t.msgID)
		}
	}
}

// entryLocked is t as the store keeps it, with deadline; g.mu is held.
func (t *tracked) entryLocked(deadline time.Time) PendingEntry {
	return PendingEntry{Carrier: t.carrier, TenantID: t.tenant, MessageID: t.msgID,
		SMSCIDs: slices.Clone(t.ids), States: slices.Clone(t.states), Codes: slices.Clone(t.codes),
		Deadline: deadline, Tries: t.tries}
}

// storeChanged makes the sweeper read the store's next deadline again.
func (g *Gateway) storeChanged() {
	g.storeWritten.Store(true)
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// reportedLocked records that t's outcome was reported from memory and says
// whether its stored copy is to be finished.
func (g *Gateway) reportedLocked(t *tracked) (finish bool) {
	t.reported = true
	return t.stored
}

// finishStored removes the stored copy of a message reported from memory. Should
// that fail, the sweeper reports it once more.
func (g *Gateway) finishStored(t *tracked) {
	if err := g.store.Finish(g.ctx, t.carrier, t.tenant, t.msgID); err != nil {
		g.log.Error("smsgw: pending store failed finishing a reported message; it will be reported again",
			"carrier", t.carrier, "message_id", t.msgID, "err", err)
	}
}

// forgetLocked drops t from memory (its parts, its queued deadline): receipts for
// it are then looked up in the store, or unknown.
func (g *Gateway) forgetLocked(t *tracked) {
	for _, id := range t.ids {
		if id != "" {
			delete(g.pending, key(t.carrier, id))
		}
	}
	g.unqueueLocked(t)
	t.gone = true
}

// apply records a final receipt for a part; later receipts for it are ignored.
func apply(t *tracked, part int, r sms.Receipt) bool {
	if !r.Final || t.states[part] != 0 {
		return false
	}
	t.states[part], t.codes[part] = r.State, r.ErrorCode
	t.finals++
	return true
}

// completeLocked removes a message whose parts are all accepted and final and
// returns its outcome.
func (g *Gateway) completeLocked(t *tracked) (Outcome, bool) {
	if !t.sent || t.finals < len(t.ids) {
		return Outcome{}, false
	}
	g.forgetLocked(t)
	o := Outcome{TenantID: t.tenant, MessageID: t.msgID, Carrier: t.carrier, Parts: len(t.ids),
		SMSCIDs: append([]string(nil), t.ids...), State: sms.StateDelivered}
	for i, st := range t.states {
		if st != sms.StateDelivered {
			o.State, o.ErrorCode = st, t.codes[i]
			break
		}
	}
	return o, true
}

func (g *Gateway) report(ctx context.Context, o Outcome) error {
	if o.State == sms.StateDelivered {
		return g.ev.Delivered(ctx, o)
	}
	return g.ev.Failed(ctx, o)
}

// handler is one carrier's client.Handler.
type handler struct {
	g       *Gateway
	carrier string
}

func (h *handler) Receipt(ctx context.Context, r sms.Receipt) error {
	g := h.g
	k := key(h.carrier, r.MessageID)
	g.mu.Lock()
	ref, ok := g.pending[k]
	if !ok && g.store != nil && r.Final {
		g.mu.Unlock()
		done, known, err := g.store.Receipt(ctx, h.carrier, r.MessageID, r.State, r.ErrorCode, time.Now().Add(timeoutRetry))
		if err == nil && !known {
			// Look again, holding g.mu: the message may have moved from memory to
			// the store meanwhile (moveToStore drops it from memory under g.mu, once
			// the store has it), or be accepted later.
			g.mu.Lock()
			if ref, ok = g.pending[k]; !ok {
				done, known, err = g.store.Receipt(ctx, h.carrier, r.MessageID, r.State, r.ErrorCode, time.Now().Add(timeoutRetry))
				if err != nil || known {
					g.mu.Unlock()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("smsgw: pending store: %w", err)
		}
		if known {
			return h.reportStored(ctx, done)
		}
		// !known: g.mu is held again.
	}
	if !ok {
		g.keepEarlyLocked(k, r)
		g.mu.Unlock()
		g.log.Warn("smsgw: receipt for an unknown (or timed-out) SMSC id; acknowledged", "carrier", h.carrier, "smsc_id", r.MessageID, "stat", r.Stat)
		return nil
	}
	if !apply(ref.t, ref.part, r) {
		g.mu.Unlock()
		return nil // intermediate, or a duplicate
	}
	o, done := g.completeLocked(ref.t)
	g.mu.Unlock()
	if !done {
		return nil
	}
	if err := g.report(ctx, o); err != nil {
		// Put it back as it was before this receipt, so the resent receipt completes it.
		g.mu.Lock()
		t := ref.t
		t.states[ref.part], t.codes[ref.part] = 0, ""
		t.finals--
		t.gone = false
		for i, id := range t.ids {
			g.pending[key(t.carrier, id)] = partRef{t: t, part: i}
		}
		g.queueLocked(t) // with its original deadline
		g.mu.Unlock()
		return fmt.Errorf("smsgw: outcome event for %s: %w", t.msgID, err)
	}
	// Only now may a Send waiting out the grace return: had it returned when the
	// receipts completed, a crash before this report would have lost the outcome
	// (the SMSC's resent receipt finds neither the message in memory nor in the
	// store). The chaos test caught that window.
	g.mu.Lock()
	t := ref.t
	if !t.signaled && t.complete != nil {
		t.signaled = true
		close(t.complete)
	}
	finish := g.reportedLocked(t)
	g.mu.Unlock()
	if finish {
		g.finishStored(t)
	}
	return nil
}

// reportStored reports a message the store handed out complete (nil: not complete
// yet), then finishes it. If Events fails, the store still holds it: the resent
// receipt, or the sweeper at its redo time, hands it out again.
func (h *handler) reportStored(ctx context.Context, done *PendingEntry) error {
	if done == nil {
		return nil
	}
	g := h.g
	if err := g.report(ctx, done.Outcome()); err != nil {
		g.storeChanged() // its redo time may be the store's earliest deadline now
		return fmt.Errorf("smsgw: outcome event for %s: %w", done.MessageID, err)
	}
	if err := g.store.Finish(context.WithoutCancel(ctx), done.Carrier, done.TenantID, done.MessageID); err != nil {
		g.log.Error("smsgw: pending store failed finishing a reported message; it will be reported again",
			"carrier", done.Carrier, "message_id", done.MessageID, "err", err)
	}
	return nil
}

// keepEarlyLocked keeps a receipt for an id not (yet) known, in case its
// submit_sm_resp is still on its way.
func (g *Gateway) keepEarlyLocked(k string, r sms.Receipt) {
	now := time.Now()
	if len(g.early) >= earlyMax/2 {
		for ek, e := range g.early {
			if now.Sub(e.at) > earlyTTL {
				delete(g.early, ek)
			}
		}
	}
	if len(g.early) < earlyMax {
		g.early[k] = earlyReceipt{r: r, at: now}
	}
}

// queueLocked queues t's receipt deadline (t.deadline) unless it is queued.
func (g *Gateway) queueLocked(t *tracked) {
	if t.queued {
		return
	}
	heap.Push(&g.due, t)
	if t.index == 0 { // the earliest now: the sweeper's timer may be too late
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// unqueueLocked drops t's receipt deadline, if queued.
func (g *Gateway) unqueueLocked(t *tracked) {
	if t.queued {
		heap.Remove(&g.due, t.index)
	}
}

// sweep is the one goroutine that fails messages whose receipt deadline passed.
// It runs until Close.
func (g *Gateway) sweep() {
	defer g.wg.Done()
	defer close(g.sweepDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var storeDue time.Time // when to ask the store again (zero: at once)
	for {
		var expired []*tracked
		wait := time.Duration(-1) // nothing queued
		g.mu.Lock()
		now := time.Now()
		for len(g.due) > 0 {
			t := g.due[0]
			if d := t.deadline.Sub(now); d > 0 {
				wait = d
				break
			}
			heap.Pop(&g.due)
			g.forgetLocked(t)
			expired = append(expired, t)
		}
		g.mu.Unlock()
		for _, t := range expired {
			g.expire(t)
		}
		if len(expired) > 0 {
			continue // expire took time: look again before sleeping
		}
		if g.store != nil {
			// The store is asked when its own deadline comes or it changed, not on
			// every wake for a deadline in memory: that would be two queries per
			// message when receipts come fast.
			if g.storeWritten.Swap(false) || !now.Before(storeDue) {
				more, next := g.sweepStore()
				if more {
					continue
				}
				storeDue = time.Now().Add(next)
			}
			if next := time.Until(storeDue); wait < 0 || next < wait {
				wait = max(next, 0)
			}
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-g.wake:
			timer.Stop()
		case <-g.ctx.Done():
			return
		}
	}
}

// sweepStore fails the store's messages whose deadline passed. more is true when
// it expired some (look again); else next is how long to wait before the next call.
func (g *Gateway) sweepStore() (more bool, next time.Duration) {
	if g.ctx.Err() != nil {
		return false, storePoll
	}
	now := time.Now()
	es, err := g.store.Expire(g.ctx, now, now.Add(timeoutRetry), expireBatch)
	for _, e := range es { // handed out even when err is set
		g.expireStored(e)
	}
	if err != nil {
		if g.ctx.Err() == nil {
			g.log.Error("smsgw: pending store: expire failed; retrying", "err", err)
		}
		return false, storeRetry
	}
	if len(es) > 0 {
		return true, 0
	}
	d, ok, err := g.store.NextDeadline(g.ctx)
	switch {
	case err != nil:
		if g.ctx.Err() == nil {
			g.log.Error("smsgw: pending store: next deadline failed; retrying", "err", err)
		}
		return false, storeRetry
	case !ok:
		return false, storePoll
	}
	return false, min(max(time.Until(d), 0), storePoll)
}

// expireStored reports a message the store handed out at its deadline: the
// receipt timeout, or, for a message complete but not finished (its reporter
// crashed or failed), its outcome. Once reported it is finished; else the store
// hands it out again timeoutRetry later.
func (g *Gateway) expireStored(e PendingEntry) {
	o := e.Outcome()
	if e.Complete() {
		g.log.Info("smsgw: reporting a completed message again (its report was not confirmed)",
			"carrier", e.Carrier, "message_id", e.MessageID, "tries", e.Tries)
	} else {
		o.State, o.ErrorCode = sms.StateExpired, ReceiptTimeoutCode
		g.log.Warn("smsgw: no final receipt within the carrier's receipt_timeout; message failed",
			"carrier", e.Carrier, "message_id", e.MessageID, "smsc_ids", e.SMSCIDs, "tries", e.Tries)
	}
	if err := g.report(g.ctx, o); err != nil {
		g.log.Error("smsgw: outcome event failed; reported again later", "message_id", e.MessageID,
			"tries", e.Tries, "retry_in", timeoutRetry, "err", err)
		return
	}
	if err := g.store.Finish(g.ctx, e.Carrier, e.TenantID, e.MessageID); err != nil && g.ctx.Err() == nil {
		g.log.Error("smsgw: pending store failed finishing a reported message; it will be reported again",
			"carrier", e.Carrier, "message_id", e.MessageID, "err", err)
	}
}

// expire reports a message, already forgotten by the receipt matching, as failed
// by ReceiptTimeoutCode. When Events fails, it is queued again to be reported
// timeoutRetry later, at most timeoutTries times.
func (g *Gateway) expire(t *tracked) {
	if g.ctx.Err() != nil {
		return // closing: pending receipts are forgotten
	}
	o := Outcome{TenantID: t.tenant, MessageID: t.msgID, Carrier: t.carrier, Parts: len(t.ids),
		SMSCIDs: append([]string(nil), t.ids...), State: sms.StateExpired, ErrorCode: ReceiptTimeoutCode}
	g.log.Warn("smsgw: no final receipt within the carrier's receipt_timeout; message failed",
		"carrier", t.carrier, "message_id", t.msgID, "smsc_ids", t.ids, "receipts", t.finals)
	t.tries++
	err := g.ev.Failed(g.ctx, o)
	if err == nil {
		g.mu.Lock()
		finish := g.reportedLocked(t)
		g.mu.Unlock()
		if finish {
			g.finishStored(t)
		}
		return
	}
	if t.tries >= timeoutTries || g.ctx.Err() != nil {
		g.log.Error("smsgw: receipt-timeout event failed; lost", "message_id", t.msgID, "tries", t.tries, "err", err)
		return
	}
	g.log.Error("smsgw: receipt-timeout event failed; retrying", "message_id", t.msgID, "tries", t.tries, "err", err)
	g.mu.Lock()
	t.deadline = time.Now().Add(timeoutRetry)
	g.queueLocked(t)
	g.mu.Unlock()
}
