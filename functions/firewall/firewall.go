// Package firewall holds the SMS firewall's functions: the seven phases of the
// firewall Sequence (triggers/firewall.yaml: firewall-preprocess → firewall-dpi →
// firewall-velocity → firewall-reputation → firewall-fraud → firewall-rules →
// firewall-decide) and firewall-release, which applies the review SLA and releases
// throttled messages. Each is a thin wrapper over internal/screening. A phase passes
// on any event it does not work on.
package firewall

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
)

// SweepInterval is how often firewall-release looks for overdue reviews and
// throttled messages whose wait is over.
const SweepInterval = time.Second

// Definitions returns every firewall function.
func Definitions() []fn.Definition {
	screeningType := []string{catalog.FirewallScreeningType}
	phase := func(name, what string, run func(*screening.Engine, context.Context, *firewall.Screen) error) fn.Definition {
		return fn.Definition{
			Name: "firewall-" + name, Description: what, Consumes: screeningType, Produces: screeningType,
			New: withEngine("firewall-"+name, func(e *screening.Engine, _ fn.Deps) fn.Function { return step{engine: e, run: run, name: name} }),
		}
	}
	return []fn.Definition{
		{
			Name:        "firewall-preprocess",
			Description: "Firewall, phase 1: parses the destination (E.164, country, number type, operator), classifies the sender and measures the text (encoding, parts, ratios).",
			Consumes:    []string{catalog.MessageRequestedType},
			Produces:    screeningType,
			New:         withEngine("firewall-preprocess", func(e *screening.Engine, _ fn.Deps) fn.Function { return preprocess{engine: e} }),
		},
		phase(firewall.PhaseDPI, "Firewall, phase 2: scans the text with one automaton of every pattern and rule keyword (de-obfuscated), extracts URLs and domains, finds encoding anomalies.",
			func(e *screening.Engine, _ context.Context, s *firewall.Screen) error { return e.DPI(s) }),
		phase(firewall.PhaseVelocity, "Firewall, phase 3: counts the message in its sender's and destination's windows (rates, unique destinations, repeats, SMS-pumping signals).",
			(*screening.Engine).Velocity),
		phase(firewall.PhaseReputation, "Firewall, phase 4: looks up the sender, destination, domains and URLs in the reputation lists.",
			(*screening.Engine).Reputation),
		phase(firewall.PhaseFraud, "Firewall, phase 5: scores the content with the trained model and combines it with behaviour into a fraud score.",
			func(e *screening.Engine, _ context.Context, s *firewall.Screen) error { e.Fraud(s); return nil }),
		phase(firewall.PhaseRules, "Firewall, phase 6: evaluates the rule set in force (config/firewall-rules.yaml, hot-reloaded).",
			func(e *screening.Engine, _ context.Context, s *firewall.Screen) error { return e.Rules(s) }),
		{
			Name:        "firewall-decide",
			Description: "Firewall, phase 7: combines the findings into a risk score and a decision, audits it, parks held and throttled messages, and emits message.screened (and fraud.alert on block).",
			Consumes:    screeningType,
			Produces:    []string{catalog.MessageScreenedType, catalog.FraudAlertType},
			New: withEngine("firewall-decide", func(e *screening.Engine, d fn.Deps) fn.Function {
				return decide{engine: e, emit: d.Emitter}
			}),
		},
		releaseDefinition(),
	}
}

// withEngine builds a function over the firewall engine.
func withEngine(name string, build func(*screening.Engine, fn.Deps) fn.Function) func(fn.Deps) (fn.Function, error) {
	return func(d fn.Deps) (fn.Function, error) {
		if d.Firewall == nil {
			return nil, errs.E(errs.Unavailable, "%s needs the firewall engine", name)
		}
		return build(d.Firewall, d), nil
	}
}

// preprocess starts the Sequence from a requested message.
type preprocess struct{ engine *screening.Engine }

func (f preprocess) Handle(_ context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.MessageRequestedType {
		return &e, nil
	}
	var m catalog.MessageRequested
	if err := catalog.DecodeData(e, &m); err != nil {
		return nil, err
	}
	s := f.engine.PreprocessAt(m, e.Time()) // a redelivered request screens as it did first
	return screening.NewEvent(e.Time(), catalog.FirewallScreeningType, m.MessageID+"/screening/"+firewall.PhasePreprocess,
		catalog.FirewallScreening{Message: m, Screen: *s}, m, "")
}

// step is one middle phase of the Sequence.
type step struct {
	engine *screening.Engine
	run    func(*screening.Engine, context.Context, *firewall.Screen) error
	name   string
}

