package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/nyaruka/phonenumbers"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

var ruleFields = []string{"name", "description", "match", "action", "severity", "score", "mode", "delay"}

var matchFields = []string{"destination_prefix", "sender", "sender_prefix", "keywords", "categories",
	"domains", "countries", "channels", "number_types", "condition"}

var actions = []string{firewall.Block, firewall.Hold, firewall.Throttle, firewall.ActionScore}

var severities = []string{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// numberTypes are the number types preprocess reports: libphonenumber's
// PhoneNumberType names in lower case.
var numberTypes = []string{"fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate",
	"shared_cost", "voip", "personal_number", "pager", "uan", "voicemail", "unknown"}

// nonGeographic is libphonenumber's region for global network numbers (+800, +808,
// +870, +881, +882, +883, +888, +979): satellite and international networks.
const nonGeographic = "001"

// decoder collects violations while decoding one file.
type decoder struct{ vs []errs.FieldViolation }

func (d *decoder) add(path, format string, args ...any) {
	d.vs = append(d.vs, errs.FieldViolation{Field: path, Reason: fmt.Sprintf(format, args...)})
}

// decode turns the file into rules with their defaults applied, and the compiled
// condition of each (nil when it has none), or every violation found.
func decode(data []byte) ([]Rule, []*vm.Program, []errs.FieldViolation) {
	d := &decoder{}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		d.add("", "not valid YAML: %v", err)
		return nil, nil, d.vs
	}
	j = bytes.TrimSpace(j)
	if len(j) == 0 || string(j) == "null" {
		return nil, nil, nil // an empty file is an empty rule set
	}
	var items []json.RawMessage
	if err := json.Unmarshal(j, &items); err != nil {
		d.add("", "must be a list of rules")
		return nil, nil, d.vs
	}
	rules := make([]Rule, len(items))
	progs := make([]*vm.Program, len(items))
	firstByName := map[string]int{}
	for i, raw := range items {
		path := fmt.Sprintf("[%d]", i)
		rules[i], progs[i] = d.rule(path, raw)
		if n := rules[i].Name; n != "" {
			if first, dup := firstByName[n]; dup {
				d.add(path+".name", "duplicate of [%d].name %q", first, n)
			} else {
				firstByName[n] = i
			}
		}
	}
	if len(d.vs) > 0 {
		return nil, nil, d.vs
	}
	return rules, progs, nil
}

// object decodes a mapping and reports its unknown keys, in sorted order.
func (d *decoder) object(path string, raw json.RawMessage, known []string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		d.add(path, "must be a mapping")
		return nil, false
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		d.add(join(path, k), "unknown field (known: %s)", strings.Join(known, ", "))
	}
	return m, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// str decodes an optional string; ok is false when it is present but not a string.
func (d *decoder) str(path string, raw json.RawMessage) (string, bool) {
	if raw == nil {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.notString(path, raw)
		return "", false
	}
	return s, true
}

func (d *decoder) notString(path string, raw json.RawMessage) {
	if b := string(raw); b == "true" || b == "false" {
		// YAML 1.1 reads yes/no/on/off (and the country code NO) as booleans.
		d.add(path, "must be a string, not %s (quote it)", b)
		return
	}
	d.add(path, "must be a string")
}

