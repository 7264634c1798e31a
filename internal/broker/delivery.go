package broker

import (
	"context"
	"encoding/base64"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

// Dead-letter extensions, Knative's names: which destination failed, its status and
// (base64) the start of its answer.
const (
	extErrorDest = "knativeerrordest"
	extErrorCode = "knativeerrorcode"
	extErrorData = "knativeerrordata"
)

// maxPersistentBackoff caps the wait between attempts to hand an event on to a reply
// destination or dead-letter sink once its retries are spent. Those hand-offs never
// give up: an event not yet delivered or dead-lettered keeps its offset uncommitted.
const maxPersistentBackoff = 30 * time.Second

// deliverer moves one event to a subscriber under a delivery spec, then its reply on
// to the reply destination, or the event to the dead-letter sink.
type deliverer struct {
	name    string // subscription name, for logs and metrics
	target  target
	reply   target // nil: replies are discarded
	dls     target // nil: a failed event is dropped (logged and counted)
	spec    *eventing.DeliverySpec
	log     *slog.Logger
	metrics *metrics
}

// deliver returns true once the event reached a final state (delivered with its reply
// handed on, dead-lettered, or dropped) and false when ctx ended first, in which case
// the record must not be committed.
func (d *deliverer) deliver(ctx context.Context, e *event.Event) bool {
	start := time.Now()
	o, finished := d.attempts(ctx, d.target, e)
	if !finished {
		return false
	}
	defer func() { d.metrics.latency.WithLabelValues(d.name).Observe(time.Since(start).Seconds()) }()
	if o.ok() {
		if o.Reply != nil && d.reply != nil {
			if err := externalReply(d.target, o.Reply); err != nil {
				// Delivered; only the reply is refused, as the ingress would refuse it.
				d.log.Warn("reply refused", "subscription", d.name, "destination", d.target.String(),
					"id", o.Reply.ID(), "type", o.Reply.Type(), "reason", err.Error())
				d.metrics.deliveries.WithLabelValues(d.name, resultReplyRefused).Inc()
			} else if !d.handOn(ctx, d.reply, o.Reply) {
				return false
			}
		}
		d.metrics.deliveries.WithLabelValues(d.name, resultDelivered).Inc()
		return true
	}
	d.log.Warn("delivery failed", "subscription", d.name, "destination", d.target.String(),
		"id", e.ID(), "type", e.Type(), "status", o.Status, "error", o.Err)
	if d.dls == nil {
		d.log.Error("event dropped: no dead-letter sink", "subscription", d.name, "id", e.ID(), "type", e.Type())
		d.metrics.deliveries.WithLabelValues(d.name, resultDropped).Inc()
		return true
	}
	dead := e.Clone()
	dead.SetExtension(extErrorDest, d.target.String())
	dead.SetExtension(extErrorCode, int32(o.Status))
	if len(o.Body) > 0 {
		body := o.Body
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
		dead.SetExtension(extErrorData, base64.StdEncoding.EncodeToString(body))
	}
	if !d.handOn(ctx, d.dls, &dead) {
		return false
	}
	d.metrics.deliveries.WithLabelValues(d.name, resultDeadLettered).Inc()
	return true
}

// attempts sends e once plus up to the spec's retries, retrying only what Knative
// retries (errs.Retryable). finished is false when ctx ended first.
func (d *deliverer) attempts(ctx context.Context, t target, e *event.Event) (o outcome, finished bool) {
	for attempt := 0; ; attempt++ {
		o = d.attempt(ctx, t, e)
		if ctx.Err() != nil {
			return o, false
		}
		if o.ok() || !errs.Retryable(o.Status) || attempt >= d.spec.RetryCount() {
			return o, true
		}
		d.metrics.deliveries.WithLabelValues(d.name, resultRetried).Inc()
		if !sleep(ctx, d.wait(attempt+1, o)) {
			return o, false
		}
	}
}

// defaultAttemptTimeout bounds an attempt when the delivery spec sets no timeout, so
// a subscriber that never answers cannot hold an event (and, ordered, its partition)
// forever; it then counts as a retryable failure.
const defaultAttemptTimeout = 60 * time.Second

func (d *deliverer) attempt(ctx context.Context, t target, e *event.Event) outcome {
	timeout := d.spec.AttemptTimeout()
	if timeout <= 0 {
		timeout = defaultAttemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return t.send(ctx, e)
}

// wait is the backoff before retry n, stretched to a Retry-After the subscriber asked
// for when the spec's retryAfterMax allows it (Knative's rule: only with retryAfterMax).
func (d *deliverer) wait(retry int, o outcome) time.Duration {
	w := d.spec.Backoff(retry)
	if o.RetryAfter > w && d.spec != nil && d.spec.RetryAfterMax != nil {
		if limit, err := eventing.ParseISODuration(*d.spec.RetryAfterMax); err == nil {
			w = max(w, min(o.RetryAfter, limit))
		}
	}
	return w
}

// handOn delivers to a reply destination or dead-letter sink and never gives up on a
// retryable failure: after the spec's retries it keeps trying with a capped backoff
// until ctx ends. A permanent refusal (a non-retryable 4xx) is logged and dropped,
// since no retry could change it.
func (d *deliverer) handOn(ctx context.Context, t target, e *event.Event) bool {
	backoff := d.spec.Backoff(1)
	for {
		o, finished := d.attempts(ctx, t, e)
		if !finished {
			return false
		}
		if o.ok() {
			return true
		}
		if !errs.Retryable(o.Status) {
			d.log.Error("event dropped: destination refused it", "subscription", d.name,
				"destination", t.String(), "id", e.ID(), "type", e.Type(), "status", o.Status, "error", o.Err)
			d.metrics.deliveries.WithLabelValues(d.name, resultDropped).Inc()
			return true
		}
		d.log.Error("hand-on failing; will keep trying", "subscription", d.name,
			"destination", t.String(), "id", e.ID(), "status", o.Status, "error", o.Err)
		backoff = min(max(2*backoff, 100*time.Millisecond), maxPersistentBackoff)
		if !sleep(ctx, backoff) {
			return false
		}
	}
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
