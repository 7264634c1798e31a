package authorize_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/functions/authorize"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

type fixture struct {
	f      fn.Function
	rec    *testenv.Recorder
	wall   *screening.Engine
	tenant string
}

// newFixture builds message-authorize over the shipped configuration and in-memory
// stores, with one funded EUR tenant on the default rate card.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := stores.Open(ctx, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	wall, closeWall, err := st.Firewall(ctx, nil, "../../config")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeWall)
	bill, closeBill, err := st.Billing(nil, "../../config")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeBill)
	id := "t-" + uuid.NewString()[:8]
	if _, err := st.Tenants.CreateTenant(ctx, tenant.Tenant{ID: id, Name: id, Email: id + "@example.com", Currency: "EUR", Status: tenant.Active},
		tenant.APIKey{ID: uuid.NewString(), TenantID: id, Prefix: "ck_" + id, Hash: []byte(id)}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bill.TopUp(ctx, id, "initial", "", decimal.RequireFromString("10"), "EUR"); err != nil {
		t.Fatal(err)
	}
	rec := &testenv.Recorder{}
	f, err := authorize.Definition().New(fn.Deps{Firewall: wall, Billing: bill, Emitter: rec})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{f: f, rec: rec, wall: wall, tenant: id}
}

func (x *fixture) requested(t *testing.T, from, to, text string) event.Event {
	t.Helper()
	id := uuid.NewString()
	e, err := catalog.New(catalog.MessageRequestedType, "/test", catalog.MessageRequested{MessageID: id, TenantID: x.tenant, Channel: "sms",
		From: from, To: to, Content: catalog.Content{Type: "text", Text: text}},
		map[string]string{"tenantid": x.tenant, "channel": "sms", "messageid": id, "partitionkey": id})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// handle runs the function, checking what it emitted and replied against the catalogue.
func (x *fixture) handle(t *testing.T, e event.Event) (*event.Event, []event.Event) {
	t.Helper()
	out, err := x.f.Handle(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	emitted := x.rec.Take()
	for _, ev := range append(emitted, deref(out)...) {
		if err := catalog.Validate(ev); err != nil {
			t.Fatalf("invalid %s: %v", ev.Type(), err)
		}
	}
	return out, emitted
}

func deref(e *event.Event) []event.Event {
	if e == nil {
		return nil
	}
	return []event.Event{*e}
}

func types(es []event.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Type()
	}
	return out
}

// A clean message is screened (message.screened pass, the Sequence's event id) and
// authorized in the same call; a redelivery answers the same.
func TestCleanMessageIsScreenedAndAuthorized(t *testing.T) {
	t.Parallel()
	x := newFixture(t)
	req := x.requested(t, "Acme", "+447911123456", "Your appointment is confirmed for Tuesday at 10:30. Reply to reschedule.")
	out, emitted := x.handle(t, req)
	if len(emitted) != 1 || emitted[0].Type() != catalog.MessageScreenedType || emitted[0].Extensions()["decision"] != "pass" {
		t.Fatalf("emitted %v, want one message.screened pass: %s", types(emitted), emitted[len(emitted)-1].Data())
	}
	if id := emitted[0].ID(); !strings.HasSuffix(id, authorize.DecidedSuffix) {
		t.Errorf("screened id %q does not end in %q", id, authorize.DecidedSuffix)
	}
	if out == nil || out.Type() != catalog.BillingAuthorizedType {
		t.Fatalf("reply %v, want billing.authorized", deref(out))
	}
	var a catalog.BillingAuthorized
	if err := catalog.DecodeData(*out, &a); err != nil {
		t.Fatal(err)
	}
	if a.TenantID != x.tenant || a.Currency != "EUR" || !a.Amount.Equal(decimal.RequireFromString("0.015")) {
		t.Errorf("authorized %+v, want the default card's 0.015 EUR", a)
	}
	again, emittedAgain := x.handle(t, req)
	if again == nil || again.ID() != out.ID() || len(emittedAgain) != 1 || emittedAgain[0].ID() != emitted[0].ID() {
		t.Errorf("redelivery answered %v and emitted %v; want the same event ids", deref(again), types(emittedAgain))
	}
}

// Phishing is blocked: message.screened block and a fraud.alert, and billing never
// sees it (no reply).
func TestBlockedMessageIsNeverAuthorized(t *testing.T) {
	t.Parallel()
	x := newFixture(t)
	out, emitted := x.handle(t, x.requested(t, "Acme", "+447911123456",
		"URGENT! Verify account now or it will be suspended: http://secure-login.example.com confirm identity"))
	if out != nil {
		t.Fatalf("a blocked message was answered with %s", out.Type())
	}
	got := types(emitted)
	if len(got) != 2 || got[0] != catalog.FraudAlertType || got[1] != catalog.MessageScreenedType || emitted[1].Extensions()["decision"] != "block" {
		t.Fatalf("emitted %v, want fraud.alert then message.screened block", got)
	}
}

// A held message's later pass (here: an operator's approval) is authorized when the
// function is sent that message.screened; a later block is acknowledged and no more.
func TestLaterPassIsAuthorized(t *testing.T) {
	t.Parallel()
	x := newFixture(t)
	ctx := context.Background()
	if _, err := x.wall.AddReputation(ctx, firewall.ReputationEntry{Kind: firewall.KindSender, Value: "Watched", List: firewall.ListWatch}); err != nil {
		t.Fatal(err)
	}
	req := x.requested(t, "Watched", "+447911123456", "Your parcel arrives tomorrow")
	out, emitted := x.handle(t, req)
	if out != nil || len(emitted) != 1 || emitted[0].Extensions()["decision"] != "hold" {
		t.Fatalf("held message: reply %v, emitted %v", deref(out), types(emitted))
	}
	_, s, err := x.wall.Review(ctx, req.Extensions()["messageid"].(string), true, "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := screening.RequestOf(s)
	if err != nil {
		t.Fatal(err)
	}
	later, err := screening.Screened(ctx, nil, time.Now(), m, s, s.Verdict.Phase)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = x.handle(t, *later)
	if out == nil || out.Type() != catalog.BillingAuthorizedType {
		t.Fatalf("approved message answered %v, want billing.authorized", deref(out))
	}
}
