package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

var shippedPath = filepath.Join("..", "..", "..", "config", "firewall-rules.yaml")

func TestShippedRules(t *testing.T) {
	t.Parallel()
	s, err := Load(shippedPath)
	if err != nil {
		t.Fatalf("Load(%s): %v (%+v)", shippedPath, err, fields(err))
	}
	if n := len(s.Rules); n < 10 || n > 20 {
		t.Errorf("shipped %d rules, want 10-20", n)
	}
	if len(s.Version) != 12 {
		t.Errorf("Version = %q, want 12 hex digits", s.Version)
	}

	// The three rules of the issue, as the issue writes them, with their defaults.
	want := map[string]Rule{
		"premium-number-pumping": {Action: firewall.Block, Severity: SeverityCritical, Score: 100},
		"banking-phishing":       {Action: firewall.Block, Severity: SeverityHigh, Score: 80},
		"message-bombing":        {Action: firewall.Throttle, Severity: SeverityMedium, Score: 50},
		"new-url-sender":         {Action: firewall.ActionScore, Severity: SeverityLow, Score: 30, Mode: ModeShadow},
	}
	for name, w := range want {
		r, ok := s.Rule(name)
		if !ok {
			t.Errorf("rule %s missing", name)
			continue
		}
		if r.Action != w.Action || r.Severity != w.Severity || r.Score != w.Score || r.Delay != w.Delay || r.Mode != w.Mode {
			t.Errorf("%s = %s/%s/%d/%s/%q, want %s/%s/%d/%s/%q", name, r.Action, r.Severity, r.Score, r.Delay, r.Mode,
				w.Action, w.Severity, w.Score, w.Delay, w.Mode)
		}
	}
	if r, _ := s.Rule("premium-number-pumping"); !slices.Equal(r.Match.DestinationPrefix, []string{"900", "976", "988"}) {
		t.Errorf("premium-number-pumping prefixes = %v", r.Match.DestinationPrefix)
	}
	if r, _ := s.Rule("message-bombing"); r.Match.Condition != "messages_per_second > 100" {
		t.Errorf("message-bombing condition = %q", r.Match.Condition)
	}
	kw := s.Keywords()
	for _, k := range []string{"verify account", "confirm identity", "update payment", "claim your prize"} {
		if !slices.Contains(kw, k) {
			t.Errorf("Keywords() lacks %q: %v", k, kw)
		}
	}
	shadow := 0
	for _, r := range s.Rules {
		if r.Shadow() {
			shadow++
		}
	}
	if shadow == 0 {
		t.Error("the shipped rules should show shadow mode at least once")
	}
	if _, ok := s.Rule("no-such-rule"); ok {
		t.Error("Rule(no-such-rule) found something")
	}
}

