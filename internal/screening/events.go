package screening

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Source is the source attribute of the firewall's events.
const Source = "/catalyst/functions/firewall"

// Emitter stores an event in the broker.
type Emitter interface {
	Emit(ctx context.Context, e event.Event) error
}

// NewEvent builds a catalogued message event dated at with a deterministic id, so a
// replayed phase's event can be told from a new one.
func NewEvent(at time.Time, typ, id string, data any, m catalog.MessageRequested, decision string) (*event.Event, error) {
	ref := refOf(m)
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode %s", typ)
	}
	ext := map[string]string{
		catalog.ExtTenantID: ref.TenantID, catalog.ExtChannel: string(ref.Channel),
		catalog.ExtMessageID: ref.MessageID, catalog.ExtPartitionKey: ref.MessageID,
	}
	if decision != "" {
		ext[catalog.ExtDecision] = decision
	}
	e, err := catalog.NewAt(at, typ, Source, json.RawMessage(raw), ext)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "build %s", typ)
	}
	e.SetID(id)
	return &e, nil
}

func refOf(m catalog.MessageRequested) catalog.MessageRef {
	return catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)}
}

// Screened builds message.screened for a screen's verdict, emitting fraud.alert
// first when it is a block. suffix keeps the ids of a message's later decisions
// apart (decided, review, review-sla, release). at dates the events: the request's
// time for the first decision (a redelivery emits the same events), the deciding
// clock's for later ones. The API uses it for reviews.
func Screened(ctx context.Context, emit Emitter, at time.Time, m catalog.MessageRequested, s *firewall.Screen, suffix string) (*event.Event, error) {
	v, ref := s.Verdict, refOf(m)
	if v.Decision == firewall.Block && emit != nil {
		alert, err := NewEvent(at, catalog.FraudAlertType, m.MessageID+"/fraud-alert/"+suffix, catalog.FraudAlert{
			MessageRef: ref, Risk: v.Risk, Rules: v.Rules, Indicators: v.Indicators, Explanation: v.Explanation,
			From: m.From, To: m.To, Country: s.Features.Country, Phase: v.Phase,
		}, m, "")
		if err != nil {
			return nil, err
		}
		if err := emit.Emit(ctx, *alert); err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "emit fraud alert")
		}
	}
	return NewEvent(at, catalog.MessageScreenedType, m.MessageID+"/screened/"+suffix, catalog.MessageScreened{
		MessageRef: ref, Decision: v.Decision, Recommended: v.Recommended, Risk: v.Risk, Phase: v.Phase,
		Rules: v.Rules, Shadow: v.Shadow, Indicators: v.Indicators, Explanation: v.Explanation, Message: m,
	}, m, v.Decision)
}

// RequestOf is the request a stored screen was decided on (the review and throttle
// queues keep the screen with its request); a screen without one (stored by another
// version) is rebuilt from what the firewall read of it.
func RequestOf(s *firewall.Screen) (catalog.MessageRequested, error) {
	var m catalog.MessageRequested
	if len(s.Request) > 0 {
		if err := json.Unmarshal(s.Request, &m); err != nil {
			return m, errs.Wrap(errs.Internal, err, "stored request of %s", s.Message.ID)
		}
		return m, nil
	}
	r := s.Message
	return catalog.MessageRequested{MessageID: r.ID, TenantID: r.TenantID, Channel: r.Channel, To: r.To, From: r.From,
		Content: catalog.Content{Type: r.ContentType, Text: r.Text}}, nil
}
