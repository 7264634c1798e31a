package screening

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// DPI scans the text with the one automaton of every pattern and rule keyword, and
// extracts URLs, domains, obfuscation and encoding anomalies.
func (e *Engine) DPI(s *firewall.Screen) error {
	if done(s, firewall.PhaseDPI) {
		return nil
	}
	c, err := e.current()
	if err != nil {
		return err
	}
	inspect(c.scanner, s)
	return nil
}

// inspect fills the dpi features of s from a scan (replay runs it with another rule
// set's automaton).
func inspect(sc *dpi.Scanner, s *firewall.Screen) {
	f := &s.Features
	r := sc.Scan(s.Message.Text)
	h := fnv.New64a()
	h.Write([]byte(r.Canonical))
	s.Fingerprint = h.Sum64()
	f.Keywords, f.Categories, f.PatternScore = nil, nil, 0
	strongest := map[string]dpi.Hit{} // per category
	for _, hit := range r.Hits {
		f.Keywords = append(f.Keywords, hit.Text)
		if hit.Category == ruleKeyword {
			continue
		}
		if !slices.Contains(f.Categories, hit.Category) {
			f.Categories = append(f.Categories, hit.Category)
		}
		f.PatternScore = max(f.PatternScore, hit.Weight)
		if hit.Weight > strongest[hit.Category].Weight {
			strongest[hit.Category] = hit
		}
	}
	for _, cat := range f.Categories {
		if hit := strongest[cat]; hit.Weight > 0 {
			indicate(s, firewall.PhaseDPI, "dpi."+cat, hit.Weight, fmt.Sprintf("%s wording: %q", cat, hit.Text))
		}
	}
	f.URLCount, f.URLs, f.Domains, f.Shortener = len(r.URLs), r.URLs, r.Domains, r.Shortener
	f.Obfuscation, f.MixedScript, f.EncodingAnomalies = r.Obfuscation, r.MixedScript, r.Anomalies
	if r.Shortener {
		indicate(s, firewall.PhaseDPI, "dpi.shortener", 20, "link through a URL shortener hides its target")
	}
	if r.Obfuscation >= 3 {
		indicate(s, firewall.PhaseDPI, "dpi.obfuscation", min(20+5*r.Obfuscation, 60), fmt.Sprintf("%d characters disguised (look-alikes, l33t, spacing)", r.Obfuscation))
	}
	if len(r.Anomalies) > 0 {
		indicate(s, firewall.PhaseDPI, "dpi.encoding", 20, "encoding anomalies: "+strings.Join(r.Anomalies, ", "))
	}
}

// Velocity counts the message against its sender's and destination's windows.
func (e *Engine) Velocity(ctx context.Context, s *firewall.Screen) error {
	if done(s, firewall.PhaseVelocity) {
		return nil
	}
	f := &s.Features
	c, err := e.cfg.Velocity.Observe(ctx, velocity.Observation{
		MessageID: s.Message.ID, TenantID: s.Message.TenantID, Sender: s.Message.From,
		Destination: f.Destination, ContentHash: s.Fingerprint, HighCost: e.highCost(f), At: s.Message.At,
	})
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "firewall velocity")
	}
	f.MessagesPerSecond, f.MessagesPerMinute = c.SenderPerSecond, c.SenderPerMinute
	f.DestinationPerMinute, f.PairPerHour = c.DestinationPerMinute, c.PairPerHour
	f.UniqueDestinationsPerHour, f.RepeatRatio = c.UniqueDestinationsPerHour, c.RepeatRatio
	f.SequentialDestinations, f.HighCostPerMinute, f.NewDestination = c.SequentialDestinations, c.HighCostPerMinute, c.NewDestination
	// SMS pumping: walking a number range, or many messages to high-cost numbers.
	if c.SequentialDestinations >= 5 {
		indicate(s, firewall.PhaseVelocity, "velocity.sequential", min(40+5*int(c.SequentialDestinations), 90),
			fmt.Sprintf("%d messages this minute to consecutive numbers", c.SequentialDestinations))
	}
	if c.HighCostPerMinute >= 10 {
		indicate(s, firewall.PhaseVelocity, "velocity.high_cost", min(50+2*int(c.HighCostPerMinute), 90),
			fmt.Sprintf("%d messages this minute to high-cost numbers", c.HighCostPerMinute))
	}
	return nil
}

func (e *Engine) highCost(f *firewall.Features) bool {
	if f.NumberType == "premium_rate" || f.NumberType == "shared_cost" {
		return true
	}
	for _, p := range e.cfg.Settings.HighCostPrefixes {
		if strings.HasPrefix(f.Destination, p) {
			return true
		}
	}
	return false
}

