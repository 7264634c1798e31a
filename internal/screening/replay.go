package screening

import (
	"slices"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Rescreen re-decides a stored screen under this engine's rule set, patterns and
// model, without side effects: the content phases (dpi, fraud, rules) run again on
// the stored text, while what needed the stores at the time (velocity, reputation)
// is taken as recorded. `catalyst firewall replay` uses it to show what a changed
// rule set would have done to past traffic.
func (e *Engine) Rescreen(stored firewall.Screen) (firewall.Screen, error) {
	s := stored
	s.Verdict = nil
	s.Rules = nil
	s.Indicators = slices.DeleteFunc(slices.Clone(stored.Indicators), func(i firewall.Indicator) bool {
		return i.Phase == firewall.PhaseDPI || i.Phase == firewall.PhaseFraud || i.Phase == firewall.PhaseRules
	})
	f := &s.Features
	f.SpamProbability, f.ModelSpam, f.FraudScore = 0, false, 0
	s.Done = slices.DeleteFunc(slices.Clone(stored.Done), func(p string) bool {
		return p == firewall.PhaseDPI || p == firewall.PhaseFraud || p == firewall.PhaseRules || p == firewall.PhaseDecide
	})
	c, err := e.current()
	if err != nil {
		return s, err
	}
	done(&s, firewall.PhaseDPI)
	inspect(c.scanner, &s)
	e.Fraud(&s)
	if err := e.Rules(&s); err != nil {
		return s, err
	}
	done(&s, firewall.PhaseDecide)
	v := e.verdict(c.rules, &s)
	s.Verdict = &v
	return s, nil
}