func fields(err error) []errs.FieldViolation {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

func TestParseDefaultsAndVersion(t *testing.T) {
	t.Parallel()
	src := `
- name: a
  match: {condition: "true"}
  action: hold
- name: b
  match: {condition: "true"}
  action: throttle
  severity: info
  delay: 30s
- name: c
  match: {condition: "true"}
  action: score
  score: 0
  mode: enforce
`
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v %+v", err, fields(err))
	}
	got := []Rule{s.Rules[0], s.Rules[1], s.Rules[2]}
	want := []struct {
		sev   string
		score int
		delay time.Duration
		mode  string
	}{
		{SeverityMedium, 50, 0, ""},
		{SeverityInfo, 10, 30 * time.Second, ""},
		{SeverityLow, 0, 0, ""}, // an explicit 0 is kept, not defaulted
	}
	for i, w := range want {
		r := got[i]
		if r.Severity != w.sev || r.Score != w.score || r.Delay != w.delay || r.Mode != w.mode {
			t.Errorf("rule %s = %s/%d/%s/%q, want %s/%d/%s/%q", r.Name, r.Severity, r.Score, r.Delay, r.Mode,
				w.sev, w.score, w.delay, w.mode)
		}
	}
	again, _ := Parse([]byte(src))
	other, _ := Parse([]byte(src + "\n"))
	if again.Version != s.Version || other.Version == s.Version {
		t.Errorf("Version must follow the bytes: %s, %s, %s", s.Version, again.Version, other.Version)
	}
	for _, empty := range []string{"", "# nothing yet\n", "[]", "null"} {
		s, err := Parse([]byte(empty))
		if err != nil || len(s.Rules) != 0 || s.Evaluate("sms", &firewall.Features{}) != nil {
			t.Errorf("Parse(%q) = %v, %v; want an empty set", empty, s, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	ok := `{name: ok, match: {condition: "true"}, action: block}`
	tests := []struct {
		name string
		src  string
		want []string // exact field paths, in order
		says string   // a phrase the first violation's reason contains
	}{
		{"not yaml", "- name: [", []string{""}, "YAML"},
		{"not a list", "name: a\naction: block", []string{""}, "list"},
		{"rule not a mapping", "- just text", []string{"[0]"}, "mapping"},
		{"unknown rule field", `- {name: a, match: {condition: "true"}, action: block, colour: red}`,
			[]string{"[0].colour"}, "unknown field"},
		{"unknown match field", `- {name: a, match: {keyword: [x]}, action: block}`,
			[]string{"[0].match.keyword", "[0].match"}, "unknown field"},
		{"empty match", `- {name: a, match: {}, action: block}`, []string{"[0].match"}, "at least one"},
		{"missing match", `- {name: a, action: block}`, []string{"[0].match"}, "required"},
		{"match not a mapping", `- {name: a, match: [x], action: block}`, []string{"[0].match"}, "mapping"},
		{"missing name and action", `- {match: {condition: "true"}}`, []string{"[0].name", "[0].action"}, "required"},
		{"bad name", `- {name: Bad_Name, match: {condition: "true"}, action: block}`, []string{"[0].name"}, "a-z"},
		{"long name", `- {name: ` + strings.Repeat("a", 64) + `, match: {condition: "true"}, action: block}`,
			[]string{"[0].name"}, "63"},
		{"name not a string", `- {name: 12, match: {condition: "true"}, action: block}`, []string{"[0].name"}, "string"},
		{"duplicate name", "- " + ok + "\n- " + ok, []string{"[1].name"}, "duplicate of [0].name"},
		{"bad action", `- {name: a, match: {condition: "true"}, action: drop}`, []string{"[0].action"}, `"drop"`},
		{"bad severity", `- {name: a, match: {condition: "true"}, action: block, severity: urgent}`,
			[]string{"[0].severity"}, "urgent"},
		{"score too high", `- {name: a, match: {condition: "true"}, action: score, score: 101}`,
			[]string{"[0].score"}, "101"},
		{"score fraction", `- {name: a, match: {condition: "true"}, action: score, score: 2.5}`,
			[]string{"[0].score"}, "whole number"},
		{"bad mode", `- {name: a, match: {condition: "true"}, action: block, mode: dry-run}`,
			[]string{"[0].mode"}, "shadow"},
		{"delay on block", `- {name: a, match: {condition: "true"}, action: block, delay: 30s}`,
			[]string{"[0].delay"}, "only a throttle"},
		{"delay not a duration", `- {name: a, match: {condition: "true"}, action: throttle, delay: soon}`,
			[]string{"[0].delay"}, "duration"},
		{"delay a number", `- {name: a, match: {condition: "true"}, action: throttle, delay: 30}`,
			[]string{"[0].delay"}, "duration"},
		{"delay too long", `- {name: a, match: {condition: "true"}, action: throttle, delay: 48h}`,
			[]string{"[0].delay"}, "at most"},
		{"unknown identifier", `- {name: a, match: {condition: "fraud > 1"}, action: block}`,
			[]string{"[0].match.condition"}, "unknown name fraud"},
		{"condition not boolean", `- {name: a, match: {condition: "messages_per_second + 1"}, action: block}`,
			[]string{"[0].match.condition"}, "bool"},
		{"condition syntax", `- {name: a, match: {condition: "url_count >"}, action: block}`,
			[]string{"[0].match.condition"}, "unexpected"},
		{"condition type mismatch", `- {name: a, match: {condition: "country > 3"}, action: block}`,
			[]string{"[0].match.condition"}, "mismatched types"},
		{"bad prefixes", `- {name: a, match: {destination_prefix: ["90a", "+", "44"]}, action: block}`,
			[]string{"[0].match.destination_prefix[0]", "[0].match.destination_prefix[1]"}, "digits"},
		{"prefix list a scalar", `- {name: a, match: {destination_prefix: "900"}, action: block}`,
			[]string{"[0].match.destination_prefix"}, "list"},
		{"empty keyword list", `- {name: a, match: {keywords: []}, action: block}`,
			[]string{"[0].match.keywords"}, "non-empty"},
		{"blank keyword", `- {name: a, match: {keywords: [ok, "  "]}, action: block}`,
			[]string{"[0].match.keywords[1]"}, "empty"},
		{"countries", "- {name: a, match: {countries: [UK, NO, gb, ZZ]}, action: block}",
			[]string{"[0].match.countries[0]", "[0].match.countries[1]", "[0].match.countries[3]"}, "GB"},
		{"channel", `- {name: a, match: {channels: [sms, fax]}, action: block}`,
			[]string{"[0].match.channels[1]"}, "fax"},
		{"number type", `- {name: a, match: {number_types: [premium]}, action: block}`,
			[]string{"[0].match.number_types[0]"}, "premium_rate"},
		{"domain", `- {name: a, match: {domains: ["http://x.com/", "bit.ly"]}, action: block}`,
			[]string{"[0].match.domains[0]"}, "domain"},
		{"sender", `- {name: a, match: {sender: ["+"]}, action: block}`,
			[]string{"[0].match.sender[0]"}, "sender"},
		{"every problem at once", "- " + ok + "\n- {name: b, match: {condition: \"true\"}, action: nope}\n- " +
			`{name: c, match: {condition: "nope > 1"}, action: block}` + "\n- " + ok + "\n- {name: B!, match: {channels: [sms]}, action: hold, extra: 1}",
			[]string{"[1].action", "[2].match.condition", "[3].name", "[4].extra", "[4].name"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.src))
			if err == nil {
				t.Fatalf("Parse accepted it: %d rules", len(s.Rules))
			}
			if code := errs.CodeOf(err); code != errs.Invalid {
				t.Errorf("code = %s, want invalid (%v)", code, err)
			}
			vs := fields(err)
			var got []string
			for _, v := range vs {
				got = append(got, v.Field)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("paths = %q, want %q\n%+v", got, tc.want, vs)
			}
			if tc.name == "every problem at once" {
				return // the reasons are each case's own
			}
			if !strings.Contains(vs[0].Reason, tc.says) {
				t.Errorf("reason %q does not say %q", vs[0].Reason, tc.says)
			}
			if !strings.Contains(err.Error(), vs[0].Reason) {
				t.Errorf("message %q does not carry the first reason", err.Error())
			}
		})
	}
}

// FuzzParse: any bytes either parse into a set that evaluates, or fail as Invalid
// with at least one violation; never a panic.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(shippedPath); err == nil {
		f.Add(data)
	}
	f.Add([]byte(evalRules))
	f.Add([]byte(`- {name: a, match: {condition: "url_count > 0 && \"x\" in domains"}, action: throttle, delay: 1s}`))
	f.Add([]byte("- name: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if errs.CodeOf(err) != errs.Invalid || len(fields(err)) == 0 {
				t.Fatalf("error %v: want Invalid with violations", err)
			}
			return
		}
		feats := []firewall.Features{{}, cleanFeatures()}
		for i := range feats {
			for _, h := range s.Evaluate("sms", &feats[i]) {
				if _, ok := s.Rule(h.Name); !ok {
					t.Fatalf("hit %q names no rule", h.Name)
				}
			}
		}
	})
}
