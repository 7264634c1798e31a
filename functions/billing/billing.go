// Package billing holds billing's functions: the six steps of the authorize Sequence
// (billing-rate → billing-discount → billing-fees → billing-tax → billing-fx →
// billing-reserve, triggers/unfused/billing-authorize.yaml), the three of the settle
// Sequence (billing-settle → billing-record → billing-thresholds,
// triggers/unfused/billing-settle.yaml), and message-settle, the settle Sequence
// fused into one function (triggers/fused/). Each is a thin wrapper over
// internal/charging. A
// step passes on any event it does not work on (a billing.declined from an earlier
// step rides through the rest of the Sequence to the broker).
package billing

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Source is the source attribute of billing's events.
const Source = "/catalyst/functions/billing"

// Definitions returns every billing function.
func Definitions() []fn.Definition {
	rating := []string{catalog.BillingRatingType}
	step := func(name, what string, apply func(*charging.Engine, context.Context, *catalog.BillingRating) (*catalog.BillingDeclined, error)) fn.Definition {
		return fn.Definition{
			Name: name, Description: what, Consumes: rating, Produces: rating,
			New: withEngine(name, func(e *charging.Engine, _ fn.Deps) fn.Function { return ratingStep{engine: e, apply: apply} }),
		}
	}
	return []fn.Definition{
		{
			Name:        "billing-rate",
			Description: "Billing authorize, step 1: takes a message the firewall passed, finds the tenant's rate card in force and prices the message's base (units, time band, destination, operator, media).",
			Consumes:    []string{catalog.MessageScreenedType},
			Produces:    []string{catalog.BillingRatingType, catalog.BillingDeclinedType},
			New:         withEngine("billing-rate", func(e *charging.Engine, _ fn.Deps) fn.Function { return rate{engine: e} }),
		},
		step("billing-discount", "Billing authorize, step 2: volume discount and promo codes.",
			func(e *charging.Engine, ctx context.Context, r *catalog.BillingRating) (*catalog.BillingDeclined, error) {
				return nil, e.Discount(ctx, r)
			}),
		step("billing-fees", "Billing authorize, step 3: per-message fees.",
			func(e *charging.Engine, ctx context.Context, r *catalog.BillingRating) (*catalog.BillingDeclined, error) {
				return nil, e.Fees(ctx, r)
			}),
		step("billing-tax", "Billing authorize, step 4: the tax rate (business tenants may be exempt).",
			func(e *charging.Engine, ctx context.Context, r *catalog.BillingRating) (*catalog.BillingDeclined, error) {
				return nil, e.Tax(ctx, r)
			}),
		func() fn.Definition {
			d := step("billing-fx", "Billing authorize, step 5: converts to the tenant's currency and computes tax and total.",
				(*charging.Engine).FX)
			d.Produces = append(d.Produces, catalog.BillingDeclinedType)
			return d
		}(),
		{
			Name:        "billing-reserve",
			Description: "Billing authorize, step 6: reserves the total on the tenant's balance (atomically in the wallet, then in the ledger) and authorizes or declines the message.",
			Consumes:    []string{catalog.BillingRatingType},
			Produces:    []string{catalog.BillingAuthorizedType, catalog.BillingDeclinedType},
			New:         withEngine("billing-reserve", func(e *charging.Engine, _ fn.Deps) fn.Function { return reserve{engine: e} }),
		},
		settleDefinition(),
		fusedSettleDefinition(),
		{
			Name:        "billing-record",
			Description: "Billing settle, step 2: records the settlement on the message's charge (the transactions API).",
			Consumes:    []string{catalog.BillingCommittedType, catalog.BillingReleasedType},
			Produces:    []string{catalog.BillingCommittedType, catalog.BillingReleasedType},
			New:         withEngine("billing-record", func(e *charging.Engine, _ fn.Deps) fn.Function { return record{engine: e} }),
		},
		{
			Name:        "billing-thresholds",
			Description: "Billing settle, step 3: checks the balance against the tenant's levels; emits balance.low and tenant.suspended.",
			Consumes:    []string{catalog.BillingCommittedType, catalog.BillingReleasedType},
			Produces:    []string{catalog.BillingCommittedType, catalog.BillingReleasedType, catalog.BalanceLowType, catalog.TenantSuspendedType, catalog.TenantReinstatedType},
			New: withEngine("billing-thresholds", func(e *charging.Engine, d fn.Deps) fn.Function {
				return thresholds{engine: e, emit: d.Emitter, log: loggerOf(d)}
			}),
		},
	}
}

// withEngine builds a function over the billing engine, which every billing function
// needs.
func withEngine(name string, build func(*charging.Engine, fn.Deps) fn.Function) func(fn.Deps) (fn.Function, error) {
	return func(d fn.Deps) (fn.Function, error) {
		if d.Billing == nil {
			return nil, errs.E(errs.Unavailable, "%s needs the billing engine", name)
		}
		return build(d.Billing, d), nil
	}
}

