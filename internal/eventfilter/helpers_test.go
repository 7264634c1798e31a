package eventfilter

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

// eventTime has a non-UTC offset so tests catch a filter that normalises time to
// UTC before comparing: Knative compares the event's own RFC 3339 form.
var eventTime = time.Date(2024, 3, 1, 12, 30, 0, 0, time.FixedZone("", 2*60*60))

// fullEvent sets every context attribute plus string, integer and boolean
// extensions.
func fullEvent(t testing.TB, mutate ...func(*event.Event)) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("evt-1")
	e.SetSource("https://catalyst.example/orders")
	e.SetType("com.catalyst.order.created")
	e.SetSubject("orders/42")
	e.SetTime(eventTime)
	e.SetDataSchema("https://schemas.catalyst.example/order/v1")
	if err := e.SetData("application/json; charset=utf-8", map[string]any{"id": 42}); err != nil {
		t.Fatal(err)
	}
	e.SetExtension("tenantid", "acme")
	e.SetExtension("channel", "sms")
	e.SetExtension("priority", 5)
	e.SetExtension("urgent", true)
	for _, m := range mutate {
		m(&e)
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("invalid test event: %v", err)
	}
	return e
}

// bareEvent has only the required attributes: no subject, time, data or
// extensions.
func bareEvent(t testing.TB, mutate ...func(*event.Event)) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("evt-2")
	e.SetSource("/sms/gateway")
	e.SetType("com.catalyst.sms.received")
	for _, m := range mutate {
		m(&e)
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("invalid test event: %v", err)
	}
	return e
}

func withExt(name string, v any) func(*event.Event) {
	return func(e *event.Event) { e.SetExtension(name, v) }
}

type spec = eventing.SubscriptionsAPIFilter

func exact(k, v string) spec  { return spec{Exact: map[string]string{k: v}} }
func prefix(k, v string) spec { return spec{Prefix: map[string]string{k: v}} }
func suffix(k, v string) spec { return spec{Suffix: map[string]string{k: v}} }
func sql(expr string) spec    { return spec{CESQL: expr} }
func all(fs ...spec) spec     { return spec{All: fs} }
func anyOf(fs ...spec) spec   { return spec{Any: fs} }
func not(f spec) spec         { return spec{Not: &f} }

func legacy(attrs map[string]string) *eventing.TriggerFilter {
	return &eventing.TriggerFilter{Attributes: attrs}
}

// matchCase is one trigger spec evaluated against one event.
type matchCase struct {
	name    string
	legacy  *eventing.TriggerFilter
	filters []spec
	event   event.Event
	want    bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ForTrigger(tc.legacy, tc.filters)
			if err != nil {
				t.Fatalf("ForTrigger: %v", err)
			}
			if got := f.Match(context.Background(), tc.event); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}
