package eventing

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func validTrigger() *Trigger {
	return &Trigger{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default"},
		Spec: TriggerSpec{
			Broker:     "default",
			Filter:     &TriggerFilter{Attributes: TriggerFilterAttributes{"type": "order.created", "source": ""}},
			Filters:    []SubscriptionsAPIFilter{{Exact: map[string]string{"type": "order.created"}}},
			Subscriber: *serviceDest("orders"),
			Delivery:   validDelivery(),
		},
	}
}

// emptyDialect is the one-of error's paths for filter expression p.
func emptyDialect(p string) []string {
	out := make([]string, 0, len(dialects))
	for _, d := range dialects {
		out = append(out, p+"."+d)
	}
	return out
}

func TestTriggerValidate(t *testing.T) {
	t.Parallel()
	exact := func(k, v string) SubscriptionsAPIFilter {
		return SubscriptionsAPIFilter{Exact: map[string]string{k: v}}
	}
	filters := func(fs ...SubscriptionsAPIFilter) func(*Trigger) {
		return func(tr *Trigger) { tr.Spec.Filters = fs }
	}
	tests := []struct {
		name   string
		mutate func(*Trigger)
		want   []string
	}{
		{name: "valid", mutate: func(*Trigger) {}},
		{name: "valid: minimal", mutate: func(tr *Trigger) {
			tr.Spec = TriggerSpec{Broker: "b", Subscriber: duckv1.Destination{URI: testURL("http://sink.example.com")}}
		}},
		{name: "valid: every dialect", mutate: filters(
			SubscriptionsAPIFilter{Prefix: map[string]string{"type": "com.example."}},
			SubscriptionsAPIFilter{Suffix: map[string]string{"source": "/prod"}},
			SubscriptionsAPIFilter{All: []SubscriptionsAPIFilter{exact("type", "a"), exact("subject", "b")}},
			SubscriptionsAPIFilter{Any: []SubscriptionsAPIFilter{exact("type", "a"), {CESQL: "ttl < 3"}}},
			SubscriptionsAPIFilter{Not: &SubscriptionsAPIFilter{Exact: map[string]string{"myext1": "x"}}},
			SubscriptionsAPIFilter{CESQL: "type = 'dev.knative' AND ttl < 3"},
		)},
		{name: "valid: delivery order ordered", mutate: func(tr *Trigger) {
			tr.Annotations = map[string]string{DeliveryOrderAnnotation: DeliveryOrderOrdered}
		}},
		{name: "valid: delivery order unordered", mutate: func(tr *Trigger) {
			tr.Annotations = map[string]string{DeliveryOrderAnnotation: DeliveryOrderUnordered}
		}},
		{name: "missing name", mutate: func(tr *Trigger) { tr.Name = "" }, want: []string{"metadata.name"}},
		{name: "missing broker", mutate: func(tr *Trigger) { tr.Spec.Broker = "" }, want: []string{"spec.broker"}},
		{name: "legacy filter: attribute starts with a digit", mutate: func(tr *Trigger) {
			tr.Spec.Filter.Attributes["0type"] = "x"
		}, want: []string{"spec.filter.attributes[0type]"}},
		{name: "legacy filter: uppercase attribute", mutate: func(tr *Trigger) {
			tr.Spec.Filter.Attributes["Type"] = "x"
		}, want: []string{"spec.filter.attributes[Type]"}},
		{name: "legacy filter: dash in attribute", mutate: func(tr *Trigger) {
			tr.Spec.Filter.Attributes["my-ext"] = "x"
		}, want: []string{"spec.filter.attributes[my-ext]"}},
		{name: "filters: two dialects", mutate: filters(SubscriptionsAPIFilter{
			Exact: map[string]string{"type": "a"}, Suffix: map[string]string{"type": "a"},
		}), want: []string{"spec.filters[0].exact", "spec.filters[0].suffix"}},
		{name: "filters: no dialect", mutate: filters(exact("type", "a"), SubscriptionsAPIFilter{}),
			want: emptyDialect("spec.filters[1]")},
		{name: "filters: empty exact map counts as unset", mutate: filters(SubscriptionsAPIFilter{Exact: map[string]string{}}),
			want: emptyDialect("spec.filters[0]")},
		{name: "filters: exact with two attributes", mutate: filters(SubscriptionsAPIFilter{
			Exact: map[string]string{"type": "a", "source": "b"},
		}), want: []string{"spec.filters[0].exact"}},
		{name: "filters: exact with invalid name", mutate: filters(exact("Type", "a")),
			want: []string{"spec.filters[0].exact[Type]"}},
		{name: "filters: exact with empty value", mutate: filters(exact("type", "")),
			want: []string{"spec.filters[0].exact[type]"}},
		{name: "filters: prefix with two attributes", mutate: filters(SubscriptionsAPIFilter{
			Prefix: map[string]string{"type": "a", "source": "b"},
		}), want: []string{"spec.filters[0].prefix"}},
		{name: "filters: prefix with empty value", mutate: filters(SubscriptionsAPIFilter{Prefix: map[string]string{"type": ""}}),
			want: []string{"spec.filters[0].prefix[type]"}},
		{name: "filters: suffix with empty value", mutate: filters(SubscriptionsAPIFilter{Suffix: map[string]string{"source": ""}}),
			want: []string{"spec.filters[0].suffix[source]"}},
		{name: "filters: suffix with invalid name", mutate: filters(SubscriptionsAPIFilter{Suffix: map[string]string{"9x": "a"}}),
			want: []string{"spec.filters[0].suffix[9x]"}},
		{name: "filters: all recurses", mutate: filters(exact("type", "a"), SubscriptionsAPIFilter{
			All: []SubscriptionsAPIFilter{exact("type", "a"), {Prefix: map[string]string{"Bad": "x"}}},
		}), want: []string{"spec.filters[1].all[1].prefix[Bad]"}},
		{name: "filters: empty all", mutate: filters(SubscriptionsAPIFilter{All: []SubscriptionsAPIFilter{}}),
			want: emptyDialect("spec.filters[0]")},
		{name: "filters: any recurses", mutate: filters(SubscriptionsAPIFilter{
			Any: []SubscriptionsAPIFilter{{Exact: map[string]string{"a": "1", "b": "2"}}},
		}), want: []string{"spec.filters[0].any[0].exact"}},
		{name: "filters: not recurses", mutate: filters(SubscriptionsAPIFilter{
			Not: &SubscriptionsAPIFilter{Suffix: map[string]string{"subject": ""}},
		}), want: []string{"spec.filters[0].not.suffix[subject]"}},
		{name: "filters: empty not", mutate: filters(SubscriptionsAPIFilter{Not: &SubscriptionsAPIFilter{}}),
			want: emptyDialect("spec.filters[0].not")},
		{name: "filters: nested all in not in any", mutate: filters(SubscriptionsAPIFilter{
			Any: []SubscriptionsAPIFilter{{Not: &SubscriptionsAPIFilter{All: []SubscriptionsAPIFilter{{CESQL: "type ="}}}}},
		}), want: []string{"spec.filters[0].any[0].not.all[0].cesql"}},
		{name: "filters: cesql syntax error", mutate: filters(SubscriptionsAPIFilter{CESQL: "this is wrong"}),
			want: []string{"spec.filters[0].cesql"}},
		{name: "filters: cesql plus exact", mutate: filters(SubscriptionsAPIFilter{
			CESQL: "ttl < 3", Exact: map[string]string{"type": "a"},
		}), want: []string{"spec.filters[0].cesql", "spec.filters[0].exact"}},
		{name: "subscriber missing", mutate: func(tr *Trigger) { tr.Spec.Subscriber = duckv1.Destination{} },
			want: []string{"spec.subscriber.ref", "spec.subscriber.uri"}},
		{name: "subscriber ref without name", mutate: func(tr *Trigger) { tr.Spec.Subscriber.Ref.Name = "" },
			want: []string{"spec.subscriber.ref.name"}},
		{name: "subscriber relative URI without ref", mutate: func(tr *Trigger) {
			tr.Spec.Subscriber = duckv1.Destination{URI: testURL("/path")}
		}, want: []string{"spec.subscriber.uri"}},
		{name: "delivery backoff delay invalid", mutate: func(tr *Trigger) { tr.Spec.Delivery.BackoffDelay = pointerTo("soon") },
			want: []string{"spec.delivery.backoffDelay"}},
		{name: "delivery dead letter sink invalid", mutate: func(tr *Trigger) {
			tr.Spec.Delivery.DeadLetterSink = &duckv1.Destination{}
		}, want: []string{"spec.delivery.deadLetterSink.ref", "spec.delivery.deadLetterSink.uri"}},
		{name: "delivery order wrong case", mutate: func(tr *Trigger) {
			tr.Annotations = map[string]string{DeliveryOrderAnnotation: "Ordered"}
		}, want: []string{"metadata.annotations[kafka.eventing.knative.dev/delivery.order]"}},
		{name: "delivery order empty", mutate: func(tr *Trigger) {
			tr.Annotations = map[string]string{DeliveryOrderAnnotation: ""}
		}, want: []string{"metadata.annotations[kafka.eventing.knative.dev/delivery.order]"}},
		{name: "every error is reported", mutate: func(tr *Trigger) {
			tr.Name = ""
			tr.Spec.Broker = ""
			tr.Spec.Filter.Attributes["X"] = ""
			tr.Spec.Filters = []SubscriptionsAPIFilter{{}, exact("type", "")}
			tr.Spec.Subscriber = duckv1.Destination{}
			tr.Spec.Delivery.Retry = pointerTo(int32(-1))
			tr.Annotations = map[string]string{DeliveryOrderAnnotation: "fifo"}
		}, want: append(emptyDialect("spec.filters[0]"),
			"metadata.name", "spec.broker", "spec.filter.attributes[X]", "spec.filters[1].exact[type]",
			"spec.subscriber.ref", "spec.subscriber.uri", "spec.delivery.retry",
			"metadata.annotations[kafka.eventing.knative.dev/delivery.order]")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := validTrigger()
			tc.mutate(tr)
			checkPaths(t, tr.Validate(context.Background()), tc.want...)
		})
	}
}

func TestTriggerValidateNil(t *testing.T) {
	t.Parallel()
	var tr *Trigger
	if err := tr.Validate(context.Background()); err != nil {
		t.Fatalf("nil trigger: %v", err)
	}
}