// newEvent builds a catalogued billing event with a deterministic id (the message id
// and what happened), so a replayed step's event can be told from a new one.
func newEvent(typ, id string, data any, ref catalog.MessageRef) (*event.Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode %s", typ)
	}
	e, err := catalog.New(typ, Source, json.RawMessage(raw), map[string]string{
		catalog.ExtTenantID: ref.TenantID, catalog.ExtChannel: string(ref.Channel),
		catalog.ExtMessageID: ref.MessageID, catalog.ExtPartitionKey: ref.MessageID,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "build %s", typ)
	}
	e.SetID(id)
	return &e, nil
}

// loggerOf is the function's logger, discarding when there is none.
func loggerOf(d fn.Deps) *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func declined(d *catalog.BillingDeclined) (*event.Event, error) {
	return newEvent(catalog.BillingDeclinedType, d.MessageID+"/declined", d, d.MessageRef)
}

// Declined is the billing.declined event the authorize Sequence replies for d.
func Declined(d *catalog.BillingDeclined) (*event.Event, error) { return declined(d) }

// Authorized is the billing.authorized event the authorize Sequence replies for a.
func Authorized(a *catalog.BillingAuthorized) (*event.Event, error) {
	return newEvent(catalog.BillingAuthorizedType, a.MessageID+"/authorized", a, a.MessageRef)
}

// rate starts the authorize Sequence from a message the firewall passed.
type rate struct{ engine *charging.Engine }

func (f rate) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.MessageScreenedType {
		return &e, nil
	}
	var screened catalog.MessageScreened
	if err := catalog.DecodeData(e, &screened); err != nil {
		return nil, err
	}
	if screened.Decision != catalog.DecisionPass {
		// The Trigger takes only pass; anything else must not be priced, nor go back
		// to the broker a second time.
		return nil, nil
	}
	m := screened.Message
	r, d, err := f.engine.Rate(ctx, m)
	if err != nil || d != nil {
		if err != nil {
			return nil, err
		}
		return declined(d)
	}
	ref := catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)}
	return newEvent(catalog.BillingRatingType, m.MessageID+"/rating/rate", r, ref)
}

// ratingStep is one middle step of the authorize Sequence.
type ratingStep struct {
	engine *charging.Engine
	apply  func(*charging.Engine, context.Context, *catalog.BillingRating) (*catalog.BillingDeclined, error)
}

func (f ratingStep) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.BillingRatingType {
		return &e, nil
	}
	var r catalog.BillingRating
	if err := catalog.DecodeData(e, &r); err != nil {
		return nil, err
	}
	d, err := f.apply(f.engine, ctx, &r)
	if err != nil {
		return nil, err
	}
	if d != nil {
		return declined(d)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode %s", catalog.BillingRatingType)
	}
	out := e.Clone()
	if err := out.SetData(event.ApplicationJSON, raw); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "set %s data", catalog.BillingRatingType)
	}
	return &out, nil
}

// reserve ends the authorize Sequence.
type reserve struct{ engine *charging.Engine }

func (f reserve) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.BillingRatingType {
		return &e, nil
	}
	var r catalog.BillingRating
	if err := catalog.DecodeData(e, &r); err != nil {
		return nil, err
	}
	a, d, err := f.engine.Reserve(ctx, r)
	switch {
	case err != nil:
		return nil, err
	case d != nil:
		return declined(d)
	case a == nil:
		return nil, nil // a replay of a settled message: the Sequence ends here
	}
	return Authorized(a)
}

// record is the settle Sequence's second step.
type record struct{ engine *charging.Engine }

func (f record) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case catalog.BillingCommittedType:
		var c catalog.BillingCommitted
		if err := catalog.DecodeData(e, &c); err != nil {
			return nil, err
		}
		return &e, f.engine.RecordCommitted(ctx, c)
	case catalog.BillingReleasedType:
		var r catalog.BillingReleased
		if err := catalog.DecodeData(e, &r); err != nil {
			return nil, err
		}
		return &e, f.engine.RecordReleased(ctx, r)
	}
	return &e, nil
}

// thresholds is the settle Sequence's last step: it passes the settlement on to the
// broker and emits the tenant's alerts.
type thresholds struct {
	engine *charging.Engine
	emit   fn.Emitter
	log    *slog.Logger
}

func (f thresholds) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	tenantID, _ := e.Extensions()[catalog.ExtTenantID].(string)
	if tenantID == "" {
		return &e, nil
	}
	alerts, err := f.engine.Thresholds(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	emitAlerts(ctx, f.engine, f.emit, f.log, alerts)
	return &e, nil
}

