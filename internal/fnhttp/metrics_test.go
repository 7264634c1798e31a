package fnhttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// metric returns the value of the counter, or the sample count of the histogram, named
// name with exactly labels, and whether that series exists.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount()), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestHandlerMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	// The event type picks the outcome, so one handler produces every kind.
	h, _ := newTestHandler(fn.HandlerFunc(func(ctx context.Context, e event.Event) (*event.Event, error) {
		switch e.Type() {
		case "reply":
			return echo(ctx, e)
		case "invalid":
			return nil, errs.E(errs.Invalid, "no")
		case "plain":
			return nil, errors.New("oops")
		case "panic":
			panic("boom")
		}
		return nil, nil
	}), 64, NewMetrics(reg))

	fnl := map[string]string{"function": "echo"}
	for _, name := range []string{"catalyst_function_events_received_total", "catalyst_function_events_replied_total", "catalyst_function_handle_duration_seconds"} {
		if v, ok := metric(t, reg, name, fnl); !ok || v != 0 {
			t.Errorf("before any event %s = %v (exists %v), want a zero series", name, v, ok)
		}
	}

	for _, typ := range []string{"reply", "reply", "ack", "invalid", "plain", "panic"} {
		h.ServeHTTP(httptest.NewRecorder(), binaryRequest("m-1", typ, "/test"))
	}
	h.ServeHTTP(httptest.NewRecorder(), binaryRequest("", "reply", "/test")) // malformed: invalid
	big := binaryRequest("m-2", "reply", "/test")
	big.Body = http.NoBody
	big.ContentLength = 1 << 20 // too_large before reading
	h.ServeHTTP(httptest.NewRecorder(), big)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) // not a delivery

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"catalyst_function_events_received_total", fnl, 8},
		{"catalyst_function_events_replied_total", fnl, 2},
		{"catalyst_function_events_failed_total", map[string]string{"function": "echo", "code": "invalid"}, 2},
		{"catalyst_function_events_failed_total", map[string]string{"function": "echo", "code": "internal"}, 2},
		{"catalyst_function_events_failed_total", map[string]string{"function": "echo", "code": "too_large"}, 1},
		{"catalyst_function_handle_duration_seconds", fnl, 6}, // only calls that reached Handle
	} {
		if got, _ := metric(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s %v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestMetricsObserve(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a := NewMetrics(reg)
	b := NewMetrics(reg) // the broker runtime and the server share one registry

	b.Observe("router", time.Now().Add(-time.Second), true, nil)
	a.Observe("router", time.Now(), false, errs.E(errs.Unavailable, "down"))
	a.Observe("other", time.Now(), false, nil)
	var none *Metrics
	none.Observe("router", time.Now(), true, nil) // must not panic

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"catalyst_function_events_received_total", map[string]string{"function": "router"}, 2},
		{"catalyst_function_events_replied_total", map[string]string{"function": "router"}, 1},
		{"catalyst_function_events_failed_total", map[string]string{"function": "router", "code": "unavailable"}, 1},
		{"catalyst_function_handle_duration_seconds", map[string]string{"function": "router"}, 2},
		{"catalyst_function_events_received_total", map[string]string{"function": "other"}, 1},
	} {
		if got, _ := metric(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s %v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "catalyst_function_handle_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "router" && m.GetHistogram().GetSampleSum() < 1 {
				t.Errorf("duration sum = %v, want >= 1s from the back-dated start", m.GetHistogram().GetSampleSum())
			}
		}
	}
}

func TestNewMetricsConflictPanics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "catalyst_function_events_received_total", Help: "other"}))
	defer func() {
		if recover() == nil {
			t.Error("NewMetrics accepted a conflicting collector")
		}
	}()
	NewMetrics(reg)
}
