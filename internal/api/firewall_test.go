package api

import (
	"net/http"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// withFirewall serves the firewall endpoints over memory stores, with no rules and
// no model: enough for the reputation and review endpoints.
func withFirewall(t *testing.T) func(*Options) {
	return func(o *Options) {
		db := inmem.New()
		settings := screening.Settings{}
		settings.Model.Mode = screening.ModelOff
		e, err := screening.New(screening.Config{Settings: settings, Rules: screening.StaticRules{Set: &rules.Set{}},
			Velocity: velocity.NewMemory(), Reputation: db.FirewallReputation(), Reviews: db.FirewallReviews(),
			Audit: db.FirewallAudit(), Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		o.Firewall = e
	}
}

// A reputation value must be of its kind: "' or 1=1 --" is no domain, a value with a
// newline is none either; each is a 422 on value, and nothing is stored.
func TestReputationValuesAreCheckedByKind(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, withFirewall(t))
	acme := a.createTenant(t, "acme")
	bad := []map[string]any{
		{"kind": "domain", "value": "' or 1=1 --", "list": "blocklist"},
		{"kind": "domain", "value": "bad.example\nevil.example", "list": "blocklist"},
		{"kind": "domain", "value": "10.0.0.1", "list": "blocklist"},
		{"kind": "url", "value": "not a link", "list": "blocklist"},
		{"kind": "number", "value": "1; DROP TABLE x", "list": "blocklist"},
		{"kind": "sender", "value": "Bank\r\nAlert", "list": "complaint"},
	}
	for _, body := range bad {
		status, _, got := a.do(t, "POST", "/api/v2/firewall/reputation", acme.key, body)
		if status != http.StatusUnprocessableEntity || !fieldsOf(got)["value"] {
			t.Errorf("%v: %d %v, want 422 on value", body, status, got)
		}
	}
	if _, _, got := a.do(t, "GET", "/api/v2/firewall/reputation", acme.key, nil); len(got["entries"].([]any)) != 0 {
		t.Errorf("refused entries were stored: %v", got)
	}
	status, _, got := a.do(t, "POST", "/api/v2/firewall/reputation", acme.key, map[string]any{"kind": "domain", "value": "Phish.Example", "list": "blocklist"})
	if status != http.StatusCreated || got["value"] != "phish.example" {
		t.Errorf("a domain: %d %v", status, got)
	}
}
