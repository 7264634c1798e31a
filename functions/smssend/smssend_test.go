package smssend

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// connector starts a sandbox SMSC and the connector bound to it.
func connector(t *testing.T, mix smsc.Mix) (fn.Function, *testenv.Recorder) {
	f, rec, _ := connectorWith(t, mix, nil)
	return f, rec
}

func connectorWith(t *testing.T, mix smsc.Mix, nums numbers.Store) (fn.Function, *testenv.Recorder, *smsc.Server) {
	t.Helper()
	srv, err := smsc.New(smsc.Config{Accounts: map[string]string{"catalyst": "secret"}, ReceiptDelay: 50 * time.Millisecond, Outcomes: mix})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	raw, err := os.ReadFile("../../config/carriers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "carriers.yaml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &testenv.Recorder{}
	f, err := New(fn.Deps{ConfigDir: dir, Emitter: rec, SandboxSMSC: srv.Addr(), Numbers: nums})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.(*Connector).Close() })
	return f, rec, srv
}

func requested(t *testing.T, to, text string) event.Event {
	t.Helper()
	return authorized(t, catalog.MessageRequested{MessageID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", Channel: "sms",
		To: to, Content: catalog.Content{Type: "text", Text: text}})
}

// authorized is the billing.authorized event the connector receives for m.
func authorized(t *testing.T, m catalog.MessageRequested) event.Event {
	t.Helper()
	id := m.MessageID
	e, err := catalog.New(catalog.BillingAuthorizedType, "/test", catalog.BillingAuthorized{
		MessageRef:    catalog.MessageRef{MessageID: id, TenantID: m.TenantID, Channel: "sms"},
		ReservationID: id, Amount: decimal.RequireFromString("0.015"), Currency: "EUR", Rate: decimal.RequireFromString("0.015"),
		ExpiresAt: time.Now().Add(time.Hour), Message: m,
	}, map[string]string{"tenantid": m.TenantID, "channel": "sms", "messageid": id, "partitionkey": id})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSendsAndReportsDelivery(t *testing.T) {
	t.Parallel()
	f, rec := connector(t, smsc.Mix{})
	in := requested(t, "+447911123456", "hello from the connector, in two parts: "+
		"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	out, err := f.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if out == nil || out.Type() != catalog.MessageSentType {
		t.Fatalf("reply %v, want message.sent", out)
	}
	if err := catalog.Validate(*out); err != nil {
		t.Fatalf("reply breaks the catalogue: %v", err)
	}
	var sent catalog.MessageSent
	_ = json.Unmarshal(out.Data(), &sent)
	if sent.Parts != 2 || sent.Provider != "sandbox" {
		t.Fatalf("sent %+v, want 2 parts via sandbox", sent)
	}
	testenv.WaitFor(t, "the delivery receipt for both parts", func() bool { return len(rec.All()) == 1 })
	d := rec.All()[0]
	if d.Type() != catalog.MessageDeliveredType || d.Extensions()["messageid"] != in.Extensions()["messageid"] {
		t.Fatalf("emitted %s", d)
	}
	if err := catalog.Validate(d); err != nil {
		t.Fatalf("delivered breaks the catalogue: %v", err)
	}
}

func TestUndeliverableReportsFailure(t *testing.T) {
	t.Parallel()
	f, rec := connector(t, smsc.Mix{Undelivered: 1})
	if _, err := f.Handle(context.Background(), requested(t, "+447911123456", "hi")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the failure receipt", func() bool { return len(rec.All()) == 1 })
	if e := rec.All()[0]; e.Type() != catalog.MessageFailedType || catalog.Validate(e) != nil {
		t.Fatalf("emitted %s (valid: %v)", e, catalog.Validate(e))
	}
}

func TestRejectsOtherEvents(t *testing.T) {
	t.Parallel()
	f, _ := connector(t, smsc.Mix{})
	e := requested(t, "+447911123456", "hi")
	e.SetType(catalog.MessageSentType)
	if _, err := f.Handle(context.Background(), e); err == nil {
		t.Fatal("handled a message.sent")
	}
}

func TestInboundSMSGoesToTheNumbersTenant(t *testing.T) {
	t.Parallel()
	db := inmem.New()
	if _, err := db.Numbers().Assign(context.Background(), numbers.Number{Channel: "sms", Number: "12345", TenantID: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, rec, srv := connectorWith(t, smsc.Mix{}, db.Numbers())
	testenv.WaitFor(t, "the connector to bind", func() bool { return srv.InjectMO("catalyst", "+447700900001", "12345", "héllo ☺") == nil })
	// InjectMO returns once the connector answered deliver_sm_resp, i.e. after its
	// handler ran: no waiting needed from here on.
	if err := srv.InjectMO("catalyst", "+447700900002", "99999", "nobody's"); err != nil { // no owner: logged, not emitted
		t.Fatal(err)
	}
	if n := len(rec.All()); n != 1 {
		t.Fatalf("%d events, want exactly the one for the owned number", n)
	}
	e := rec.All()[0]
	if e.Type() != catalog.MessageInboundType || e.Extensions()["tenantid"] != "acme" || catalog.Validate(e) != nil {
		t.Fatalf("emitted %s (valid: %v)", e, catalog.Validate(e))
	}
	var in catalog.MessageInbound
	_ = json.Unmarshal(e.Data(), &in)
	if in.Content.Text != "héllo ☺" || in.From != "+447700900001" || in.To != "12345" {
		t.Fatalf("inbound %+v", in)
	}
}

func TestSendsBinarySMS(t *testing.T) {
	t.Parallel()
	f, rec, srv := connectorWith(t, smsc.Mix{}, nil)
	payload := []byte{0x0b, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0, 0x00, 0x01, 0xff}
	id := uuid.Must(uuid.NewV7()).String()
	in := authorized(t, catalog.MessageRequested{MessageID: id, TenantID: "acme", Channel: "sms",
		To: "+447911123456", Content: catalog.Content{Type: "binary", Data: base64.StdEncoding.EncodeToString(payload)}})
	out, err := f.Handle(context.Background(), in)
	if err != nil || out == nil || out.Type() != catalog.MessageSentType {
		t.Fatalf("Handle: %v %v", out, err)
	}
	subs := srv.Submitted()
	if len(subs) != 1 || subs[0].DataCoding != 0x04 || !bytes.Equal(subs[0].Bytes, payload) {
		t.Fatalf("the SMSC got %+v, want one part, data_coding 4, the payload", subs)
	}
	testenv.WaitFor(t, "the receipt", func() bool { return len(rec.All()) == 1 })
}

// A receipt outcome reported again (the gateway reports at least once) carries the
// same event id, so the message record keeps it once; another outcome does not.
func TestOutcomeEventIDIsStable(t *testing.T) {
	o := smsgw.Outcome{TenantID: "acme", MessageID: "m1", Carrier: "sandbox", SMSCIDs: []string{"a", "b"}}
	id := outcomeID(catalog.MessageDeliveredType, o)
	if _, err := uuid.Parse(id); err != nil || id != outcomeID(catalog.MessageDeliveredType, o) {
		t.Fatalf("id %q (%v) not stable", id, err)
	}
	other := o
	other.MessageID = "m2"
	resent := o
	resent.SMSCIDs = []string{"c"} // the message submitted again: another outcome
	for _, different := range []string{outcomeID(catalog.MessageFailedType, o), outcomeID(catalog.MessageDeliveredType, other),
		outcomeID(catalog.MessageDeliveredType, resent)} {
		if different == id {
			t.Fatalf("two outcomes share the id %s", id)
		}
	}
}

// A concatenated MO is one message.inbound with the whole text and its part count;
// its message id is also its event id, stable across repeats of the report.
func TestConcatenatedInboundSMSIsOneEvent(t *testing.T) {
	t.Parallel()
	db := inmem.New()
	if _, err := db.Numbers().Assign(context.Background(), numbers.Number{Channel: "sms", Number: "12345", TenantID: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, rec, srv := connectorWith(t, smsc.Mix{}, db.Numbers())
	text := strings.Repeat("Long reply with an € sign. ", 15) // 420 septets: 3 parts
	testenv.WaitFor(t, "the connector to bind", func() bool {
		return srv.InjectMOWith("catalyst", "+447700900001", "12345", text, smsc.MOOptions{Concat: smsc.ConcatSAR, Reference: 513, Parts: []int{2}}) == nil
	})
	if err := srv.InjectMOWith("catalyst", "+447700900001", "12345", text, smsc.MOOptions{Concat: smsc.ConcatSAR, Reference: 513, Parts: []int{3, 1}}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.All()); n != 1 {
		t.Fatalf("%d events, want one for the whole message", n)
	}
	e := rec.All()[0]
	var in catalog.MessageInbound
	_ = json.Unmarshal(e.Data(), &in)
	if err := catalog.Validate(e); err != nil || in.Content.Text != text || in.Parts != 3 || in.Partial || e.ID() != in.MessageID {
		t.Fatalf("inbound %+v, event id %s (valid: %v)", in, e.ID(), err)
	}
}

// A partial message says so in the catalogue's fields.
func TestPartialInboundSMSIsFlagged(t *testing.T) {
	t.Parallel()
	db := inmem.New()
	if _, err := db.Numbers().Assign(context.Background(), numbers.Number{Channel: "sms", Number: "12345", TenantID: "acme"}); err != nil {
		t.Fatal(err)
	}
	rec := &testenv.Recorder{}
	v := &events{emit: rec, numbers: db.Numbers(), log: slog.New(slog.DiscardHandler)}
	at := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	m := smsgw.Inbound{ID: uuid.NewString(), From: "+447700900001", To: "12345", Text: "first and third", Parts: 2, Total: 3,
		Partial: true, Missing: []int{2}, ReceivedAt: at}
	if err := v.Inbound(context.Background(), m, "sandbox"); err != nil {
		t.Fatal(err)
	}
	e := rec.All()[0]
	var in catalog.MessageInbound
	_ = json.Unmarshal(e.Data(), &in)
	if err := catalog.Validate(e); err != nil || !in.Partial || in.Parts != 2 || len(in.MissingParts) != 1 || in.MissingParts[0] != 2 ||
		!in.ReceivedAt.Equal(at) || e.ID() != m.ID || in.MessageID != m.ID {
		t.Fatalf("inbound %+v, event id %s (valid: %v)", in, e.ID(), err)
	}
}
