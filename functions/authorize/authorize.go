// Package authorize holds message-authorize, the fused form of two Sequences: the
// firewall's seven phases and billing's six authorize steps in one function call,
// without the twelve Kafka hops between them (triggers/fused/). A cluster trades
// their per-step scaling for fewer hops; `catalyst dev` runs fused unless --unfused.
//
// It takes io.catalyst.message.requested, screens it (internal/screening, the same
// engine and stores as the Sequence), emits io.catalyst.message.screened (and
// fraud.alert on block) with the Sequence's event ids, and for a pass replies what
// billing-reserve would: billing.authorized or billing.declined. A message.screened
// pass that the firewall decided later (a review, the SLA, a throttle's release) is
// authorized the same way.
package authorize

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/functions/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
)

// Name is the function's name (its Knative Service).
const Name = "message-authorize"

// DecidedSuffix ends the id of the message.screened the first decision emits
// (screening.Screened with suffix "decided"); the later decisions' ids end in their
// phase. The fused Trigger for later passes excludes it, so the function does not
// authorize its own first decision twice.
const DecidedSuffix = "/screened/decided"

// Definition returns message-authorize.
func Definition() fn.Definition {
	return fn.Definition{
		Name: Name,
		Description: "Fused firewall and billing authorize: screens a requested message with all seven firewall phases, emits message.screened (and fraud.alert on block), " +
			"and for a pass runs billing's six authorize steps, replying billing.authorized or billing.declined. Also authorizes a later pass (review, SLA, throttle release).",
		Consumes: []string{catalog.MessageRequestedType, catalog.MessageScreenedType},
		Produces: []string{catalog.MessageScreenedType, catalog.FraudAlertType, catalog.BillingAuthorizedType, catalog.BillingDeclinedType},
		New: func(d fn.Deps) (fn.Function, error) {
			switch {
			case d.Firewall == nil:
				return nil, errs.E(errs.Unavailable, "%s needs the firewall engine", Name)
			case d.Billing == nil:
				return nil, errs.E(errs.Unavailable, "%s needs the billing engine", Name)
			case d.Emitter == nil:
				return nil, errs.E(errs.Unavailable, "%s needs an emitter for message.screened", Name)
			}
			return function{wall: d.Firewall, bill: d.Billing, emit: d.Emitter}, nil
		},
	}
}

type function struct {
	wall *screening.Engine
	bill *charging.Engine
	emit fn.Emitter
}

func (f function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case catalog.MessageRequestedType:
		var m catalog.MessageRequested
		if err := catalog.DecodeData(e, &m); err != nil {
			return nil, err
		}
		// A redelivered request screens as it did first (its event time, and the
		// audit's first decision stands), and emits the same event ids.
		s, err := f.wall.ScreenAt(ctx, m, e.Time())
		if err != nil {
			return nil, err
		}
		screened, err := screening.Screened(ctx, f.emit, e.Time(), m, s, "decided")
		if err != nil {
			return nil, err
		}
		if err := f.emit.Emit(ctx, *screened); err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "emit message.screened of %s", m.MessageID)
		}
		if s.Verdict.Decision != firewall.Pass {
			return nil, nil // blocked, held or throttled: billing never sees it
		}
		return f.authorize(ctx, m)
	case catalog.MessageScreenedType:
		var d catalog.MessageScreened
		if err := catalog.DecodeData(e, &d); err != nil {
			return nil, err
		}
		if d.Decision != catalog.DecisionPass {
			return nil, nil // the Trigger takes only pass
		}
		return f.authorize(ctx, d.Message)
	}
	return nil, nil
}

// authorize is the authorize Sequence in one call, answering with its events.
func (f function) authorize(ctx context.Context, m catalog.MessageRequested) (*event.Event, error) {
	a, d, err := f.bill.Authorize(ctx, m)
	switch {
	case err != nil:
		return nil, err
	case d != nil:
		return billing.Declined(d)
	case a == nil:
		return nil, nil // a replay of a message already settled: nothing more
	}
	return billing.Authorized(a)
}
