package firewall_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	firewallfns "github.com/catalyst-cpaas/catalyst/functions/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// chain builds the seven phases in Sequence order, plus firewall-release.
func chain(t *testing.T) ([]fn.Function, fn.Function, *testenv.Recorder, *screening.Engine) {
	t.Helper()
	st, err := stores.Open(context.Background(), "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	wall, closeWall, err := st.Firewall(context.Background(), nil, "../../config")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeWall)
	rec := &testenv.Recorder{}
	defs := map[string]fn.Definition{}
	for _, d := range firewallfns.Definitions() {
		defs[d.Name] = d
	}
	var phases []fn.Function
	for _, p := range firewall.Phases {
		f, err := defs["firewall-"+p].New(fn.Deps{Firewall: wall, Emitter: rec})
		if err != nil {
			t.Fatal(err)
		}
		phases = append(phases, f)
	}
	release, err := defs["firewall-release"].New(fn.Deps{Firewall: wall, Emitter: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release.(interface{ Close() error }).Close() })
	return phases, release, rec, wall
}

func requested(t *testing.T, from, to, text string) event.Event {
	t.Helper()
	id := uuid.NewString()
	e, err := catalog.New(catalog.MessageRequestedType, "/test", catalog.MessageRequested{MessageID: id, TenantID: "acme", Channel: "sms",
		From: from, To: to, Content: catalog.Content{Type: "text", Text: text}},
		map[string]string{"tenantid": "acme", "channel": "sms", "messageid": id, "partitionkey": id})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run passes e through the phases as the Sequence does, checking every event
// against the catalogue, and returns the last reply.
func run(t *testing.T, phases []fn.Function, e event.Event) event.Event {
	t.Helper()
	for i, f := range phases {
		out, err := f.Handle(context.Background(), e)
		if err != nil {
			t.Fatalf("phase %s: %v", firewall.Phases[i], err)
		}
		if err := catalog.Validate(*out); err != nil {
			t.Fatalf("phase %s replied an invalid event: %v", firewall.Phases[i], err)
		}
		e = *out
	}
	return e
}

func TestSequence(t *testing.T) {
	t.Parallel()
	phases, _, rec, _ := chain(t)
	req := requested(t, "Acme", "+447911123456", "Your table for two is booked for 8pm.")
	req.SetTime(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)) // the request's time, not today's
	clean := run(t, phases, req)
	if clean.Type() != catalog.MessageScreenedType || clean.Extensions()["decision"] != "pass" {
		t.Fatalf("clean message: %s decision %v", clean.Type(), clean.Extensions()["decision"])
	}
	if !clean.Time().Equal(req.Time()) { // a redelivered request yields the same events
		t.Fatalf("screened at %s, want the request's time %s", clean.Time(), req.Time())
	}
	var s catalog.MessageScreened
	if err := clean.DataAs(&s); err != nil || s.Message.Content.Text != "Your table for two is booked for 8pm." {
		t.Fatalf("screened data %+v %v: billing needs the request", s, err)
	}
	phish := requested(t, "Bank", "+447911123457", "Please verify account at http://secure-login.example.com")
	blocked := run(t, phases, phish)
	if blocked.Extensions()["decision"] != "block" || blocked.ID() != phish.Extensions()["messageid"].(string)+"/screened/decided" {
		t.Fatalf("phishing: decision %v id %s", blocked.Extensions()["decision"], blocked.ID())
	}
	alerts := rec.All()
	if len(alerts) != 1 || alerts[0].Type() != catalog.FraudAlertType {
		t.Fatalf("emitted %v, want one fraud alert", alerts)
	}
	// Another event type passes through a phase untouched.
	other := requested(t, "Acme", "+447911123456", "hi")
	other.SetType(catalog.MessageSentType)
	if out, err := phases[3].Handle(context.Background(), other); err != nil || out.Type() != catalog.MessageSentType {
		t.Fatalf("pass-through: %v %v", out, err)
	}
}

// firewall-release emits the SLA's default action for a held message once the SLA
// passed (here: the settings' 5 minutes, so the test only checks nothing is emitted
// early) and answers every event it is sent with an acknowledgement.
func TestReleaseSweep(t *testing.T) {
	t.Parallel()
	phases, release, rec, wall := chain(t)
	if _, err := wall.AddReputation(context.Background(), firewall.ReputationEntry{Kind: firewall.KindSender, Value: "Watched", List: firewall.ListWatch}); err != nil {
		t.Fatal(err)
	}
	held := run(t, phases, requested(t, "Watched", "+447911123456", "Parcel tomorrow"))
	if held.Extensions()["decision"] != "hold" {
		t.Fatalf("decision %v, want hold", held.Extensions()["decision"])
	}
	if out, err := release.Handle(context.Background(), held); out != nil || err != nil {
		t.Fatalf("release.Handle: %v %v", out, err)
	}
	if err := release.(interface{ Sweep(context.Context) error }).Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.All(); len(got) != 0 {
		t.Fatalf("emitted %d events before the SLA", len(got))
	}
}

// Billing takes message.screened only from the firewall's source: the Trigger's
// filter must name the source the firewall's events carry.
func TestBillingTriggerFiltersOnTheFirewallSource(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../triggers/unfused/billing-authorize.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "- exact: {source: " + screening.Source + "}"; !strings.Contains(string(raw), want) {
		t.Fatalf("triggers/unfused/billing-authorize.yaml does not filter with %q", want)
	}
}
