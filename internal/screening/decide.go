package screening

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
)

// severity orders decisions: the strongest wins.
var severity = map[string]int{firewall.Pass: 0, firewall.Throttle: 1, firewall.Hold: 2, firewall.Block: 3}

func stronger(a, b string) string {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// Decide turns the screen's findings into a verdict and stores it: the audit record
// always, a held message in the review queue, a throttled one in the deferred queue.
// A replayed decide (the verdict is already there) stores the same again, which the
// stores answer as no-ops.
func (e *Engine) Decide(ctx context.Context, s *firewall.Screen) error {
	if s.Verdict == nil {
		done(s, firewall.PhaseDecide)
		c, err := e.current()
		if err != nil {
			return err
		}
		v := e.verdict(c.rules, s)
		s.Verdict = &v
	}
	now := e.now()
	// The audit first: it answers with the message's first decision, which stands.
	// A redelivered decide step (its inputs may have changed since: a rule reload, a
	// new reputation entry) repeats that decision rather than making another, so a
	// message once blocked is never passed on to billing.
	standing, err := e.record(ctx, s, "decide", now)
	if err != nil {
		return err
	}
	if standing != nil && standing.Decision != s.Verdict.Decision {
		e.log.WarnContext(ctx, "firewall: a redelivered decision differs; the first stands",
			"message_id", s.Message.ID, "first", standing.Decision, "now", s.Verdict.Decision)
		s.Verdict = standing
	}
	v := s.Verdict
	switch v.Decision {
	case firewall.Hold:
		_, err := e.cfg.Reviews.Hold(ctx, firewall.Review{
			MessageID: s.Message.ID, TenantID: s.Message.TenantID, Screen: *s, State: firewall.ReviewPending,
			CreatedAt: now, Deadline: now.Add(time.Duration(e.cfg.Settings.Review.SLA)),
		})
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "firewall: hold %s", s.Message.ID)
		}
	case firewall.Throttle:
		if err := e.cfg.Reviews.Defer(ctx, firewall.Deferred{
			MessageID: s.Message.ID, TenantID: s.Message.TenantID, Screen: *s, ReleaseAt: *v.ReleaseAt,
		}); err != nil {
			return errs.Wrap(errs.Unavailable, err, "firewall: defer %s", s.Message.ID)
		}
	}
	return nil
}

// record stores one audit record of s's verdict and returns the verdict that stands
// for it (Audit.RecordFirst).
func (e *Engine) record(ctx context.Context, s *firewall.Screen, step string, at time.Time) (*firewall.Verdict, error) {
	standing, err := e.audit.record(ctx, &firewall.AuditRecord{
		ID: s.Message.ID + "/" + step, MessageID: s.Message.ID, TenantID: s.Message.TenantID, At: at,
		Screen: s, RulesVersion: e.RulesVersion(), ModelVersion: e.ModelVersion(),
	})
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall: audit %s", s.Message.ID)
	}
	return standing, nil
}

// verdict decides from the screen's indicators and rule hits (no side effects; the
// replay command calls it with another rule set).
func (e *Engine) verdict(set *rules.Set, s *firewall.Screen) firewall.Verdict {
	st := e.cfg.Settings
	// The enforced findings become the verdict's; the shadow ones only count towards
	// what is recommended, so their risk is kept as a running product.
	enforced := make([]firewall.Indicator, len(s.Indicators), len(s.Indicators)+len(s.Rules))
	copy(enforced, s.Indicators)
	shadowClean := 1.0
	v := firewall.Verdict{Decision: firewall.Pass, Recommended: firewall.Pass, Phase: firewall.PhaseDecide}
	ruleDecision, shadowDecision := firewall.Pass, firewall.Pass
	var delay time.Duration
	for _, h := range s.Rules {
		act := h.Action
		if act == firewall.ActionScore {
			act = firewall.Pass
		}
		shadowDecision = stronger(shadowDecision, act)
		if h.Shadow {
			shadowClean *= 1 - float64(h.Score)/100
			v.Shadow = append(v.Shadow, h.Name)
			continue
		}
		enforced = append(enforced, firewall.Indicator{Code: "rule." + h.Action, Phase: firewall.PhaseRules, Weight: h.Score,
			Detail: "rule " + h.Name + " (" + h.Severity + "): " + h.Action})
		ruleDecision = stronger(ruleDecision, act)
		v.Rules = append(v.Rules, h.Name)
		if act == firewall.Throttle {
			if r, ok := set.Rule(h.Name); ok {
				delay = max(delay, r.Delay)
			}
		}
	}
	if s.Features.ModelSpam && st.Model.Mode == ModelShadow {
		v.Shadow = append(v.Shadow, "model")
		shadowClean *= 1 - 0.95
	}
	v.Risk = risk(enforced)
	v.Decision = stronger(ruleDecision, e.byRisk(v.Risk))
	withShadow := int(math.Round(100 * (1 - (1-float64(v.Risk)/100)*shadowClean)))
	v.Recommended = stronger(stronger(v.Decision, shadowDecision), e.byRisk(withShadow))
	slices.SortStableFunc(enforced, func(a, b firewall.Indicator) int { return cmp.Compare(b.Weight, a.Weight) })
	v.Indicators = enforced
	switch {
	case v.Decision != firewall.Pass && v.Decision == ruleDecision:
		v.Phase = firewall.PhaseRules
	case v.Decision != firewall.Pass && len(enforced) > 0:
		v.Phase = enforced[0].Phase
	}
	if v.Decision == firewall.Throttle {
		if delay == 0 {
			delay = time.Duration(st.Throttle.Delay)
		}
		at := later(s.Message.At, e.now()).Add(delay)
		v.ReleaseAt = &at
	}
	v.Explanation = explain(v)
	return v
}

// risk combines indicator weights as independent evidence: 100 × (1 − Π(1 − w/100)).
func risk(ind []firewall.Indicator) int {
	clean := 1.0
	for _, i := range ind {
		clean *= 1 - float64(i.Weight)/100
	}
	return int(math.Round(100 * (1 - clean)))
}

func (e *Engine) byRisk(r int) string {
	switch t := e.cfg.Settings.Thresholds; {
	case r >= t.Block:
		return firewall.Block
	case r >= t.Hold:
		return firewall.Hold
	}
	return firewall.Pass
}

// explain says why, for humans: the decision, the rules acted on and the three
// strongest findings. Built by hand, not with fmt: it runs on every decision.
func explain(v firewall.Verdict) string {
	var b strings.Builder
	b.Grow(160)
	b.WriteString(v.Decision)
	b.WriteString(" (risk ")
	b.WriteString(strconv.Itoa(v.Risk))
	b.WriteString("/100)")
	if len(v.Rules) > 0 {
		b.WriteString("; rules: ")
		b.WriteString(strings.Join(v.Rules, ", "))
	}
	n := 0
	for _, i := range v.Indicators {
		if i.Weight == 0 || strings.HasPrefix(i.Code, "rule.") {
			continue
		}
		if n == 3 {
			break
		}
		b.WriteString("; ")
		b.WriteString(i.Detail)
		n++
	}
	if n == 0 && len(v.Rules) == 0 {
		b.WriteString("; no findings")
	}
	if len(v.Shadow) > 0 {
		b.WriteString("; shadow (not acted on): ")
		b.WriteString(strings.Join(v.Shadow, ", "))
		b.WriteString(" would make it ")
		b.WriteString(v.Recommended)
	}
	return b.String()
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
