// Package firewall is the SMS firewall's domain: what a screened message carries
// from phase to phase (Screen), the features the phases compute (Features), and the
// stores the phases read and write (reputation, review queue, audit). The phases run
// in the order each one's inputs exist:
//
//	preprocess → dpi → velocity → reputation → fraud → rules → decide
//
// (fraud needs the sender's reputation and rate; rule conditions may use every
// feature). Each phase is a method of Engine; functions/firewall wraps each in a
// CloudEvents function for the firewall Sequence, and Engine.Screen runs them all in
// one call (fused mode). The phases' building blocks live in sub-packages: dpi (the
// multi-pattern automaton, URLs, obfuscation), model (the trained content model) and
// rules (the YAML rule set with expression conditions); velocity counters are in
// internal/velocity.
package firewall

import (
	"encoding/json"
	"slices"
	"time"
)

// Decisions, the values of Verdict.Decision and of message.screened's decision.
const (
	Pass     = "pass"
	Block    = "block"
	Hold     = "hold"
	Throttle = "throttle"
)

// Rule actions: the four decisions, or score (add the rule's score to the risk
// without deciding).
const ActionScore = "score"

// Phase names, in Sequence order; they name the functions (firewall-<phase>).
const (
	PhasePreprocess = "preprocess"
	PhaseDPI        = "dpi"
	PhaseVelocity   = "velocity"
	PhaseReputation = "reputation"
	PhaseFraud      = "fraud"
	PhaseRules      = "rules"
	PhaseDecide     = "decide"
)

// Phases lists every phase in order.
var Phases = []string{PhasePreprocess, PhaseDPI, PhaseVelocity, PhaseReputation, PhaseFraud, PhaseRules, PhaseDecide}

// Message is what the firewall inspects, taken from the send request.
type Message struct {
	ID       string `json:"message_id"`
	TenantID string `json:"tenant_id"`
	Channel  string `json:"channel"`
	From     string `json:"from,omitempty"`
	To       string `json:"to"`
	// ContentType is text, media, template or binary; Text is what there is to read:
	// the body, a media caption or a template's parameters joined by spaces.
	ContentType string    `json:"content_type"`
	Text        string    `json:"text,omitempty"`
	At          time.Time `json:"at"` // when it was requested
}

// Features are what the phases compute about a message. They are the names a rule's
// condition may use (the expr tags), and what the audit record keeps, so a replay can
// re-run the rules without the stores.
type Features struct {
	// preprocess
	ValidNumber    bool    `json:"valid_number" expr:"valid_number"`         // the destination parses as a possible E.164 number
	Destination    string  `json:"destination" expr:"destination"`           // E.164 digits without '+', or the raw address for non-phone channels
	Country        string  `json:"country,omitempty" expr:"country"`         // ISO 3166 region of the destination
	NumberType     string  `json:"number_type,omitempty" expr:"number_type"` // mobile, fixed_line, premium_rate, toll_free, shared_cost, voip, …
	Operator       string  `json:"operator,omitempty" expr:"operator"`       // the number range's original carrier, where known
	NationalNumber string  `json:"national_number,omitempty" expr:"national_number"`
	SenderType     string  `json:"sender_type,omitempty" expr:"sender_type"` // alphanumeric, shortcode, longcode, none
	SenderCountry  string  `json:"sender_country,omitempty" expr:"sender_country"`
	Encoding       string  `json:"encoding,omitempty" expr:"encoding"` // gsm7 or ucs2 (SMS)
	Length         int     `json:"length" expr:"length"`               // characters
	Segments       int     `json:"segments" expr:"segments"`           // SMS parts
	DigitRatio     float64 `json:"digit_ratio" expr:"digit_ratio"`
	CapitalRatio   float64 `json:"capital_ratio" expr:"capital_ratio"` // upper case among letters
	HourUTC        int     `json:"hour_utc" expr:"hour"`
	// dpi
	Keywords          []string `json:"keywords,omitempty" expr:"keywords"`     // normalised patterns found (pattern texts)
	Categories        []string `json:"categories,omitempty" expr:"categories"` // their categories, deduplicated
	PatternScore      int      `json:"pattern_score" expr:"pattern_score"`     // strongest pattern weight found, 0-100
	URLCount          int      `json:"url_count" expr:"url_count"`
	URLs              []string `json:"urls,omitempty" expr:"urls"`       // as written in the text
	Domains           []string `json:"domains,omitempty" expr:"domains"` // registrable domains of the URLs, lower case, punycode decoded
	Shortener         bool     `json:"shortener,omitempty" expr:"shortener"`
	Obfuscation       int      `json:"obfuscation" expr:"obfuscation"` // characters changed by de-obfuscation (l33t, spacing, homoglyphs, invisible)
	MixedScript       bool     `json:"mixed_script,omitempty" expr:"mixed_script"`
	EncodingAnomalies []string `json:"encoding_anomalies,omitempty" expr:"encoding_anomalies"`
	// velocity
	MessagesPerSecond         int64   `json:"messages_per_second" expr:"messages_per_second"` // this sender, this second
	MessagesPerMinute         int64   `json:"messages_per_minute" expr:"messages_per_minute"`
	DestinationPerMinute      int64   `json:"destination_per_minute" expr:"destination_per_minute"` // to this destination, any sender of the tenant
	PairPerHour               int64   `json:"pair_per_hour" expr:"pair_per_hour"`
	UniqueDestinationsPerHour int64   `json:"unique_destinations_per_hour" expr:"unique_destinations_per_hour"`
	RepeatRatio               float64 `json:"repeat_ratio" expr:"repeat_ratio"` // share of this sender's last hour with this exact content
	SequentialDestinations    int64   `json:"sequential_destinations" expr:"sequential_destinations"`
	HighCostPerMinute         int64   `json:"high_cost_per_minute" expr:"high_cost_per_minute"`
	NewDestination            bool    `json:"new_destination,omitempty" expr:"new_destination"`
	// reputation (0 clean … 100 known bad)
	SenderReputation      int  `json:"sender_reputation" expr:"sender_reputation"`
	DestinationReputation int  `json:"destination_reputation" expr:"destination_reputation"`
	DomainReputation      int  `json:"domain_reputation" expr:"domain_reputation"`
	Complaints            int  `json:"complaints" expr:"complaints"`
	WatchListed           bool `json:"watch_listed,omitempty" expr:"watch_listed"`
	// fraud
	SpamProbability float64 `json:"spam_probability" expr:"spam_probability"` // the content model's
	ModelSpam       bool    `json:"model_spam,omitempty" expr:"model_spam"`   // at the model's operating threshold
	FraudScore      int     `json:"fraud_score" expr:"fraud_score"`           // content and behaviour combined, 0-100
}

