package eventfilter

import (
	"context"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

// orderTrigger is a realistic spec.filters: a type family, a channel
// allow-list, an excluded source and a CESQL tenant rule.
var orderTrigger = []eventing.SubscriptionsAPIFilter{
	anyOf(exact("type", "com.catalyst.order.created"), prefix("type", "com.catalyst.order.updated.")),
	all(
		anyOf(exact("channel", "sms"), exact("channel", "whatsapp"), exact("channel", "rcs")),
		not(suffix("source", "/sandbox")),
	),
	sql("tenantid LIKE 'ac%' AND EXISTS subject"),
}

func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	f, err := ForTrigger(nil, orderTrigger)
	if err != nil {
		t.Fatal(err)
	}
	events := []struct {
		e    event.Event
		want bool
	}{
		{fullEvent(t), true},
		{fullEvent(t, withExt("channel", "email")), false},
		{fullEvent(t, func(e *event.Event) { e.SetSource("https://catalyst.example/sandbox") }), false},
		{fullEvent(t, withExt("tenantid", "globex")), false},
		{bareEvent(t), false},
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				tc := events[(g+i)%len(events)]
				if got := f.Match(context.Background(), tc.e); got != tc.want {
					t.Errorf("event %d: Match = %v, want %v", (g+i)%len(events), got, tc.want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkMatch(b *testing.B) {
	ctx := context.Background()
	full := fullEvent(b)
	bare := bareEvent(b)
	noSQL := orderTrigger[:2]
	cases := []struct {
		name    string
		legacy  *eventing.TriggerFilter
		filters []eventing.SubscriptionsAPIFilter
		e       event.Event
		want    bool
	}{
		{"legacy/match", legacy(map[string]string{"type": "com.catalyst.order.created", "tenantid": ""}), nil, full, true},
		{"exact/match", nil, []eventing.SubscriptionsAPIFilter{exact("type", "com.catalyst.order.created")}, full, true},
		{"nested/match", nil, noSQL, full, true},
		{"nested/reject", nil, noSQL, bare, false},
		{"nested+cesql/match", nil, orderTrigger, full, true},
		{"nested+cesql/reject", nil, orderTrigger, bare, false},
		{"cesql-only/match", nil, orderTrigger[2:], full, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			f, err := ForTrigger(bc.legacy, bc.filters)
			if err != nil {
				b.Fatal(err)
			}
			if got := f.Match(ctx, bc.e); got != bc.want {
				b.Fatalf("Match = %v, want %v", got, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Match(ctx, bc.e)
			}
		})
	}
}
