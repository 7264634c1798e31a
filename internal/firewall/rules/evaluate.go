package rules

import (
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// compiled is a rule ready to evaluate: its lists normalised once, its hit built
// once, its condition compiled once. A nil list is a field the rule does not match on.
type compiled struct {
	hit         firewall.RuleHit
	channels    []string
	countries   []string
	numberTypes []string
	intlPrefix  []string // '+' prefixes: E.164 digits only
	anyPrefix   []string // plain prefixes: E.164 digits or the national number
	senders     []string // without a leading '+'
	senderPfx   []string
	keywords    []string // canonical form
	categories  []string
	domains     []string
	subdomains  []string                      // "." + domain, so a suffix test needs no allocation
	prog        *vm.Program                   // the condition on the VM, when cond is nil
	cond        func(*firewall.Features) bool // the condition compiled to Go
}

func compile(r *Rule, prog *vm.Program) compiled {
	m := &r.Match
	c := compiled{
		hit:         firewall.RuleHit{Name: r.Name, Action: r.Action, Severity: r.Severity, Score: r.Score, Shadow: r.Shadow()},
		channels:    m.Channels,
		countries:   m.Countries,
		numberTypes: m.NumberTypes,
		categories:  m.Categories,
		domains:     m.Domains,
	}
	if prog != nil {
		if fn, ok := fast(prog); ok {
			c.cond = fn
		} else {
			c.prog = prog
		}
	}
	for _, p := range m.DestinationPrefix {
		if d, intl := strings.CutPrefix(p, "+"); intl {
			c.intlPrefix = append(c.intlPrefix, d)
		} else {
			c.anyPrefix = append(c.anyPrefix, p)
		}
	}
	for _, s := range m.Sender {
		c.senders = append(c.senders, strings.TrimPrefix(s, "+"))
	}
	for _, s := range m.SenderPrefix {
		c.senderPfx = append(c.senderPfx, strings.TrimPrefix(s, "+"))
	}
	for _, k := range m.Keywords {
		c.keywords = append(c.keywords, canonical(k))
	}
	for _, d := range m.Domains {
		c.subdomains = append(c.subdomains, "."+d)
	}
	return c
}

// vms are reused across evaluations: a fresh VM allocates its stack on every run.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Evaluate returns every rule that matches a message on channel with features f,
// in file order; shadow rules are included with Shadow set. Rules matching on the
// sender never match here, since Features does not carry it: use EvaluateFrom.
// It returns nil when nothing matches; while every condition runs as a compiled
// closure (all the shipped ones do), it allocates only for the result.
func (s *Set) Evaluate(channel string, f *firewall.Features) []firewall.RuleHit {
	return s.EvaluateFrom(channel, "", f)
}

// EvaluateFrom is Evaluate for a message from sender (the message's from: a sender
// id or number; "" when it has none).
func (s *Set) EvaluateFrom(channel, sender string, f *firewall.Features) []firewall.RuleHit {
	var hits []firewall.RuleHit
	var machine *vm.VM
	sender = strings.TrimPrefix(sender, "+")
	for i := range s.compiled {
		c := &s.compiled[i]
		if !c.matchStatic(channel, sender, f) {
			continue
		}
		if c.cond != nil && !c.cond(f) {
			continue
		}
		if c.prog != nil {
			if machine == nil {
				machine = vms.Get().(*vm.VM)
			}
			// A condition that fails at run time (an integer division by zero, say)
			// does not match: the rule set validated, so the failure is the data's.
			out, err := machine.Run(c.prog, f)
			if err != nil || out != true {
				continue
			}
		}
		if hits == nil {
			hits = make([]firewall.RuleHit, 0, 2)
		}
		hits = append(hits, c.hit)
	}
	if machine != nil {
		vms.Put(machine)
	}
	return hits
}

// matchStatic tests every field but the condition, cheapest first.
func (c *compiled) matchStatic(channel, sender string, f *firewall.Features) bool {
	if c.channels != nil && !contains(c.channels, channel) {
		return false
	}
	if c.countries != nil && !contains(c.countries, f.Country) {
		return false
	}
	if c.numberTypes != nil && !contains(c.numberTypes, f.NumberType) {
		return false
	}
	if c.intlPrefix != nil || c.anyPrefix != nil {
		if !hasAnyPrefix(c.intlPrefix, f.Destination) && !hasAnyPrefix(c.anyPrefix, f.Destination) &&
			(f.NationalNumber == "" || !hasAnyPrefix(c.anyPrefix, f.NationalNumber)) {
			return false
		}
	}
	if c.senders != nil && !containsFold(c.senders, sender) {
		return false
	}
	if c.senderPfx != nil && !hasAnyPrefixFold(c.senderPfx, sender) {
		return false
	}
	if c.keywords != nil && !intersects(c.keywords, f.Keywords) {
		return false
	}
	if c.categories != nil && !intersectsFold(c.categories, f.Categories) {
		return false
	}
	if c.domains != nil && !c.matchDomain(f.Domains) {
		return false
	}
	return true
}

func (c *compiled) matchDomain(domains []string) bool {
	for _, d := range domains {
		for i, want := range c.domains {
			if d == want || strings.HasSuffix(d, c.subdomains[i]) {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func hasAnyPrefixFold(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

func intersects(want, got []string) bool {
	for _, g := range got {
		if contains(want, g) {
			return true
		}
	}
	return false
}

func intersectsFold(want, got []string) bool {
	for _, g := range got {
		if containsFold(want, g) {
			return true
		}
	}
	return false
}