// Indicator is one finding that adds to the risk.
type Indicator struct {
	Code   string `json:"code"`   // e.g. dpi.keyword, model.spam, velocity.sequential
	Phase  string `json:"phase"`  // the phase that found it
	Weight int    `json:"weight"` // its own risk, 0-100
	Detail string `json:"detail"` // for humans
}

// RuleHit is a rule that matched.
type RuleHit struct {
	Name     string `json:"name"`
	Action   string `json:"action"`
	Severity string `json:"severity,omitempty"`
	Score    int    `json:"score,omitempty"`
	// Shadow: the rule runs in shadow mode; it is recorded, never acted on.
	Shadow bool `json:"shadow,omitempty"`
}

// Screen is a message on its way through the phases: each phase fills its part.
type Screen struct {
	Message    Message     `json:"message"`
	Features   Features    `json:"features"`
	Indicators []Indicator `json:"indicators,omitempty"`
	Rules      []RuleHit   `json:"rules,omitempty"`
	// Fingerprint identifies the content (a hash of its canonical form, set by dpi):
	// velocity counts repeats of it.
	Fingerprint uint64 `json:"fingerprint,omitempty"`
	// Done lists the phases run so far (a replayed step is not run twice).
	Done []string `json:"done,omitempty"`
	// Request is the message as requested (the data of its message.requested), kept
	// with a decided screen so a held or throttled message goes on exactly as it was
	// asked for, and a replay sees what the firewall saw.
	Request json.RawMessage `json:"request,omitempty"`
	// Verdict is set by decide.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Verdict is the decision on a message and why.
type Verdict struct {
	Decision string `json:"decision"` // pass, block, hold or throttle
	// Recommended is what the evidence alone says, before shadow mode: it differs
	// from Decision when only shadow rules (or a shadow model) would have acted.
	Recommended string      `json:"recommended"`
	Risk        int         `json:"risk"` // 0-100
	Phase       string      `json:"phase"`
	Indicators  []Indicator `json:"indicators,omitempty"`
	Rules       []string    `json:"rules,omitempty"`  // matched rules acted on
	Shadow      []string    `json:"shadow,omitempty"` // matched shadow rules, and "model" for a shadow model
	Explanation string      `json:"explanation"`
	// ReleaseAt: a throttled message goes on (as a pass) at this time.
	ReleaseAt *time.Time `json:"release_at,omitempty"`
}

// Clone returns a deep copy of s: the in-memory stores keep screens they are given,
// and a caller may go on changing its own.
func (s Screen) Clone() Screen {
	c := s
	f := &c.Features
	f.Keywords, f.Categories, f.Domains = slices.Clone(f.Keywords), slices.Clone(f.Categories), slices.Clone(f.Domains)
	f.URLs, f.EncodingAnomalies = slices.Clone(f.URLs), slices.Clone(f.EncodingAnomalies)
	c.Indicators, c.Rules, c.Done = slices.Clone(s.Indicators), slices.Clone(s.Rules), slices.Clone(s.Done)
	c.Request = slices.Clone(s.Request)
	if s.Verdict != nil {
		v := *s.Verdict
		v.Indicators, v.Rules, v.Shadow = slices.Clone(v.Indicators), slices.Clone(v.Rules), slices.Clone(v.Shadow)
		if v.ReleaseAt != nil {
			at := *v.ReleaseAt
			v.ReleaseAt = &at
		}
		c.Verdict = &v
	}
	return c
}
