// Package messagerecord keeps the message record: subscribed to every
// io.catalyst.message.* event and to io.catalyst.billing.declined (which fails the
// message), it records each in its message's history and moves the
// message's status forward (never backwards: events may arrive out of order or twice).
package messagerecord

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/batch"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// TypePrefix is what the function's trigger selects.
const TypePrefix = "io.catalyst.message."

// Definition registers the function.
func Definition() fn.Definition {
	return fn.Definition{
		Name:        "message-record",
		Description: "Keeps every message's status and history from the io.catalyst.message.* events.",
		Consumes:    []string{TypePrefix + "*", catalog.BillingDeclinedType},
		New: func(d fn.Deps) (fn.Function, error) {
			if d.Messages == nil {
				return nil, errs.E(errs.Unavailable, "message-record needs a message store")
			}
			return NewRecorder(d.Messages, time.Now), nil
		},
	}
}

// Recorder applies message events to the store: concurrent events go to the store
// together (message.Store.ApplyBatch), up to batchMax or batchDelay after the first,
// so a busy record costs a transaction per batch, not per event. One batch is
// written at a time (group commit): concurrent batches waited on each other's row
// locks, and the events arriving meanwhile go together in the next.
type Recorder struct {
	store  message.Store
	now    func() time.Time
	writes *batch.Batcher[message.Update]
}

const (
	batchMax   = 256
	batchDelay = 2 * time.Millisecond
)

// NewRecorder returns a Recorder over store.
func NewRecorder(store message.Store, now func() time.Time) *Recorder {
	return &Recorder{store: store, now: now, writes: batch.NewSerial(batchMax, batchDelay, 1, store.ApplyBatch)}
}

// Close writes what is waiting.
func (r *Recorder) Close() error {
	r.writes.Close()
	return nil
}

// statusByAction maps the action of io.catalyst.message.<action> to the status it
// signals; screened depends on its decision.
var statusByAction = map[string]message.Status{
	"requested": message.Accepted,
	"sent":      message.Sent,
	"delivered": message.Delivered,
	"read":      message.Read,
	"failed":    message.Failed,
	"inbound":   message.Received,
}

var statusByDecision = map[string]message.Status{
	"pass": message.Screened, "hold": message.Held, "throttle": message.Throttled, "block": message.Blocked,
}

// described is the part of message data the record keeps as the message's identity:
// message.requested and message.inbound carry it.
type described struct {
	Channel  string          `json:"channel"`
	To       string          `json:"to"`
	From     string          `json:"from"`
	Content  json.RawMessage `json:"content"`
	Decision string          `json:"decision"`
}

// Handle records e. An event that breaks the catalogue's contract is Invalid (dead
// letter); a store failure is returned as is (retried).
func (r *Recorder) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	action, ok := strings.CutPrefix(e.Type(), TypePrefix)
	if e.Type() == catalog.BillingDeclinedType {
		action, ok = "failed", true // billing refused it: the message stops here
	}
	if !ok {
		return nil, errs.E(errs.Invalid, "message-record handles %s*, not %s", TypePrefix, e.Type())
	}
	if err := catalog.Validate(e); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "event %s breaks the catalogue", e.ID())
	}
	var d described
	if err := catalog.DecodeData(e, &d); err != nil {
		return nil, err
	}
	status, ok := statusByAction[action]
	if action == "screened" {
		status, ok = statusByDecision[d.Decision]
	}
	if !ok {
		return nil, errs.E(errs.Invalid, "event %s: no message status for %s", e.ID(), e.Type())
	}
	ext := e.Extensions()
	tenantID, _ := ext["tenantid"].(string)
	messageID, _ := ext["messageid"].(string)
	at := e.Time()
	if at.IsZero() {
		at = r.now()
	}
	u := message.Update{
		TenantID: tenantID, MessageID: messageID,
		Entry: message.Entry{EventID: e.ID(), Type: e.Type(), Status: status, At: at.UTC()},
	}
	if action == "requested" || action == "inbound" {
		u.Channel, u.To, u.From, u.Content = d.Channel, d.To, d.From, d.Content
		if u.Channel == "" {
			u.Channel, _ = ext["channel"].(string)
		}
	} else {
		u.Entry.Detail = append(json.RawMessage(nil), e.Data()...)
	}
	// Checked alone first: a bad update must fail only its own event, not its batch.
	if _, err := message.PrepareUpdate(u, r.now()); err != nil {
		return nil, err
	}
	if err := r.writes.Add(ctx, u); err != nil {
		return nil, err
	}
	return nil, nil
}
