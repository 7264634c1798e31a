package messagerecord

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

const tenantID = "acme"

type fixture struct {
	f     fn.Function
	store message.Store
	id    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := inmem.New()
	f, err := Definition().New(fn.Deps{Messages: db.Messages()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{f: f, store: db.Messages(), id: uuid.Must(uuid.NewV7()).String()}
}

func (x *fixture) ref() catalog.MessageRef {
	return catalog.MessageRef{MessageID: x.id, TenantID: tenantID, Channel: "sms"}
}

func (x *fixture) event(t *testing.T, typ string, data any) event.Event {
	t.Helper()
	ext := map[string]string{"tenantid": tenantID, "channel": "sms", "messageid": x.id, "partitionkey": x.id}
	if d, ok := data.(catalog.MessageScreened); ok {
		ext["decision"] = d.Decision
		d.Message = catalog.MessageRequested{MessageID: x.id, TenantID: tenantID, Channel: "sms", To: "+447911123456",
			Content: catalog.Content{Type: "text", Text: "hi"}}
		data = d
	}
	e, err := catalog.New(typ, "/test", data, ext)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return e
}

func (x *fixture) requested(t *testing.T) event.Event {
	return x.event(t, catalog.MessageRequestedType, catalog.MessageRequested{MessageID: x.id, TenantID: tenantID, Channel: "sms",
		To: "+447911123456", Content: catalog.Content{Type: "text", Text: "hi"}})
}

func (x *fixture) handle(t *testing.T, e event.Event) {
	t.Helper()
	reply, err := x.f.Handle(context.Background(), e)
	if err != nil {
		t.Fatalf("Handle %s: %v", e.Type(), err)
	}
	if reply != nil {
		t.Fatalf("message-record replied %s; it never should", reply)
	}
}

func (x *fixture) get(t *testing.T) message.Message {
	t.Helper()
	m, err := x.store.Get(context.Background(), tenantID, x.id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryMessageEventMovesTheStatus(t *testing.T) {
	t.Parallel()
	screened := func(decision string) catalog.MessageScreened {
		return catalog.MessageScreened{Decision: decision, Phase: "decide", Risk: 10}
	}
	tests := []struct {
		name string
		typ  string
		data func(x *fixture) any
		want message.Status
	}{
		{"screened pass", catalog.MessageScreenedType, func(x *fixture) any { d := screened("pass"); d.MessageRef = x.ref(); return d }, message.Screened},
		{"screened hold", catalog.MessageScreenedType, func(x *fixture) any { d := screened("hold"); d.MessageRef = x.ref(); return d }, message.Held},
		{"screened throttle", catalog.MessageScreenedType, func(x *fixture) any { d := screened("throttle"); d.MessageRef = x.ref(); return d }, message.Throttled},
		{"screened block", catalog.MessageScreenedType, func(x *fixture) any { d := screened("block"); d.MessageRef = x.ref(); return d }, message.Blocked},
		{"sent", catalog.MessageSentType, func(x *fixture) any {
			return map[string]any{"message_id": x.id, "tenant_id": tenantID, "channel": "sms", "provider": "smsc", "provider_message_id": "p1", "parts": 1}
		}, message.Sent},
		{"delivered", catalog.MessageDeliveredType, func(x *fixture) any { return x.ref() }, message.Delivered},
		{"read", catalog.MessageReadType, func(x *fixture) any { return x.ref() }, message.Read},
		{"failed", catalog.MessageFailedType, func(x *fixture) any {
			return catalog.MessageFailed{MessageRef: x.ref(), Stage: "send", Code: "0x45", Reason: "rejected"}
		}, message.Failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newFixture(t)
			x.handle(t, x.requested(t))
			x.handle(t, x.event(t, tc.typ, tc.data(x)))
			m := x.get(t)
			if m.Status != tc.want || len(m.History) != 2 || m.History[1].Type != tc.typ {
				t.Fatalf("after %s: status %s, history %+v; want %s and two entries", tc.typ, m.Status, m.History, tc.want)
			}
			if m.To != "+447911123456" || m.Channel != "sms" {
				t.Errorf("the later event overwrote the message's identity: %+v", m)
			}
			if len(m.History[1].Detail) == 0 {
				t.Errorf("the %s entry keeps no detail", tc.typ)
			}
		})
	}
}

func TestOutOfOrderAndRepeatedEvents(t *testing.T) {
	t.Parallel()
	x := newFixture(t)
	delivered := x.event(t, catalog.MessageDeliveredType, x.ref())
	x.handle(t, delivered) // before the message is even known
	x.handle(t, x.requested(t))
	x.handle(t, x.event(t, catalog.MessageSentType, map[string]any{
		"message_id": x.id, "tenant_id": tenantID, "channel": "sms", "provider": "smsc", "provider_message_id": "p1", "parts": 1}))
	x.handle(t, delivered) // redelivered by the broker
	m := x.get(t)
	if m.Status != message.Delivered || len(m.History) != 3 {
		t.Fatalf("status %s with %d entries; want delivered, three entries (the repeat ignored)", m.Status, len(m.History))
	}
	if m.To != "+447911123456" {
		t.Fatalf("requested arriving late did not fill the message in: %+v", m)
	}
}

func TestRejectsEventsThatBreakTheContract(t *testing.T) {
	t.Parallel()
	x := newFixture(t)
	bad := x.requested(t)
	bad.SetExtension("tenantid", "someone-else") // disagrees with data.tenant_id
	other := event.New()
	other.SetID("1")
	other.SetType("io.catalyst.billing.committed")
	other.SetSource("/t")
	unknown := x.requested(t)
	unknown.SetType("io.catalyst.message.teleported")
	for name, e := range map[string]event.Event{"tenant mismatch": bad, "not a message event": other, "uncatalogued message type": unknown} {
		if _, err := x.f.Handle(context.Background(), e); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: error %v, want invalid (dead letter)", name, err)
		}
	}
	if _, err := x.store.Get(context.Background(), tenantID, x.id); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("a rejected event was recorded: %v", err)
	}
}

func TestNeedsAMessageStore(t *testing.T) {
	t.Parallel()
	if _, err := Definition().New(fn.Deps{}); err == nil {
		t.Fatal("constructed without a store")
	}
}