func (f step) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.FirewallScreeningType {
		return &e, nil
	}
	var w catalog.FirewallScreening
	if err := catalog.DecodeData(e, &w); err != nil {
		return nil, err
	}
	if err := f.run(f.engine, ctx, &w.Screen); err != nil {
		return nil, err
	}
	return screening.NewEvent(e.Time(), catalog.FirewallScreeningType, w.Message.MessageID+"/screening/"+f.name, w, w.Message, "")
}

// decide ends the Sequence.
type decide struct {
	engine *screening.Engine
	emit   fn.Emitter
}

func (f decide) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != catalog.FirewallScreeningType {
		return &e, nil
	}
	var w catalog.FirewallScreening
	if err := catalog.DecodeData(e, &w); err != nil {
		return nil, err
	}
	if w.Screen.Request == nil {
		raw, err := json.Marshal(w.Message)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "encode request")
		}
		w.Screen.Request = raw
	}
	if err := f.engine.Decide(ctx, &w.Screen); err != nil {
		return nil, err
	}
	return screening.Screened(ctx, f.emit, e.Time(), w.Message, &w.Screen, "decided")
}

func releaseDefinition() fn.Definition {
	return fn.Definition{
		Name:        "firewall-release",
		Description: "Firewall: applies the review SLA's default action to held messages nobody decided, and releases throttled messages as a pass when their wait is over.",
		Consumes:    []string{catalog.MessageScreenedType},
		Produces:    []string{catalog.MessageScreenedType, catalog.FraudAlertType},
		AlwaysOn:    true, // the sweep runs in the background
		New: withEngine("firewall-release", func(e *screening.Engine, d fn.Deps) fn.Function {
			log := d.Logger
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			r := &release{engine: e, emit: d.Emitter, log: log, stop: make(chan struct{})}
			r.done.Add(1)
			go r.sweep()
			return r
		}),
	}
}

// release sweeps the review and throttle queues. Its Handle acknowledges what it is
// sent (it needs no events; a Trigger wakes a scaled-to-zero pod in a cluster).
type release struct {
	engine *screening.Engine
	emit   fn.Emitter
	log    *slog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
	once   sync.Once
	purged time.Time // the last successful purge (only the sweep goroutine touches it)
}

func (f *release) Handle(context.Context, event.Event) (*event.Event, error) { return nil, nil }

func (f *release) sweep() {
	defer f.done.Done()
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*SweepInterval)
		if err := f.Sweep(ctx); err != nil {
			f.log.Warn("firewall: sweep", "error", err)
		}
		cancel()
	}
}

// Sweep applies the SLA to overdue reviews, re-sends decided reviews whose
// message.screened was lost, releases due throttled messages, and (hourly) purges
// what is past the retention. Each message is marked sent only after its emit; one
// message's failure does not hold back the others (it is claimed again once
// firewall.DeliveryLease lapses).
func (f *release) Sweep(ctx context.Context) error {
	if f.emit == nil {
		return errs.E(errs.Unavailable, "firewall-release has no emitter")
	}
	var failed []error
	overdue, err := f.engine.Overdue(ctx, 256)
	failed = append(failed, err)
	owed, err := f.engine.Undelivered(ctx, 256)
	failed = append(failed, err)
	for _, s := range append(overdue, owed...) {
		if err := f.send(ctx, s); err != nil {
			failed = append(failed, err)
			continue
		}
		failed = append(failed, f.engine.Delivered(ctx, s.Message.ID))
	}
	due, err := f.engine.DueThrottled(ctx, 256)
	failed = append(failed, err)
	for _, s := range due {
		if err := f.send(ctx, s); err != nil {
			failed = append(failed, err)
			continue
		}
		failed = append(failed, f.engine.Released(ctx, s.Message.ID))
	}
	if time.Since(f.purged) >= PurgeInterval {
		n, err := f.engine.Purge(ctx)
		if err == nil {
			f.purged = time.Now()
			if n > 0 {
				f.log.InfoContext(ctx, "firewall: purged decided reviews and released messages", "rows", n)
			}
		}
		failed = append(failed, err)
	}
	return errors.Join(failed...)
}

// PurgeInterval is how often firewall-release purges the queues.
const PurgeInterval = time.Hour

func (f *release) send(ctx context.Context, s *firewall.Screen) error {
	m, err := screening.RequestOf(s)
	if err != nil {
		return err
	}
	out, err := screening.Screened(ctx, f.emit, f.engine.Now(), m, s, s.Verdict.Phase)
	if err != nil {
		return err
	}
	f.log.InfoContext(ctx, "firewall: later decision", "message_id", s.Message.ID, "decision", s.Verdict.Decision, "phase", s.Verdict.Phase)
	return f.emit.Emit(ctx, *out)
}

// Close stops the sweep.
func (f *release) Close() error {
	f.once.Do(func() { close(f.stop) })
	f.done.Wait()
	return nil
}
