// Package smssend is the SMS connector: an always-on function holding SMPP binds to the
// carriers in config/carriers.yaml. It hands each requested SMS to the gateway
// (encoding, concatenation, failover), replies io.catalyst.message.sent or .failed,
// emits .delivered / .failed when the carriers' receipts for every part are in, and
// .inbound for an SMS sent to a number a tenant owns.
package smssend

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
)

// Name is the function's registry name.
const Name = "sms-send"

// DefaultSender is the source address of an SMS whose request names none.
const DefaultSender = "Catalyst"

// Source is the source attribute of the events it produces.
const Source = "/catalyst/functions/sms-send"

// Definition registers the connector.
func Definition() fn.Definition {
	return fn.Definition{
		Name:        Name,
		Description: "SMS connector: sends requested SMS over SMPP with carrier failover and reports receipts.",
		Consumes:    []string{catalog.BillingAuthorizedType},
		Produces:    []string{catalog.MessageSentType, catalog.MessageFailedType, catalog.MessageDeliveredType, catalog.MessageInboundType},
		AlwaysOn:    true,
		New:         New,
	}
}

// Connector is the running function.
type Connector struct {
	gw  *smsgw.Gateway
	log *slog.Logger
}

// New loads the carriers and starts binding in the background (New never waits for a
// carrier: a down carrier only means failover, or a retried delivery).
func New(d fn.Deps) (fn.Function, error) {
	if d.Emitter == nil {
		return nil, errs.E(errs.Unavailable, "sms-send needs an emitter for receipts (K_SINK)")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := carrier.Load(filepath.Join(d.ConfigDir, "carriers.yaml"))
	if err != nil {
		return nil, err
	}
	if d.SandboxSMSC != "" {
		for i := range cfg.Carriers {
			if cfg.Carriers[i].Name == "sandbox" {
				cfg.Carriers[i].SMPP.Address = d.SandboxSMSC
			}
		}
	}
	var opts []smsgw.Option
	if d.SMSPending != nil {
		opts = append(opts, smsgw.WithPending(d.SMSPending))
	}
	if d.SMSMOParts != nil {
		opts = append(opts, smsgw.WithMOParts(d.SMSMOParts))
	}
	gw, err := smsgw.New(context.Background(), cfg, &events{emit: d.Emitter, numbers: d.Numbers, log: log}, log, opts...)
	if err != nil {
		return nil, err
	}
	return &Connector{gw: gw, log: log}, nil
}

// Close unbinds from every carrier.
func (c *Connector) Close() error { return c.gw.Close(context.Background()) }

// Handle sends one SMS billing authorized. A permanent refusal (bad destination, no route) is a
// terminal state, so it is replied as message.failed; a carrier outage is an error,
// and the broker retries the delivery.
func (c *Connector) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.BillingAuthorizedType {
		return nil, errs.E(errs.Invalid, "%s handles %s, not %s", Name, catalog.BillingAuthorizedType, e.Type())
	}
	var auth catalog.BillingAuthorized
	if err := catalog.DecodeData(e, &auth); err != nil {
		return nil, err
	}
	req := auth.Message
	var binary []byte
	switch {
	case req.Channel != "sms":
		return nil, errs.E(errs.Invalid, "event %s: %s handles sms, not %s", e.ID(), Name, req.Channel)
	case req.Content.Type == "binary":
		var err error
		if binary, err = base64.StdEncoding.DecodeString(req.Content.Data); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "event %s: content.data", e.ID())
		}
	case req.Content.Type != "text":
		return nil, errs.E(errs.Invalid, "event %s: %s sends text or binary, not %s", e.ID(), Name, req.Content.Type)
	}
	flash, _ := req.Options["flash"].(bool)
	if req.From == "" {
		req.From = DefaultSender
	}
	sent, err := c.gw.Send(ctx, smsgw.Message{TenantID: req.TenantID, MessageID: req.MessageID, From: req.From, To: req.To, Text: req.Content.Text, Flash: flash, Binary: binary})
	ref := catalog.MessageRef{MessageID: req.MessageID, TenantID: req.TenantID, Channel: "sms"}
	switch code := errs.CodeOf(err); code {
	case "":
		out, err := newEvent(catalog.MessageSentType, catalog.MessageSent{MessageRef: ref, Provider: sent.Carrier,
			ProviderMessageID: strings.Join(sent.SMSCIDs, ","), Parts: sent.Parts})
		return out, err
	case errs.Invalid, errs.Unprocessable:
		out, err2 := newEvent(catalog.MessageFailedType, catalog.MessageFailed{MessageRef: ref, Stage: catalog.StageSend,
			Code: string(code), Reason: err.Error(), Retryable: false})
		return out, err2
	default:
		return nil, err
	}
}

