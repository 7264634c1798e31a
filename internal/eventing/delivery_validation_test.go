package eventing

import (
	"context"
	"slices"
	"strings"
	"testing"

	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// Helpers shared by the *_validation_test.go files.

func pointerTo[T any](v T) *T { return &v }

// testURL parses a literal URL; the literals are fixed, so a failure is a test bug.
func testURL(s string) *apis.URL {
	u, err := apis.ParseURL(s)
	if err != nil {
		panic(err)
	}
	return u
}

// serviceDest is a valid destination: a Knative Service ref.
func serviceDest(name string) *duckv1.Destination {
	return &duckv1.Destination{Ref: &duckv1.KReference{Kind: "Service", APIVersion: "serving.knative.dev/v1", Name: name}}
}

// fieldPaths flattens a FieldError into its sorted, de-duplicated paths.
func fieldPaths(fe *apis.FieldError) []string {
	var ps []string
	for _, e := range fe.WrappedErrors() {
		ps = append(ps, e.Paths...)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// checkPaths fails unless got reports exactly the want paths; no want means valid.
func checkPaths(t *testing.T, got *apis.FieldError, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if got != nil {
			t.Fatalf("want valid, got:\n%v", got)
		}
		return
	}
	if got == nil {
		t.Fatalf("want errors at %q, got none", want)
	}
	want = slices.Clone(want)
	slices.Sort(want)
	if g := fieldPaths(got); !slices.Equal(g, want) {
		t.Fatalf("paths = %q, want %q; errors:\n%v", g, want, got)
	}
}

func validDelivery() *DeliverySpec {
	return &DeliverySpec{
		DeadLetterSink: serviceDest("dls"),
		Retry:          pointerTo(int32(3)),
		Timeout:        pointerTo("PT10S"),
		BackoffPolicy:  pointerTo(BackoffPolicyLinear),
		BackoffDelay:   pointerTo("PT0.5S"),
		RetryAfterMax:  pointerTo("PT0S"),
	}
}

func TestDeliverySpecValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*DeliverySpec)
		want   []string
	}{
		{name: "valid", mutate: func(*DeliverySpec) {}},
		{name: "valid: empty spec", mutate: func(d *DeliverySpec) { *d = DeliverySpec{} }},
		{name: "valid: dead letter sink by URI", mutate: func(d *DeliverySpec) {
			d.DeadLetterSink = &duckv1.Destination{URI: testURL("http://dls.example.com/x")}
		}},
		{name: "valid: zero retries", mutate: func(d *DeliverySpec) { d.Retry = pointerTo(int32(0)) }},
		{name: "valid: exponential, days and weeks", mutate: func(d *DeliverySpec) {
			d.BackoffPolicy = pointerTo(BackoffPolicyExponential)
			d.BackoffDelay = pointerTo("P1W")
			d.Timeout = pointerTo("P1DT2H")
			d.RetryAfterMax = pointerTo("PT5M")
		}},
		{name: "dead letter sink without ref or uri", mutate: func(d *DeliverySpec) {
			d.DeadLetterSink = &duckv1.Destination{}
		}, want: []string{"deadLetterSink.ref", "deadLetterSink.uri"}},
		{name: "dead letter sink ref without name", mutate: func(d *DeliverySpec) {
			d.DeadLetterSink.Ref.Name = ""
		}, want: []string{"deadLetterSink.ref.name"}},
		{name: "negative retry", mutate: func(d *DeliverySpec) { d.Retry = pointerTo(int32(-1)) }, want: []string{"retry"}},
		{name: "timeout not ISO-8601", mutate: func(d *DeliverySpec) { d.Timeout = pointerTo("10s") }, want: []string{"timeout"}},
		{name: "timeout zero", mutate: func(d *DeliverySpec) { d.Timeout = pointerTo("PT0S") }, want: []string{"timeout"}},
		{name: "timeout negative", mutate: func(d *DeliverySpec) { d.Timeout = pointerTo("-PT1S") }, want: []string{"timeout"}},
		{name: "backoff policy unknown", mutate: func(d *DeliverySpec) {
			d.BackoffPolicy = pointerTo(BackoffPolicyType("quadratic"))
		}, want: []string{"backoffPolicy"}},
		{name: "backoff policy wrong case", mutate: func(d *DeliverySpec) {
			d.BackoffPolicy = pointerTo(BackoffPolicyType("Linear"))
		}, want: []string{"backoffPolicy"}},
		{name: "backoff delay not ISO-8601", mutate: func(d *DeliverySpec) { d.BackoffDelay = pointerTo("1s") }, want: []string{"backoffDelay"}},
		{name: "backoff delay zero", mutate: func(d *DeliverySpec) { d.BackoffDelay = pointerTo("PT0S") }, want: []string{"backoffDelay"}},
		{name: "backoff delay empty", mutate: func(d *DeliverySpec) { d.BackoffDelay = pointerTo("") }, want: []string{"backoffDelay"}},
		{name: "retry after max negative", mutate: func(d *DeliverySpec) { d.RetryAfterMax = pointerTo("-PT1M") }, want: []string{"retryAfterMax"}},
		{name: "retry after max not ISO-8601", mutate: func(d *DeliverySpec) { d.RetryAfterMax = pointerTo("PT") }, want: []string{"retryAfterMax"}},
		{name: "every error is reported", mutate: func(d *DeliverySpec) {
			*d = DeliverySpec{
				DeadLetterSink: &duckv1.Destination{URI: testURL("/relative")},
				Retry:          pointerTo(int32(-2)),
				Timeout:        pointerTo("x"),
				BackoffPolicy:  pointerTo(BackoffPolicyType("")),
				BackoffDelay:   pointerTo("-PT1S"),
				RetryAfterMax:  pointerTo("y"),
			}
		}, want: []string{"deadLetterSink.uri", "retry", "timeout", "backoffPolicy", "backoffDelay", "retryAfterMax"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := validDelivery()
			tc.mutate(d)
			checkPaths(t, d.Validate(context.Background()), tc.want...)
		})
	}
}

func TestDeliverySpecValidateNil(t *testing.T) {
	t.Parallel()
	var d *DeliverySpec
	if err := d.Validate(context.Background()); err != nil {
		t.Fatalf("nil spec: %v", err)
	}
}

func TestDeliverySpecValidateMessages(t *testing.T) {
	t.Parallel()
	// The details say why, so a manifest author can fix the value.
	d := &DeliverySpec{BackoffDelay: pointerTo("PT0S"), Timeout: pointerTo("soon")}
	got := d.Validate(context.Background()).Error()
	for _, want := range []string{"must be greater than zero", "not an ISO-8601 duration"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
}
