package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNothingAccepted ends a run in which the platform accepted no message.
var ErrNothingAccepted = errors.New("loadgen: no message was accepted")

// Run creates the tenants, sends for the configured count or duration, waits up to
// Drain for the messages to reach a terminal state, and writes the summary table (and
// with JSON, a JSON line last) to out and progress to errOut. It fails when cfg does
// not validate, when setup fails, and (after writing the summary) when no message was
// accepted. Cancelling ctx stops the sending and skips the drain; the summary is still
// written.
func Run(ctx context.Context, cfg Config, out, errOut io.Writer) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	out, errOut = orDiscard(out), orDiscard(errOut)
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient(cfg.Concurrency)
	}
	api := &apiClient{base: cfg.API, admin: cfg.AdminToken, http: hc}
	plan, err := newPlanner(cfg)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: plan: %w", err)
	}
	accounts, err := setup(ctx, api, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: setup: %w", err)
	}
	cfg.Logger.Info("loadgen tenants ready", "tenants", len(accounts), "senders_per_tenant", cfg.sendersPerTenant(), "api", cfg.API)

	r := &runner{cfg: cfg, api: api, accounts: accounts, errOut: errOut, tally: newTally()}
	res := r.run(ctx, plan)
	writeSummary(out, res, cfg)
	if cfg.JSON {
		if err := writeJSON(out, res); err != nil {
			return res, err
		}
	}
	if res.Accepted == 0 {
		return res, ErrNothingAccepted
	}
	return res, nil
}

// setup creates the tenants and tops each up, a few at a time.
func setup(ctx context.Context, api *apiClient, cfg Config) ([]account, error) {
	runID := newRunID()
	accounts := make([]account, cfg.Tenants)
	errs := make([]error, cfg.Tenants)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range cfg.Tenants {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("loadgen %s %s %d", runID, brandOf(i), i+1)
			a, err := api.createTenant(ctx, name, fmt.Sprintf("loadgen+%s-%d@example.com", runID, i+1))
			if err == nil {
				err = api.topUp(ctx, a.ID, cfg.TopUp, fmt.Sprintf("loadgen-%s-%d", runID, i+1))
			}
			a.Brand = brandOf(i)
			accounts[i], errs[i] = a, err
		})
	}
	wg.Wait()
	return accounts, errors.Join(errs...)
}

// newRunID names a run's tenants and top-ups: the time and a random part.
func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102t150405") + hex.EncodeToString(b)
}

// tally counts the answers to the send requests.
type tally struct {
	sent, accepted, rejected, errors, parts atomic.Int64
	latency                                 histogram

	mu       sync.Mutex
	byStatus map[int]int64
	samples  map[int]string
	shapes   map[Shape]int64
	outcomes map[Outcome]int64
	last     time.Time // the latest answer
}

func newTally() *tally {
	return &tally{byStatus: map[int]int64{}, samples: map[int]string{}, shapes: map[Shape]int64{}, outcomes: map[Outcome]int64{}}
}

func (t *tally) record(j job, res sendResult, took time.Duration, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch res.status {
	case 0: // no answer
		t.errors.Add(1)
		if _, ok := t.samples[0]; !ok {
			t.samples[0] = res.err.Error()
		}
	case http.StatusAccepted:
		t.accepted.Add(1)
		t.parts.Add(int64(res.parts))
		t.latency.record(took)
		t.shapes[j.shape]++
		t.outcomes[j.outcome]++
	default:
		t.rejected.Add(1)
		t.byStatus[res.status]++
		if _, ok := t.samples[res.status]; !ok && res.err != nil {
			t.samples[res.status] = res.err.Error()
		}
	}
	if at.After(t.last) {
		t.last = at
	}
}

// runner is one run after setup.
type runner struct {
	cfg      Config
	api      *apiClient
	accounts []account
	errOut   io.Writer
	tally    *tally
	start    time.Time
}

func (r *runner) run(ctx context.Context, plan *planner) Result {
	cfg := r.cfg
	r.start = cfg.clock.Now()
	mon := newMonitor(r.api, r.accounts, r.start.Add(-time.Second), cfg.Logger)
	// Polling and in-flight requests outlive a cancelled ctx, so that the summary has
	// the numbers of what was sent.
	bg := context.WithoutCancel(ctx)
	monCtx, stopMon := context.WithCancel(bg)
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		r.watch(monCtx, mon)
	}()

	jobs := make(chan job)
	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for j := range jobs {
				r.sendOne(bg, j)
			}
		})
	}
	s := schedule{start: r.start, rate: cfg.Rate, count: int64(cfg.Count), clock: cfg.clock}
	if cfg.Count == 0 {
		s.end = r.start.Add(cfg.Duration)
	}
	dispatch(ctx, s, plan.next, func(ctx context.Context, j job) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(jobs)
	workers.Wait()

	drainStart := cfg.clock.Now()
	if ctx.Err() == nil && cfg.Drain > 0 {
		r.drain(ctx, mon, drainStart.Add(cfg.Drain))
	}
	drained := cfg.clock.Now().Sub(drainStart)
	stopMon()
	<-monDone
	mon.poll(bg) // the freshest numbers for the summary
	view, _, grewAt := mon.snapshot()
	if cfg.LiveProgress {
		fmt.Fprintln(r.errOut)
	}
	return r.result(view, grewAt, drained, mon.isUnavailable())
}