// newEvent builds a catalogued message event keyed by its message.
func newEvent(typ string, data any) (*event.Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode %s", typ)
	}
	var ref catalog.MessageRef
	_ = json.Unmarshal(raw, &ref)
	e, err := catalog.New(typ, Source, json.RawMessage(raw), map[string]string{
		"tenantid": ref.TenantID, "channel": "sms", "messageid": ref.MessageID, "partitionkey": ref.MessageID,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "build %s", typ)
	}
	return &e, nil
}

// events turns the gateway's receipt outcomes into CloudEvents.
type events struct {
	emit    fn.Emitter
	numbers numbers.Store // nil: inbound messages cannot be routed and are logged
	log     *slog.Logger
}

// outcomeID is the event id of a receipt outcome: the same for every report of it,
// since the gateway reports an outcome at least once (a crash between its report
// and the store's Finish reports it again), so that the message record keeps it once.
func outcomeID(typ string, o smsgw.Outcome) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("catalyst:sms-outcome:"+typ+":"+o.TenantID+":"+o.MessageID+":"+
		o.Carrier+":"+strings.Join(o.SMSCIDs, ","))).String()
}

func (v *events) Delivered(ctx context.Context, o smsgw.Outcome) error {
	e, err := newEvent(catalog.MessageDeliveredType, catalog.MessageDelivered{
		MessageRef:        catalog.MessageRef{MessageID: o.MessageID, TenantID: o.TenantID, Channel: "sms"},
		ProviderMessageID: strings.Join(o.SMSCIDs, ","),
	})
	if err != nil {
		return err
	}
	e.SetID(outcomeID(catalog.MessageDeliveredType, o))
	return v.emit.Emit(ctx, *e)
}

func (v *events) Failed(ctx context.Context, o smsgw.Outcome) error {
	code := o.ErrorCode
	if code == "" {
		code = o.State.String()
	}
	e, err := newEvent(catalog.MessageFailedType, catalog.MessageFailed{
		MessageRef: catalog.MessageRef{MessageID: o.MessageID, TenantID: o.TenantID, Channel: "sms"},
		Stage:      catalog.StageDelivery, Code: code,
		Reason: fmt.Sprintf("carrier %s reported %s for part(s) of the message", o.Carrier, o.State),
	})
	if err != nil {
		return err
	}
	e.SetID(outcomeID(catalog.MessageFailedType, o))
	return v.emit.Emit(ctx, *e)
}

// Inbound routes a mobile-originated SMS (reassembled by the gateway when it came in
// parts) to the tenant owning the number it was sent to and emits
// io.catalyst.message.inbound as a new message. An SMS to a number no tenant owns is
// logged and acknowledged: retrying cannot route it. A concatenated SMS carries the
// gateway's stable id as its message and event id, since it may be reported more
// than once (a crash between the report and the parts store's Finish).
func (v *events) Inbound(ctx context.Context, m smsgw.Inbound, carrierName string) error {
	if v.numbers == nil {
		v.log.WarnContext(ctx, "inbound SMS dropped: no number store", "carrier", carrierName, "to", m.To)
		return nil
	}
	owner, err := v.numbers.Owner(ctx, "sms", m.To)
	if errs.CodeOf(err) == errs.NotFound {
		v.log.WarnContext(ctx, "inbound SMS to a number no tenant owns", "carrier", carrierName, "to", m.To)
		return nil
	}
	if err != nil {
		return err // the SMSC redelivers
	}
	id := m.ID
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return errs.Wrap(errs.Internal, err, "message id")
		}
		id = u.String()
	}
	from := m.From
	if from == "" {
		from = "unknown"
	}
	in := catalog.MessageInbound{
		MessageRef: catalog.MessageRef{MessageID: id, TenantID: owner.TenantID, Channel: "sms"},
		From:       from, To: m.To, Content: catalog.Content{Type: "text", Text: m.Text}, ReceivedAt: m.ReceivedAt.UTC(),
		Partial: m.Partial, MissingParts: m.Missing,
	}
	if m.Parts > 1 {
		in.Parts = m.Parts
	}
	e, err := newEvent(catalog.MessageInboundType, in)
	if err != nil {
		return err
	}
	if m.ID != "" {
		e.SetID(m.ID)
	}
	return v.emit.Emit(ctx, *e)
}