// emitAlerts emits a tenant's stored alerts, each under its own id, and clears
// those emitted. One that fails to emit (or to clear) stays stored and the sweep
// emits it again (sweepAlerts): logged, not failed, since a redelivery of the step
// would find the alert already stored and emit nothing.
func emitAlerts(ctx context.Context, engine *charging.Engine, emit fn.Emitter, log *slog.Logger, a charging.Alerts) {
	if len(a.Outbox) == 0 {
		return
	}
	var done []string
	for _, al := range a.Outbox {
		ev, err := charging.AlertEvent(al, Source)
		if err == nil && emit == nil {
			err = errs.E(errs.Unavailable, "billing: no emitter")
		}
		if err == nil {
			err = emit.Emit(ctx, ev)
		}
		if err != nil {
			log.WarnContext(ctx, "billing: alert not emitted yet; the sweep emits it again", "tenant_id", al.TenantID, "type", al.Type, "alert_id", al.ID, "error", err)
			continue
		}
		done = append(done, al.ID)
	}
	if err := engine.AlertsEmitted(ctx, a.Outbox[0].TenantID, done); err != nil {
		log.WarnContext(ctx, "billing: emitted alerts not cleared; the sweep emits them again", "tenant_id", a.Outbox[0].TenantID, "error", err)
	}
}

// settle starts the settle Sequence from a message's outcome, and releases expired
// reservations in the background.
type settle struct {
	engine *charging.Engine
	emit   fn.Emitter
	log    *slog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
	// reconciler repairs wallet accounts left apart from the ledger (sweep.go).
	reconciler *charging.Reconciler
	// unreported holds expired reservations released in the wallet and the ledger
	// whose charge row or billing.released is still owed: retried every sweep.
	mu         sync.Mutex
	unreported []catalog.BillingReleased
	// fused also records the settlement and checks the thresholds (the Sequence's
	// billing-record and billing-thresholds steps).
	fused bool
}

// ExpiryInterval is how often billing-settle looks for expired reservations.
const ExpiryInterval = 5 * time.Second

func settleDefinition() fn.Definition {
	return newSettleDefinition("billing-settle",
		"Billing settle, step 1: commits a message's reservation on delivery (or on failure when its rate charges on failure), releases it otherwise; releases expired reservations.",
		false)
}

// MessageSettle is the fused settle Sequence (triggers/fused/): settle, record and
// thresholds in one call.
const MessageSettle = "message-settle"

func fusedSettleDefinition() fn.Definition {
	return newSettleDefinition(MessageSettle,
		"Fused billing settle: commits or releases a message's reservation, records it on the charge and checks the tenant's balance levels in one call (the billing-settle Sequence without its hops); releases expired reservations.",
		true)
}

func newSettleDefinition(name, what string, fused bool) fn.Definition {
	return fn.Definition{
		Name:        name,
		Description: what,
		Consumes:    []string{catalog.MessageDeliveredType, catalog.MessageFailedType},
		Produces:    []string{catalog.BillingCommittedType, catalog.BillingReleasedType, catalog.BalanceLowType, catalog.TenantSuspendedType, catalog.TenantReinstatedType},
		AlwaysOn:    true, // the expiry, alert and reconcile sweeps run in the background
		New: withEngine(name, func(e *charging.Engine, d fn.Deps) fn.Function {
			s := &settle{engine: e, emit: d.Emitter, log: loggerOf(d), reconciler: e.NewReconciler(charging.DefaultReconcileGrace), stop: make(chan struct{}), fused: fused}
			s.done.Add(1)
			go s.sweep()
			return s
		}),
	}
}

func (f *settle) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var delivered bool
	switch e.Type() {
	case catalog.MessageDeliveredType:
		delivered = true
	case catalog.MessageFailedType:
	default:
		return &e, nil
	}
	var ref catalog.MessageRef
	if err := catalog.DecodeData(e, &ref); err != nil {
		return nil, err
	}
	s, err := f.engine.Settle(ctx, ref, delivered)
	if err != nil {
		return nil, err
	}
	if f.fused {
		if err := f.recordAndCheck(ctx, ref.TenantID, s); err != nil {
			return nil, err
		}
	}
	switch {
	case s.Committed != nil:
		return newEvent(catalog.BillingCommittedType, ref.MessageID+"/committed", s.Committed, ref)
	case s.Released != nil:
		return newEvent(catalog.BillingReleasedType, ref.MessageID+"/released", s.Released, ref)
	}
	return nil, nil
}

// recordAndCheck is the settle Sequence's billing-record and billing-thresholds.
func (f *settle) recordAndCheck(ctx context.Context, tenantID string, s charging.Settled) error {
	switch {
	case s.Committed != nil:
		if err := f.engine.RecordCommitted(ctx, *s.Committed); err != nil {
			return err
		}
	case s.Released != nil:
		if err := f.engine.RecordReleased(ctx, *s.Released); err != nil {
			return err
		}
	default:
		return nil
	}
	alerts, err := f.engine.Thresholds(ctx, tenantID)
	if err != nil {
		return err
	}
	emitAlerts(ctx, f.engine, f.emit, f.log, alerts)
	return nil
}

// Close stops the expiry sweep.
func (f *settle) Close() error {
	close(f.stop)
	f.done.Wait()
	return nil
}