// sendOne sends one planned message and counts the answer.
func (r *runner) sendOne(ctx context.Context, j job) {
	r.tally.sent.Add(1)
	t0 := time.Now()
	res := r.api.send(ctx, r.accounts[j.tenant].APIKey, j.body)
	now := time.Now()
	r.tally.record(j, res, now.Sub(t0), now)
	if res.status != http.StatusAccepted {
		r.cfg.Logger.Debug("send not accepted", "status", res.status, "err", res.err)
	}
}

// drain waits until every accepted message is terminal, the deadline passes, ctx is
// done, or the platform turns out to have no stats.
func (r *runner) drain(ctx context.Context, mon *monitor, deadline time.Time) {
	accepted := r.tally.accepted.Load()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		v, _, _ := mon.snapshot()
		if mon.isUnavailable() || v.Known && v.Terminal >= accepted || !r.cfg.clock.Now().Before(deadline) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// watch polls the platform every PollEvery and writes the progress line.
func (r *runner) watch(ctx context.Context, mon *monitor) {
	t := time.NewTicker(r.cfg.PollEvery)
	defer t.Stop()
	lastTick, lastLine, width := time.Now(), time.Now(), 0
	var lastAccepted int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mon.poll(ctx)
		now := time.Now()
		accepted := r.tally.accepted.Load()
		rate := float64(accepted-lastAccepted) / now.Sub(lastTick).Seconds()
		lastAccepted, lastTick = accepted, now
		view, _, _ := mon.snapshot()
		line := progressLine(r.cfg.clock.Now().Sub(r.start), r.tally.sent.Load(), accepted, rate, view,
			view.Known && !mon.isUnavailable(), r.tally.latency.summary())
		switch {
		case r.cfg.LiveProgress:
			// Pad over the previous line rather than use terminal escapes: --progress
			// may write to a file.
			fmt.Fprintf(r.errOut, "\r%s%s", line, strings.Repeat(" ", max(0, width-len(line))))
			width = len(line)
		case now.Sub(lastLine) >= r.cfg.ProgressEvery:
			fmt.Fprintln(r.errOut, line)
			lastLine = now
		}
	}
}

// result assembles the Result from the tally and the platform's view.
func (r *runner) result(view delivery, grewAt time.Time, drained time.Duration, unavailable bool) Result {
	t := r.tally
	t.mu.Lock()
	defer t.mu.Unlock()
	res := Result{
		Tenants: r.cfg.Tenants, TargetRate: r.cfg.Rate, Seed: r.cfg.Seed,
		Sent: t.sent.Load(), Accepted: t.accepted.Load(), Rejected: t.rejected.Load(), Errors: t.errors.Load(),
		Parts: t.parts.Load(), RejectedByStatus: map[int]int64{}, RejectSamples: map[int]string{},
		AcceptedShapes: map[Shape]int64{}, AcceptedOutcomes: map[Outcome]int64{},
		AcceptLatency: t.latency.summary(), Drain: drained,
	}
	for _, a := range r.accounts {
		res.TenantIDs = append(res.TenantIDs, a.ID)
	}
	for k, v := range t.byStatus {
		res.RejectedByStatus[k] = v
	}
	for k, v := range t.samples {
		res.RejectSamples[k] = v
	}
	for k, v := range t.shapes {
		res.AcceptedShapes[k] = v
	}
	for k, v := range t.outcomes {
		res.AcceptedOutcomes[k] = v
	}
	if !t.last.IsZero() {
		res.SendTime = t.last.Sub(r.start)
		if s := res.SendTime.Seconds(); s > 0 {
			res.AcceptedPerSec = float64(res.Accepted) / s
		}
	}
	if unavailable || !view.Known {
		return res
	}
	res.DeliveryKnown = true
	res.Delivered, res.Failed, res.Blocked = view.Delivered, view.Failed, view.Blocked
	res.Pending = max(0, res.Accepted-view.Terminal)
	res.ByStatus = view.ByStatus
	res.Latency = view.Latency
	res.LatencyMerged = len(r.accounts) > 1
	// The last delivery finished by the poll that last saw Delivered grow, and by the
	// last answer plus the longest delivery; the earlier of the two bounds is the
	// closer one (a poll is up to PollEvery late).
	finish := grewAt
	if l := view.Latency; l.Max > 0 && !t.last.IsZero() {
		if bound := t.last.Add(time.Duration(l.Max * float64(time.Millisecond))); finish.IsZero() || bound.Before(finish) {
			finish = bound
		}
	}
	if s := finish.Sub(r.start).Seconds(); res.Delivered > 0 && s > 0 {
		res.DeliveredPerSec = float64(res.Delivered) / s
	}
	return res
}
