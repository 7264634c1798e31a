package rules

import (
	"slices"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

const evalRules = `
- name: us-premium
  match: {destination_prefix: ["900", "976"]}
  action: block
  severity: critical
- name: satellite
  match: {destination_prefix: ["+881"]}
  action: block
- name: phishing-words
  match: {keywords: [" Verify Account ", "update payment"]}
  action: block
- name: lottery-category
  match: {categories: [Lottery]}
  action: hold
- name: bad-domain
  match: {domains: [evil.example, "*.Shady.IO."]}
  action: block
  severity: low
- name: gb-only
  match: {countries: [gb]}
  action: score
- name: whatsapp-links
  match: {channels: [whatsapp], condition: "url_count > 0"}
  action: score
  score: 5
- name: mobile
  match: {number_types: [mobile]}
  action: score
  severity: info
- name: bombing
  match: {condition: "messages_per_second > 100"}
  action: throttle
  delay: 15s
- name: gb-pumping
  match: {countries: [GB], destination_prefix: ["+447"], condition: "sequential_destinations > 5 && repeat_ratio > 0.9"}
  action: block
- name: shadow-url
  match: {condition: "url_count > 0 && new_destination && \"phishing\" in categories"}
  action: hold
  mode: shadow
- name: known-sender
  match: {sender: ["AcmeBank", "+15550100"]}
  action: score
- name: sender-range
  match: {sender_prefix: ["+4470"]}
  action: score
`

func hitNames(hits []firewall.RuleHit) []string {
	var n []string
	for _, h := range hits {
		n = append(n, h.Name)
	}
	return n
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(evalRules))
	if err != nil {
		t.Fatalf("Parse: %v %+v", err, fields(err))
	}
	tests := []struct {
		name    string
		channel string
		sender  string
		f       firewall.Features
		want    []string
	}{
		{"nothing", "sms", "", firewall.Features{Destination: "33612345678", NationalNumber: "612345678", Country: "FR"}, nil},
		{"prefix on the national number", "sms", "", firewall.Features{Destination: "19005550123", NationalNumber: "9005550123", Country: "US"}, []string{"us-premium"}},
		{"prefix on the E.164 digits", "sms", "", firewall.Features{Destination: "976123"}, []string{"us-premium"}},
		{"international prefix on E.164", "sms", "", firewall.Features{Destination: "881612345678", NationalNumber: "612345678"}, []string{"satellite"}},
		{"international prefix never on the national number", "sms", "", firewall.Features{Destination: "33881234567", NationalNumber: "881234567"}, nil},
		{"keyword canonical", "sms", "", firewall.Features{Keywords: []string{"hello", "verify account"}}, []string{"phishing-words"}},
		{"keyword as written is not canonical", "sms", "", firewall.Features{Keywords: []string{"Verify Account"}}, nil},
		{"category any case", "sms", "", firewall.Features{Categories: []string{"spam", "lottery"}}, []string{"lottery-category"}},
		{"domain exact", "sms", "", firewall.Features{Domains: []string{"evil.example"}}, []string{"bad-domain"}},
		{"subdomain", "sms", "", firewall.Features{Domains: []string{"ok.com", "login.shady.io"}}, []string{"bad-domain"}},
		{"suffix is not a subdomain", "sms", "", firewall.Features{Domains: []string{"notevil.example", "shady.io.com"}}, nil},
		{"country", "sms", "", firewall.Features{Country: "GB"}, []string{"gb-only"}},
		{"channel and condition", "whatsapp", "", firewall.Features{URLCount: 1}, []string{"whatsapp-links"}},
		{"condition without its channel", "sms", "", firewall.Features{URLCount: 1}, nil},
		{"number type", "sms", "", firewall.Features{NumberType: "mobile"}, []string{"mobile"}},
		{"condition", "sms", "", firewall.Features{MessagesPerSecond: 101}, []string{"bombing"}},
		{"condition at its bound", "sms", "", firewall.Features{MessagesPerSecond: 100}, nil},
		{"AND: all parts", "sms", "", firewall.Features{Country: "GB", Destination: "447700900123", SequentialDestinations: 6, RepeatRatio: 0.95},
			[]string{"gb-only", "gb-pumping"}},
		{"AND: condition false", "sms", "", firewall.Features{Country: "GB", Destination: "447700900123", SequentialDestinations: 6, RepeatRatio: 0.5},
			[]string{"gb-only"}},
		{"AND: prefix false", "sms", "", firewall.Features{Country: "GB", Destination: "442071234567", SequentialDestinations: 6, RepeatRatio: 0.95},
			[]string{"gb-only"}},
		{"shadow", "sms", "", firewall.Features{URLCount: 2, NewDestination: true, Categories: []string{"phishing"}}, []string{"shadow-url"}},
		{"sender exact any case", "sms", "acmebank", firewall.Features{}, []string{"known-sender"}},
		{"sender number with or without +", "sms", "15550100", firewall.Features{}, []string{"known-sender"}},
		{"sender prefix", "sms", "+447012345678", firewall.Features{}, []string{"sender-range"}},
		{"sender is not a prefix match", "sms", "AcmeBankX", firewall.Features{}, nil},
		{"file order", "sms", "", firewall.Features{Destination: "19005550123", NationalNumber: "9005550123", Keywords: []string{"update payment"}, MessagesPerSecond: 500, Country: "GB"},
			[]string{"us-premium", "phishing-words", "gb-only", "bombing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := hitNames(s.EvaluateFrom(tc.channel, tc.sender, &tc.f))
			if !slices.Equal(got, tc.want) {
				t.Errorf("hits = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEvaluateWithoutSender(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(evalRules))
	if err != nil {
		t.Fatal(err)
	}
	f := firewall.Features{MessagesPerSecond: 200}
	if got := hitNames(s.Evaluate("sms", &f)); !slices.Equal(got, []string{"bombing"}) {
		t.Errorf("Evaluate = %q, want [bombing]: sender rules cannot match without a sender", got)
	}
}

func TestEvaluateHits(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(evalRules))
	if err != nil {
		t.Fatal(err)
	}
	f := firewall.Features{
		Destination: "19005550123", NationalNumber: "9005550123", Domains: []string{"a.shady.io"}, MessagesPerSecond: 101,
		URLCount: 1, NewDestination: true, Categories: []string{"phishing"}, NumberType: "mobile",
	}
	want := []firewall.RuleHit{
		{Name: "us-premium", Action: firewall.Block, Severity: SeverityCritical, Score: 100},
		{Name: "bad-domain", Action: firewall.Block, Severity: SeverityLow, Score: 25},
		{Name: "mobile", Action: firewall.ActionScore, Severity: SeverityInfo, Score: 10},
		{Name: "bombing", Action: firewall.Throttle, Severity: SeverityMedium, Score: 50},
		{Name: "shadow-url", Action: firewall.Hold, Severity: SeverityMedium, Score: 50, Shadow: true},
	}
	if got := s.Evaluate("sms", &f); !slices.Equal(got, want) {
		t.Errorf("hits =\n%+v\nwant\n%+v", got, want)
	}
	if r, ok := s.Rule("bombing"); !ok || r.Delay.Seconds() != 15 {
		t.Errorf("Rule(bombing) = %+v, %v; want delay 15s", r, ok)
	}
	if got, want := s.Keywords(), []string{"Verify Account", "update payment"}; !slices.Equal(got, want) {
		t.Errorf("Keywords = %q, want %q (as written, trimmed)", got, want)
	}
}

func TestKeywordsDeduplicated(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`
- {name: a, match: {keywords: [win, prize]}, action: score}
- {name: b, match: {keywords: [prize, cash, win]}, action: score}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Keywords(), []string{"win", "prize", "cash"}; !slices.Equal(got, want) {
		t.Errorf("Keywords = %q, want %q", got, want)
	}
	s.Keywords()[0] = "changed"
	if s.Keywords()[0] != "win" {
		t.Error("Keywords returned the set's own slice")
	}
}

func TestEvaluateNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool entries on purpose, so the VM pool allocates")
	}
	s, err := Load(shippedPath)
	if err != nil {
		t.Fatal(err)
	}
	f := cleanFeatures()
	if hits := s.Evaluate("sms", &f); hits != nil {
		t.Fatalf("clean features hit %q", hitNames(hits))
	}
	if n := testing.AllocsPerRun(200, func() { s.Evaluate("sms", &f) }); n != 0 {
		t.Errorf("Evaluate allocates %.1f times when nothing matches, want 0", n)
	}
}

// cleanFeatures is an ordinary message that no shipped rule matches, with counters
// large enough that boxing them would allocate.
func cleanFeatures() firewall.Features {
	return firewall.Features{
		ValidNumber: true, Destination: "447700900123", NationalNumber: "7700900123", Country: "GB",
		NumberType: "mobile", SenderType: "alphanumeric", Encoding: "gsm7", Length: 96, Segments: 1,
		Keywords: []string{"your code"}, Categories: []string{"otp"}, URLCount: 1, Domains: []string{"example.com"},
		MessagesPerSecond: 40, MessagesPerMinute: 1800, DestinationPerMinute: 1, PairPerHour: 2,
		UniqueDestinationsPerHour: 900, RepeatRatio: 0.2, SequentialDestinations: 1,
		SenderReputation: 5, DomainReputation: 3, FraudScore: 12, SpamProbability: 0.02,
	}
}
