// Package rules is the firewall's rule set: a YAML list of named rules (see
// config/firewall-rules.yaml), each a match over the message's features and an
// action. Parse validates a whole file at once, reporting every problem with its
// field path, and compiles it (prefixes, canonical keywords, expr conditions) so
// that Evaluate does no parsing and, when nothing matches, no allocation. Watcher
// hot-reloads the file and keeps the last good set when a change does not parse.
package rules

import (
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"

	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// canonical is the normal form keywords are compared in: the one the dpi phase
// applies to the text, so a rule keyword and the pattern the automaton reports are
// the same string.
var canonical = dpi.Canonical

// Severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// ModeShadow: the rule is evaluated and recorded (RuleHit.Shadow) but never acted on.
const ModeShadow = "shadow"

// MaxDelay bounds a throttle delay: a message held longer than a day is better held
// for review than silently late.
const MaxDelay = 24 * time.Hour

// defaultSeverity is a rule's severity when the file names none.
var defaultSeverity = map[string]string{
	firewall.Block:       SeverityHigh,
	firewall.Hold:        SeverityMedium,
	firewall.Throttle:    SeverityMedium,
	firewall.ActionScore: SeverityLow,
}

// defaultScore is a rule's contribution to the risk when the file names none.
var defaultScore = map[string]int{
	SeverityInfo:     10,
	SeverityLow:      25,
	SeverityMedium:   50,
	SeverityHigh:     80,
	SeverityCritical: 100,
}

// Rule is one parsed rule with its defaults applied.
type Rule struct {
	Name        string
	Description string
	Match       Match
	Action      string // block, hold, throttle or score
	Severity    string // info, low, medium, high or critical
	Score       int    // 0-100
	Mode        string // "" (enforce) or shadow
	// Delay is how long a throttled message waits (throttle rules only). 0: the
	// firewall's throttle.delay setting (config/firewall.yaml, default 60s).
	Delay time.Duration
}

// Shadow reports whether the rule only records what it would have done.
func (r Rule) Shadow() bool { return r.Mode == ModeShadow }

// Match is what a rule matches: every field given must match (AND); a list field
// matches when any of its elements does (OR).
type Match struct {
	// DestinationPrefix: E.164 digits the destination starts with. A prefix written
	// with '+' is international and matches the E.164 digits only; one without also
	// matches the national (significant) number, so "900" catches +1 900….
	DestinationPrefix []string
	Sender            []string // the message's from, exact, case-insensitive
	SenderPrefix      []string // the message's from starts with it, case-insensitive
	Keywords          []string // as written; matched in canonical form against Features.Keywords
	Categories        []string // any of Features.Categories
	Domains           []string // a Features.Domains entry equals it or is a subdomain of it
	Countries         []string // ISO 3166 region of the destination, upper case
	Channels          []string // the message's channel
	NumberTypes       []string // Features.NumberType
	Condition         string   // an expr expression over the features' expr names
}

// Set is a parsed, compiled rule file.
type Set struct {
	Rules []Rule
	// Version is a short sha256 of the source bytes: it names the set in audit records.
	Version string

	compiled []compiled
	byName   map[string]int
	keywords []string
}

// Parse validates and compiles a rule file. Every problem is reported at once: the
// error is an *errs.Error with code Invalid and one FieldViolation per problem, its
// path rooted at the list ("[2].match.condition").
func Parse(data []byte) (*Set, error) {
	rs, progs, vs := decode(data)
	if len(vs) > 0 {
		return nil, &errs.Error{Code: errs.Invalid, Message: invalidMessage(vs), Fields: vs}
	}
	s := &Set{
		Rules:    rs,
		Version:  version(data),
		compiled: make([]compiled, len(rs)),
		byName:   make(map[string]int, len(rs)),
	}
	seen := map[string]bool{}
	for i := range rs {
		s.byName[rs[i].Name] = i
		for _, k := range rs[i].Match.Keywords {
			if !seen[k] {
				seen[k] = true
				s.keywords = append(s.keywords, k)
			}
		}
	}
	for i := range rs {
		s.compiled[i] = compile(&s.Rules[i], progs[i])
	}
	return s, nil
}

// Load reads and parses a rule file.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Wrap(errs.NotFound, err, "firewall rules %s", path)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall rules %s", path)
	}
	s, err := Parse(data)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			e.Message = path + ": " + e.Message
		}
		return nil, err
	}
	return s, nil
}

// Keywords returns every rule keyword as written, deduplicated, in file order: the
// dpi phase adds them to its automaton so that Features.Keywords reports them.
func (s *Set) Keywords() []string { return append([]string(nil), s.keywords...) }

// Rule returns the named rule (decide reads a throttle rule's delay through it).
func (s *Set) Rule(name string) (Rule, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Rule{}, false
	}
	return s.Rules[i], true
}

func version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

func invalidMessage(vs []errs.FieldViolation) string {
	if len(vs) == 1 {
		return "invalid firewall rules: " + describe(vs[0])
	}
	return "invalid firewall rules: " + describe(vs[0]) + " (and " + strconv.Itoa(len(vs)-1) + " more)"
}

func describe(v errs.FieldViolation) string {
	if v.Field == "" {
		return v.Reason
	}
	return v.Field + ": " + v.Reason
}