// list decodes a match list: present, non-empty, strings, each non-blank. Each
// element is trimmed, normalised (when normal is given) and checked with problem
// ("" when fine; nil checks nothing); violations come in element order.
func (d *decoder) list(path string, raw json.RawMessage, normal, problem func(string) string) []string {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 {
		d.add(path, "must be a non-empty list of strings")
		return nil
	}
	var out []string
	for i, it := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.str(p, it)
		if !ok {
			continue
		}
		if s = strings.TrimSpace(s); s == "" {
			d.add(p, "must not be empty")
			continue
		}
		if normal != nil {
			s = normal(s)
		}
		if problem != nil {
			if why := problem(s); why != "" {
				d.add(p, "%s", why)
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) rule(path string, raw json.RawMessage) (Rule, *vm.Program) {
	m, ok := d.object(path, raw, ruleFields)
	if !ok {
		return Rule{}, nil
	}
	var r Rule
	r.Name, ok = d.str(path+".name", m["name"])
	switch {
	case !ok:
	case r.Name == "":
		d.add(path+".name", "required")
	case !validName(r.Name):
		d.add(path+".name", "must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
	}
	r.Description, _ = d.str(path+".description", m["description"])

	r.Action, ok = d.str(path+".action", m["action"])
	switch {
	case !ok:
	case r.Action == "":
		d.add(path+".action", "required: one of %s", strings.Join(actions, ", "))
	case !slices.Contains(actions, r.Action):
		d.add(path+".action", "must be one of %s, not %q", strings.Join(actions, ", "), r.Action)
	}

	r.Severity, ok = d.str(path+".severity", m["severity"])
	switch {
	case !ok:
	case r.Severity == "":
		r.Severity = defaultSeverity[r.Action]
	case !slices.Contains(severities, r.Severity):
		d.add(path+".severity", "must be one of %s, not %q", strings.Join(severities, ", "), r.Severity)
	}

	r.Score = defaultScore[r.Severity]
	if raw := m["score"]; raw != nil && string(raw) != "null" {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			d.add(path+".score", "must be a whole number from 0 to 100")
		} else if n < 0 || n > 100 {
			d.add(path+".score", "must be from 0 to 100, not %d", n)
		} else {
			r.Score = n
		}
	}

	r.Mode, ok = d.str(path+".mode", m["mode"])
	switch {
	case !ok:
	case r.Mode == "enforce":
		r.Mode = ""
	case r.Mode != "" && r.Mode != ModeShadow:
		d.add(path+".mode", "must be enforce or shadow, not %q", r.Mode)
	}

	r.Delay = d.delay(path+".delay", m["delay"], r.Action)

	var prog *vm.Program
	if raw, present := m["match"]; !present {
		d.add(path+".match", "required")
	} else {
		r.Match, prog = d.match(path+".match", raw)
	}
	return r, prog
}

func (d *decoder) delay(path string, raw json.RawMessage, action string) time.Duration {
	if raw == nil || string(raw) == "null" {
		return 0 // the firewall's throttle.delay setting applies
	}
	if action != firewall.Throttle {
		d.add(path, "only a throttle rule has a delay")
		return 0
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.add(path, "must be a duration such as 30s or 5m")
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.add(path, "must be a duration such as 30s or 5m, not %q", s)
		return 0
	}
	if v <= 0 || v > MaxDelay {
		d.add(path, "must be more than 0 and at most %s, not %s", MaxDelay, v)
		return 0
	}
	return v
}

func (d *decoder) match(path string, raw json.RawMessage) (Match, *vm.Program) {
	var mt Match
	m, ok := d.object(path, raw, matchFields)
	if !ok {
		return mt, nil
	}
	known := 0
	for _, k := range matchFields {
		if _, present := m[k]; present {
			known++
		}
	}
	if known == 0 {
		d.add(path, "must name at least one of %s", strings.Join(matchFields, ", "))
		return mt, nil
	}
	for _, k := range matchFields { // in a fixed order, so violations are too
		raw, present := m[k]
		if !present {
			continue
		}
		p := path + "." + k
		switch k {
		case "destination_prefix":
			mt.DestinationPrefix = d.list(p, raw, nil, prefixProblem)
		case "sender":
			mt.Sender = d.list(p, raw, nil, senderProblem)
		case "sender_prefix":
			mt.SenderPrefix = d.list(p, raw, nil, senderProblem)
		case "keywords":
			mt.Keywords = d.list(p, raw, nil, keywordProblem)
		case "categories":
			mt.Categories = d.list(p, raw, nil, nil)
		case "domains":
			mt.Domains = d.list(p, raw, normalDomain, domainProblem)
		case "countries":
			mt.Countries = d.list(p, raw, strings.ToUpper, countryProblem)
		case "channels":
			mt.Channels = d.list(p, raw, nil, channelProblem)
		case "number_types":
			mt.NumberTypes = d.list(p, raw, nil, numberTypeProblem)
		}
	}
	var prog *vm.Program
	if raw, present := m["condition"]; present {
		p := path + ".condition"
		if s, ok := d.str(p, raw); ok {
			mt.Condition = strings.TrimSpace(s)
			if mt.Condition == "" {
				d.add(p, "must not be empty")
			} else {
				prog = d.condition(p, mt.Condition)
			}
		}
	}
	return mt, prog
}

func (d *decoder) condition(path, src string) *vm.Program {
	prog, err := expr.Compile(src, expr.Env(firewall.Features{}), expr.AsBool())
	if err != nil {
		// expr's message carries the column and a snippet on further lines; the
		// first line is the reason, the rest is noise in a field violation.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		d.add(path, "%s", msg)
		return nil
	}
	return prog
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func keywordProblem(s string) string {
	if canonical(s) == "" {
		return "has nothing left to match once normalised"
	}
	return ""
}

func channelProblem(s string) string {
	if _, ok := channel.Lookup(s); !ok {
		return fmt.Sprintf("unknown channel %q (known: %s)", s, strings.Join(channel.Names(), ", "))
	}
	return ""
}

func numberTypeProblem(s string) string {
	if !slices.Contains(numberTypes, s) {
		return fmt.Sprintf("unknown number type %q (known: %s)", s, strings.Join(numberTypes, ", "))
	}
	return ""
}

func senderProblem(s string) string {
	if strings.TrimPrefix(s, "+") == "" {
		return "must be a sender id or number"
	}
	return ""
}

func prefixProblem(s string) string {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return fmt.Sprintf("must be 1-15 digits, optionally after '+', not %q", s)
	}
	return ""
}

// normalDomain lower-cases a domain and drops a wildcard or trailing dot: "*.Example.com."
// and "example.com" are the same rule, since subdomains always match.
func normalDomain(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimPrefix(s, "*.")
	s = strings.TrimPrefix(s, ".")
	return strings.TrimSuffix(s, ".")
}

func domainProblem(s string) string {
	if s == "" || strings.ContainsAny(s, " \t/:@?#*") || strings.Contains(s, "..") {
		return fmt.Sprintf("must be a domain such as example.com, not %q", s)
	}
	return ""
}

var regions = phonenumbers.GetSupportedRegions()

func countryProblem(s string) string {
	if s == nonGeographic || regions[s] {
		return ""
	}
	if s == "UK" {
		return `unknown region "UK": the United Kingdom is GB`
	}
	return fmt.Sprintf("unknown region %q: must be an ISO 3166 alpha-2 code (or 001 for global networks)", s)
}
