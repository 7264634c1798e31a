package fnhttp

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Metrics counts deliveries to functions. One value is shared by every function served
// from a process (labelled by function name), so the HTTP handler here and the
// in-process broker runtime report the same series whichever way a function is called.
//
// The counters keep one invariant, asserted in the tests:
// received = replied + failed + acknowledged-without-reply.
// Requests rejected before Handle (malformed, too large) count as received and failed,
// so a misbehaving producer shows up in failed_total rather than nowhere; they have no
// handle duration because the function never ran.
//
// A nil *Metrics is valid and records nothing.
type Metrics struct {
	received *prometheus.CounterVec
	replied  *prometheus.CounterVec
	failed   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets reaches down to half a millisecond: most functions transform an event
// in memory, and prometheus.DefBuckets would put all of them in the first bucket.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics creates the function metrics and registers them with reg (nil: not
// registered, handy in benchmarks). Registering twice on one registry reuses the
// collectors already there, so the HTTP server and the broker runtime may both call it.
// Any other registration error is a programming error and panics, like MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalyst_function_events_received_total",
			Help: "Events delivered to a function, including those rejected before it ran.",
		}, []string{"function"}),
		replied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalyst_function_events_replied_total",
			Help: "Events a function handled successfully with a reply event.",
		}, []string{"function"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalyst_function_events_failed_total",
			Help: "Events that failed, by errs code (rejected, returned an error, panicked or replied with an invalid event).",
		}, []string{"function", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "catalyst_function_handle_duration_seconds",
			Help:    "Time spent in a function's Handle.",
			Buckets: durationBuckets,
		}, []string{"function"}),
	}
	if reg != nil {
		m.received = register(reg, m.received)
		m.replied = register(reg, m.replied)
		m.failed = register(reg, m.failed)
		m.duration = register(reg, m.duration)
	}
	return m
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// Observe records one call of function's Handle that started at start and ended with
// reply (whether a reply event was produced) and err. The broker runtime calls it for
// in-process deliveries; the HTTP handler calls it for every request that reached Handle.
func (m *Metrics) Observe(function string, start time.Time, reply bool, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(function).Observe(time.Since(start).Seconds())
	m.count(function, reply, err)
}

// count updates the counters for one delivery without a duration (rejections).
func (m *Metrics) count(function string, reply bool, err error) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(function).Inc()
	switch {
	case err != nil:
		m.failed.WithLabelValues(function, string(errs.CodeOf(err))).Inc()
	case reply:
		m.replied.WithLabelValues(function).Inc()
	}
}

// init creates function's unlabelled-by-code series at zero so dashboards and rate()
// see them before the first event arrives.
func (m *Metrics) init(function string) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(function)
	m.replied.WithLabelValues(function)
	m.duration.WithLabelValues(function)
}
