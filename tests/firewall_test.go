package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// configWith copies the repository's config/ to a temporary directory, editing the
// files named in edits.
func configWith(t *testing.T, edits map[string]func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Join(repoRoot, "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "config", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if edit, ok := edits[e.Name()]; ok {
			raw = []byte(edit(string(raw)))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The firewall end to end, through the real binary on PostgreSQL and Redis: phishing,
// premium-number pumping, message bombing, a watch-listed sender and clean traffic
// each get the right decision through the broker; blocked messages raise a fraud
// alert and are never billed or sent; throttled messages go out after their delay;
// a held message goes out once an operator approves it. Every message ends in
// exactly one terminal state. It runs in both layouts: fused (message-authorize and
// message-settle, catalyst dev's default) and unfused (the Sequences, --unfused).
func TestFirewallDecisionsThroughTheBroker(t *testing.T) {
	t.Parallel()
	firewallDecisions(t)
}

func TestFirewallDecisionsThroughTheBrokerUnfused(t *testing.T) {
	t.Parallel()
	firewallDecisions(t, "--unfused")
}

func firewallDecisions(t *testing.T, layout ...string) {
	env := billingEnv(t)
	cfg := configWith(t, map[string]func(string) string{
		// The bombing rule's wait, shortened so the test sees the release.
		"firewall-rules.yaml": func(s string) string {
			return strings.Replace(s, "  match: {condition: \"messages_per_second > 100\"}\n  action: throttle\n",
				"  match: {condition: \"messages_per_second > 100\"}\n  action: throttle\n  delay: 2s\n", 1)
		},
	})
	alerts, screened := testenv.NewSink(t, nil), testenv.NewSink(t, nil)
	extra := writeManifest(t, trigger("alerts", "  filters:\n    - exact: {type: io.catalyst.fraud.alert}", alerts.URL, "")+
		trigger("screened", "  filters:\n    - exact: {type: io.catalyst.message.screened}", screened.URL, ""))
	p := startDev(t, env, append([]string{"--config", cfg, "-f", extra}, layout...)...)
	acme := createTenant(t, p.APIURL, "acme")
	topUp(t, p.APIURL, acme.TenantID, "10", "inv-1")

	send := func(from, to, text string) string {
		t.Helper()
		var got struct {
			MessageID string `json:"message_id"`
		}
		body := map[string]any{"channel": "sms", "to": to, "content": map[string]string{"type": "text", "text": text}}
		if from != "" {
			body["from"] = from
		}
		if status, raw := call(t, "POST", p.APIURL+"/api/v1/messages", acme.APIKey, body, nil, &got); status != http.StatusAccepted {
			t.Fatalf("send: %d %s", status, raw)
		}
		return got.MessageID
	}
	clean := send("Acme", "+447911123456", "Your appointment is confirmed for Tuesday at 10:30.")
	phishing := send("Bank", "+447911123457", "Unusual activity on your card. Please verify account now at http://secure-login.example.com")
	premium := send("Acme", "+19005551234", "Your code is 1234")

	// A watch-listed sender is held; the operator approves it.
	if status, body := call(t, "POST", p.APIURL+"/api/v2/firewall/reputation", adminToken,
		map[string]any{"kind": "sender", "value": "Watched", "list": "watchlist", "reason": "new sender"}, nil, nil); status != http.StatusCreated {
		t.Fatalf("add to the watch list: %d %s", status, body)
	}
	held := send("Watched", "+447911123458", "Your parcel arrives tomorrow")

	// Bombing: 130 requests from one sender in the same second (the CloudEvent time is
	// the request's, which the velocity windows count in), posted to the ingress.
	at := time.Now().UTC().Truncate(time.Second)
	var bombs []string
	for i := range 130 {
		id := uuid.NewString()
		bombs = append(bombs, id)
		req := catalog.MessageRequested{MessageID: id, TenantID: acme.TenantID, Channel: "sms", From: "Bomber",
			To: fmt.Sprintf("+4479111%05d", 100+i*37), Content: catalog.Content{Type: "text", Text: "Flash sale today only at our store"}}
		e, err := catalog.New(catalog.MessageRequestedType, "/tests/bomber", req, map[string]string{
			"tenantid": acme.TenantID, "channel": "sms", "messageid": id, "partitionkey": id})
		if err != nil {
			t.Fatal(err)
		}
		e.SetTime(at)
		// An integrator's own raw request: the tenant's API key is its credential.
		if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", acme.APIKey, e); got != http.StatusAccepted {
			t.Fatalf("post request %d: %d", i, got)
		}
	}

	status := func(id string) messageView {
		var m messageView
		call(t, "GET", p.APIURL+"/api/v1/messages/"+id, acme.APIKey, nil, nil, &m)
		return m
	}
	testenv.WaitFor(t, "the held message in the review queue", func() bool { return status(held).Status == "held" })
	var queue struct {
		Reviews []struct {
			MessageID string `json:"message_id"`
		} `json:"reviews"`
	}
	if code, body := call(t, "GET", p.APIURL+"/api/v2/firewall/reviews", acme.APIKey, nil, nil, &queue); code != http.StatusOK ||
		len(queue.Reviews) != 1 || queue.Reviews[0].MessageID != held {
		t.Fatalf("review queue: %d %s", code, body)
	}
	if code, body := call(t, "POST", p.APIURL+"/api/v2/firewall/reviews/"+held+"/approve", adminToken,
		map[string]string{"note": "known customer"}, nil, nil); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}

	for _, id := range []string{phishing, premium} {
		testenv.WaitFor(t, "the blocked message recorded", func() bool { return status(id).Status == "blocked" })
	}
	for _, id := range append([]string{clean, held}, bombs...) {
		testenv.WaitFor(t, "every passed, approved and released message delivered", func() bool { return status(id).Status == "delivered" })
	}

	// Decisions as the broker saw them.
	decisions := map[string][]string{}
	for _, e := range screened.Received() {
		id, _ := e.Extensions()["messageid"].(string)
		d, _ := e.Extensions()["decision"].(string)
		decisions[id] = append(decisions[id], d)
	}
	want := map[string]string{clean: "pass", phishing: "block", premium: "block", held: "hold,pass"}
	for id, w := range want {
		if got := strings.Join(decisions[id], ","); got != w {
			t.Errorf("message %s: decisions %q, want %q", id, got, w)
		}
	}
	seen := map[string]int{}
	for _, id := range bombs {
		seen[strings.Join(decisions[id], ",")]++
	}
	if seen["pass"] != 100 || seen["throttle,pass"] != 30 {
		t.Errorf("bombs' decisions %v, want 100 pass and 30 throttle,pass (over 100 a second)", seen)
	}
	// Blocked: a fraud alert each, never sent, never billed.
	alerted := map[string]bool{}
	for _, e := range alerts.Received() {
		id, _ := e.Extensions()["messageid"].(string)
		alerted[id] = true
	}
	for _, id := range []string{phishing, premium} {
		if !alerted[id] {
			t.Errorf("no fraud alert for blocked message %s", id)
		}
		for _, h := range status(id).History {
			if h.Type == catalog.MessageSentType || strings.HasPrefix(h.Type, "io.catalyst.billing.") {
				t.Errorf("blocked message %s: %s in its history", id, h.Type)
			}
		}
		if code, _ := call(t, "GET", p.APIURL+"/api/v2/transactions/"+id, acme.APIKey, nil, nil, nil); code != http.StatusNotFound {
			t.Errorf("blocked message %s has a transaction (%d)", id, code)
		}
	}
	// 132 delivered at 0.015 each: 10 − 1.98.
	testenv.WaitFor(t, "every delivery committed", func() bool { return balanceOf(t, p.APIURL, acme.TenantID).Available == "8.02" })
	billingVerify(t, env)
}
