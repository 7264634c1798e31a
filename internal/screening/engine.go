// Package screening is the SMS firewall's engine: the seven phases over a
// firewall.Screen (preprocess → dpi → velocity → reputation → fraud → rules →
// decide), the review queue and the release of throttled messages. Each phase is a
// method, so functions/firewall can run each as its own function of the firewall
// Sequence, and Screen runs them all in one call (fused mode, and the benchmark).
//
// The order is the order each phase's inputs exist: the fraud score combines the
// content model with the sender's reputation and rate, and rule conditions may use
// every feature, so velocity and reputation run before both.
package screening

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// RuleSource gives the rule set in force (a rules.Watcher hot-reloads it).
type RuleSource interface {
	Current() *rules.Set
}

// StaticRules is a RuleSource that never changes (tests, replay).
type StaticRules struct{ Set *rules.Set }

// Current returns the set.
func (s StaticRules) Current() *rules.Set { return s.Set }

// Config is what an Engine needs. Model may be nil (mode off); the stores are
// required.
type Config struct {
	Settings   Settings
	Rules      RuleSource
	Patterns   []dpi.Pattern
	Model      *model.Model
	Velocity   velocity.Counter
	Reputation firewall.ReputationStore
	Reviews    firewall.Reviews
	Audit      firewall.Audit
	Logger     *slog.Logger
	Now        func() time.Time
}

// Engine runs the firewall's phases. It is safe for concurrent use.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	compiled atomic.Pointer[compiled]
	mu       sync.Mutex // one recompilation at a time
	audit    *auditBatcher
}

// compiled is the DPI automaton for one rule set: the patterns plus every rule
// keyword, so keyword rules cost nothing beyond the one scan.
type compiled struct {
	rules   *rules.Set
	scanner *dpi.Scanner
}

// ruleKeyword is the category of patterns that come from rule keywords: they feed
// the rules, not the DPI risk.
const ruleKeyword = "rule-keyword"

// New checks cfg and compiles the automaton for the rule set in force.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Rules == nil || cfg.Rules.Current() == nil:
		return nil, errs.E(errs.Invalid, "firewall: no rule set")
	case cfg.Velocity == nil, cfg.Reputation == nil, cfg.Reviews == nil, cfg.Audit == nil:
		return nil, errs.E(errs.Invalid, "firewall: velocity, reputation, reviews and audit stores are required")
	case cfg.Model == nil && cfg.Settings.Model.Mode != ModelOff:
		return nil, errs.E(errs.Invalid, "firewall: model mode %s needs a model", cfg.Settings.Model.Mode)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if _, err := e.current(); err != nil {
		return nil, err
	}
	e.audit = newAuditBatcher(cfg.Audit, cfg.Logger)
	return e, nil
}

// Close flushes the audit batches.
func (e *Engine) Close() { e.audit.close() }

// Now is the engine's clock: later decisions (a review's SLA, a throttle's release)
// are dated by it.
func (e *Engine) Now() time.Time { return e.now() }

// Settings returns the engine's settings.
func (e *Engine) Settings() Settings { return e.cfg.Settings }

// RulesVersion is the version of the rule set in force.
func (e *Engine) RulesVersion() string { return e.cfg.Rules.Current().Version }

// ModelVersion is the content model's version ("" when off).
func (e *Engine) ModelVersion() string {
	if e.cfg.Model == nil {
		return ""
	}
	return e.cfg.Model.Version
}

// current returns the automaton for the rule set in force, recompiling it after the
// rules changed.
func (e *Engine) current() (*compiled, error) {
	set := e.cfg.Rules.Current()
	if c := e.compiled.Load(); c != nil && c.rules == set {
		return c, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.compiled.Load(); c != nil && c.rules == set {
		return c, nil
	}
	c, err := compile(set, e.cfg.Patterns)
	if err != nil {
		return nil, err
	}
	e.compiled.Store(c)
	return c, nil
}

func compile(set *rules.Set, patterns []dpi.Pattern) (*compiled, error) {
	all := slices.Clone(patterns)
	for _, k := range set.Keywords() {
		all = append(all, dpi.Pattern{Text: k, Category: ruleKeyword})
	}
	sc, err := dpi.Compile(all)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "firewall: compile patterns")
	}
	return &compiled{rules: set, scanner: sc}, nil
}

// Screen runs every phase on one message in one call (fused mode) and stores its
// decision. It is what the Sequence does, without the hops. The screen returned is
// also the audit's record of it: read it, do not change it.
func (e *Engine) Screen(ctx context.Context, req catalog.MessageRequested) (*firewall.Screen, error) {
	return e.ScreenAt(ctx, req, time.Time{})
}

// ScreenAt is Screen for a request made at requested (its CloudEvent time, as
// PreprocessAt takes it), keeping the request with the screen as the Sequence's
// decide step does, so a held or throttled message goes on exactly as requested.
func (e *Engine) ScreenAt(ctx context.Context, req catalog.MessageRequested, requested time.Time) (*firewall.Screen, error) {
	s := e.PreprocessAt(req, requested)
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode request %s", req.MessageID)
	}
	s.Request = raw
	if err := e.DPI(s); err != nil {
		return nil, err
	}
	if err := e.Velocity(ctx, s); err != nil {
		return nil, err
	}
	if err := e.Reputation(ctx, s); err != nil {
		return nil, err
	}
	e.Fraud(s)
	if err := e.Rules(s); err != nil {
		return nil, err
	}
	if err := e.Decide(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// done reports whether phase already ran on s (a replayed step), and marks it.
func done(s *firewall.Screen, phase string) bool {
	if slices.Contains(s.Done, phase) {
		return true
	}
	s.Done = append(s.Done, phase)
	return false
}

// indicate adds a finding.
func indicate(s *firewall.Screen, phase, code string, weight int, detail string) {
	s.Indicators = append(s.Indicators, firewall.Indicator{Code: code, Phase: phase, Weight: min(max(weight, 0), 100), Detail: detail})
}