// Reputation looks up the sender, the destination and every domain and URL.
func (e *Engine) Reputation(ctx context.Context, s *firewall.Screen) error {
	if done(s, firewall.PhaseReputation) {
		return nil
	}
	f := &s.Features
	keys := make([]firewall.ReputationKey, 0, 2+len(f.Domains)+len(f.URLs))
	if s.Message.From != "" {
		keys = append(keys, firewall.ReputationKey{Kind: firewall.KindSender, Value: strings.TrimSpace(s.Message.From)})
	}
	if f.Destination != "" {
		keys = append(keys, firewall.ReputationKey{Kind: firewall.KindNumber, Value: f.Destination})
	}
	for _, d := range f.Domains {
		keys = append(keys, firewall.ReputationKey{Kind: firewall.KindDomain, Value: d})
	}
	for _, u := range f.URLs {
		keys = append(keys, firewall.ReputationKey{Kind: firewall.KindURL, Value: u})
	}
	st, err := e.cfg.Reputation.Standings(ctx, s.Message.TenantID, keys, s.Message.At)
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "firewall reputation")
	}
	for _, k := range keys {
		v, ok := st[k]
		if !ok {
			continue
		}
		f.Complaints += v.Complaints
		f.WatchListed = f.WatchListed || v.WatchListed
		switch k.Kind {
		case firewall.KindSender:
			f.SenderReputation = v.Score
		case firewall.KindNumber:
			f.DestinationReputation = v.Score
		case firewall.KindDomain, firewall.KindURL:
			f.DomainReputation = max(f.DomainReputation, v.Score) // a known-bad link counts as its domain would
		}
		if v.Score > 0 {
			indicate(s, firewall.PhaseReputation, "reputation."+k.Kind, v.Score,
				fmt.Sprintf("%s %s has a bad reputation (%d/100, %d complaints)", k.Kind, k.Value, v.Score, v.Complaints))
		}
		if v.WatchListed {
			indicate(s, firewall.PhaseReputation, "reputation.watchlist", 0, k.Kind+" "+k.Value+" is on a watch list")
		}
	}
	return nil
}

// Behaviour weights of the fraud score, in log-odds added to the content model's.
// They are set by hand, not trained: the training data has text only. Each is the
// evidence one signal adds (+1.0 multiplies the odds of abuse by e).
const (
	wSenderReputation = 3.0 // × sender_reputation/100
	wDomainReputation = 3.0 // × domain_reputation/100
	wLinkToStranger   = 0.7 // a URL to a destination this sender never wrote to
	wShortener        = 0.8
	wBlast            = 1.0 // the same text to many destinations
	wObfuscation      = 0.6 // disguised words
	wMixedScript      = 0.5
	wNight            = 0.2 // 00:00-05:00 UTC
)

// Fraud scores the content with the trained model and combines it with behaviour:
// fraud_score = 100 × σ(logit(p) + Σ weights). At the model's operating threshold
// the model alone is an indicator strong enough to block (unless the model runs in
// shadow mode); a high combined score is its own indicator.
func (e *Engine) Fraud(s *firewall.Screen) {
	if done(s, firewall.PhaseFraud) {
		return
	}
	f := &s.Features
	mode, m := e.cfg.Settings.Model.Mode, e.cfg.Model
	p := 0.01 // prior of a message with the model off
	if m != nil && mode != ModelOff && s.Message.Text != "" {
		p = m.Score(s.Message.Text)
		f.SpamProbability = p
		f.ModelSpam = p >= m.Threshold
	}
	if mode == ModelShadow {
		p = 0.01 // a shadow model is recorded (spam_probability, model_spam), never acted on
	}
	p = min(max(p, 1e-6), 1-1e-6)
	z := math.Log(p / (1 - p))
	z += wSenderReputation*float64(f.SenderReputation)/100 + wDomainReputation*float64(f.DomainReputation)/100
	if f.URLCount > 0 && f.NewDestination {
		z += wLinkToStranger
	}
	if f.Shortener {
		z += wShortener
	}
	if f.RepeatRatio > 0.8 && f.UniqueDestinationsPerHour > 50 {
		z += wBlast
	}
	if f.Obfuscation >= 3 {
		z += wObfuscation
	}
	if f.MixedScript {
		z += wMixedScript
	}
	if f.HourUTC < 5 {
		z += wNight
	}
	f.FraudScore = int(math.Round(100 / (1 + math.Exp(-z))))
	if f.ModelSpam && mode == ModelEnforce {
		detail := fmt.Sprintf("content model: spam probability %.2f (threshold %.2f)", f.SpamProbability, m.Threshold)
		if top := m.Explain(s.Message.Text, 3); len(top) > 0 {
			words := make([]string, len(top))
			for i, c := range top {
				words[i] = c.Feature
			}
			detail += "; strongest signs: " + strings.Join(words, ", ")
		}
		indicate(s, firewall.PhaseFraud, "model.spam", 95, detail)
	} else if f.FraudScore >= 50 {
		indicate(s, firewall.PhaseFraud, "fraud.score", f.FraudScore, fmt.Sprintf("content and behaviour together score %d/100", f.FraudScore))
	}
}

// Rules evaluates the rule set in force over the features.
func (e *Engine) Rules(s *firewall.Screen) error {
	if done(s, firewall.PhaseRules) {
		return nil
	}
	c, err := e.current()
	if err != nil {
		return err
	}
	s.Rules = c.rules.EvaluateFrom(s.Message.Channel, s.Message.From, &s.Features)
	return nil
}
