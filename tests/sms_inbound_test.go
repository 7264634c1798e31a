package tests

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/smsc"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// inboundText is three parts under every concatenation (414 GSM-7 septets).
var inboundText = strings.Repeat("The quick brown fox € ", 18)

// carrierSMSC runs the sandbox SMSC in the test, as the carrier the platform binds
// to (config carriersAt its address), so the test sends MO through it.
func carrierSMSC(t *testing.T) (*smsc.Server, string) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	srv, err := smsc.New(smsc.Config{Addr: addr, Accounts: map[string]string{"catalyst": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, addr
}

// injectWhenBound sends parts of an MO once the connector has bound: until then
// the SMSC has no receiver for it.
func injectWhenBound(t *testing.T, srv *smsc.Server, o smsc.MOOptions) {
	t.Helper()
	testenv.WaitFor(t, "the connector to bind and take the parts", func() bool {
		err := srv.InjectMOWith("catalyst", "+447700900999", "12345", inboundText, o)
		if err != nil && !errors.Is(err, smsc.ErrNoReceiver) {
			t.Logf("InjectMOWith %+v: %v", o, err)
		}
		return err == nil
	})
}

// inboundSink subscribes a sink to message.inbound with a Trigger.
func inboundSink(t *testing.T) (*testenv.Sink, string) {
	t.Helper()
	sink := testenv.NewSink(t, nil)
	return sink, writeManifest(t, trigger("sms-inbound", "  filters:\n    - exact: {type: io.catalyst.message.inbound}", sink.URL, ""))
}

// ownNumber creates a tenant owning the SMS number 12345.
func ownNumber(t *testing.T, api string) createdTenant {
	t.Helper()
	acme := createTenant(t, api, "acme")
	if status, body := call(t, "POST", api+"/api/v2/tenants/"+acme.TenantID+"/numbers", adminToken,
		map[string]string{"channel": "sms", "number": "12345"}, nil, nil); status != http.StatusCreated {
		t.Fatalf("assign 12345: %d %s", status, body)
	}
	return acme
}

// wantOneWholeInbound checks the sink got exactly one message.inbound: the whole text.
func wantOneWholeInbound(t *testing.T, sink *testenv.Sink, tenantID string) {
	t.Helper()
	got := sink.Received()
	if len(got) != 1 {
		t.Fatalf("the sink got %d message.inbound, want 1", len(got))
	}
	var in struct {
		MessageID string `json:"message_id"`
		TenantID  string `json:"tenant_id"`
		From, To  string
		Content   struct{ Text string }
		Parts     int
		Partial   bool
	}
	if err := json.Unmarshal(got[0].Data(), &in); err != nil {
		t.Fatal(err)
	}
	if in.Content.Text != inboundText || in.Parts != 3 || in.Partial || in.TenantID != tenantID || in.From != "+447700900999" || in.To != "12345" {
		t.Fatalf("message.inbound %s, want the whole text of 3 parts for %s", got[0].Data(), tenantID)
	}
}

// A 3-part MO, parts out of order and one sent twice, reaches the broker as exactly
// one message.inbound with the whole text.
func TestConcatenatedInboundSMSArrivesOnceWhole(t *testing.T) {
	t.Parallel()
	srv, addr := carrierSMSC(t)
	seeds := newKafka(t)
	sink, manifest := inboundSink(t)
	env := []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=", "REDIS_URL=", "KAFKA_BROKERS=" + strings.Join(seeds, ",")}
	p := startDev(t, env, "--smsc-addr", "", "--config", carriersAt(t, addr, "48h"), "-f", manifest)
	acme := ownNumber(t, p.APIURL)
	injectWhenBound(t, srv, smsc.MOOptions{Concat: smsc.ConcatUDH16, Reference: 4242, Parts: []int{2, 3, 2}})
	injectWhenBound(t, srv, smsc.MOOptions{Concat: smsc.ConcatUDH16, Reference: 4242, Parts: []int{1, 3}})
	testenv.WaitFor(t, "message.inbound", func() bool { return len(sink.Received()) > 0 })
	testenv.WaitCaughtUp(t, seeds, brokerTopic, "knative-trigger-catalyst-sms-inbound")
	wantOneWholeInbound(t, sink, acme.TenantID)
}

// The connector crashes (catalyst dev SIGKILLed) between the parts of an MO: with
// PostgreSQL the parts it acknowledged are kept, and the restarted connector
// delivers one whole message when the last part comes.
func TestConcatenatedInboundSMSSurvivesAConnectorCrash(t *testing.T) {
	t.Parallel()
	srv, addr := carrierSMSC(t)
	seeds := newKafka(t)
	sink, manifest := inboundSink(t)
	cfgDir := carriersAt(t, addr, "48h")
	env := []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=" + testenv.Postgres(t), "REDIS_URL=",
		"KAFKA_BROKERS=" + strings.Join(seeds, ",")}
	first := startDev(t, env, "--smsc-addr", "", "--config", cfgDir, "-f", manifest)
	acme := ownNumber(t, first.APIURL)
	injectWhenBound(t, srv, smsc.MOOptions{Concat: smsc.ConcatSAR, Reference: 777, Parts: []int{1, 2}})
	first.Kill(t)
	startDev(t, env, "--smsc-addr", "", "--config", cfgDir, "-f", manifest) // the restarted connector
	injectWhenBound(t, srv, smsc.MOOptions{Concat: smsc.ConcatSAR, Reference: 777, Parts: []int{3}})
	testenv.WaitFor(t, "message.inbound", func() bool { return len(sink.Received()) > 0 })
	testenv.WaitCaughtUp(t, seeds, brokerTopic, "knative-trigger-catalyst-sms-inbound")
	wantOneWholeInbound(t, sink, acme.TenantID)
}
