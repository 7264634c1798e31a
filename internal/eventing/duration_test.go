package eventing

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestParseISODuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "PT10S", want: 10 * time.Second},
		{in: "PT0.5S", want: 500 * time.Millisecond},
		{in: "PT1M30S", want: 90 * time.Second},
		{in: "PT2H", want: 2 * time.Hour},
		{in: "P1D", want: 24 * time.Hour},
		{in: "P1W", want: 7 * 24 * time.Hour},
		{in: "P1DT1H", want: 25 * time.Hour},
		{in: "PT3600S", want: time.Hour}, // beyond the parser's per-field range until normalised
		{in: "-PT1S", want: -time.Second},
		{in: "+PT1S", want: time.Second},
		{in: "PT0S", want: 0},
		{in: "P0", want: 0},
		{in: "P1Y", want: time.Duration(365.2425 * 24 * float64(time.Hour))},
		{in: "P200Y", want: time.Duration(200 * 365.2425 * 24 * float64(time.Hour))},
		{in: "P300Y", wantErr: true}, // over time.Duration's ~292 years
		{in: "", wantErr: true},
		{in: "10s", wantErr: true},
		{in: "P", wantErr: true},
		{in: "PT", wantErr: true},
		{in: "P1H", wantErr: true},  // hours need the T
		{in: "PT1D", wantErr: true}, // days must precede the T
		{in: "pt1s", wantErr: true},
		{in: "P1.5Y2.5M", wantErr: true}, // only one field may have a fraction
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseISODuration(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseISODuration(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseISODuration(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseISODuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzParseISODuration checks that parsing never panics or wraps around, and that a
// leading minus negates exactly.
func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT10S", "P1DT2H3M4.5S", "-P2W", "P3276Y", "PT3600S", "P0", "", "-", "P1.5Y2M", "PT-1S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISODuration(s)
		if err != nil {
			return
		}
		if d == minDuration() {
			t.Fatalf("ParseISODuration(%q) = %v: looks wrapped", s, d)
		}
		if !strings.HasPrefix(s, "P") || s == "P0" { // the parser special-cases "P0" only
			return
		}
		neg, err := ParseISODuration("-" + s)
		if err != nil {
			t.Fatalf("%q parses but %q does not: %v", s, "-"+s, err)
		}
		if neg != -d {
			t.Fatalf("ParseISODuration(%q) = %v, but ParseISODuration(%q) = %v", s, d, "-"+s, neg)
		}
		if d < 0 {
			t.Fatalf("ParseISODuration(%q) = %v: negative without a minus sign", s, d)
		}
	})
}

func minDuration() time.Duration { return -maxDuration - 1 }

func TestRetryCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec *DeliverySpec
		want int
	}{
		{name: "nil spec", spec: nil, want: 0},
		{name: "unset", spec: &DeliverySpec{}, want: 0},
		{name: "set", spec: &DeliverySpec{Retry: pointerTo(int32(5))}, want: 5},
		{name: "negative (unvalidated)", spec: &DeliverySpec{Retry: pointerTo(int32(-1))}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.spec.RetryCount(); got != tc.want {
				t.Fatalf("RetryCount() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	linear, exponential := pointerTo(BackoffPolicyLinear), pointerTo(BackoffPolicyExponential)
	tests := []struct {
		name string
		spec *DeliverySpec
		want map[int]time.Duration // attempt -> wait
	}{
		{name: "nil spec: exponential from 1s", spec: nil,
			want: map[int]time.Duration{-1: 0, 0: 0, 1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second}},
		{name: "exponential", spec: &DeliverySpec{BackoffPolicy: exponential, BackoffDelay: pointerTo("PT0.1S")},
			want: map[int]time.Duration{0: 0, 1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 5: 3200 * time.Millisecond}},
		{name: "policy unset means exponential", spec: &DeliverySpec{BackoffDelay: pointerTo("PT3S")},
			want: map[int]time.Duration{1: 6 * time.Second, 2: 12 * time.Second}},
		{name: "linear", spec: &DeliverySpec{BackoffPolicy: linear, BackoffDelay: pointerTo("PT2S")},
			want: map[int]time.Duration{0: 0, 1: 2 * time.Second, 2: 4 * time.Second, 3: 6 * time.Second}},
		{name: "linear with default delay", spec: &DeliverySpec{BackoffPolicy: linear},
			want: map[int]time.Duration{1: time.Second, 4: 4 * time.Second}},
		{name: "exponential saturates", spec: &DeliverySpec{BackoffDelay: pointerTo("PT1S")},
			want: map[int]time.Duration{62: maxDuration, 100: maxDuration, 10000: maxDuration}},
		{name: "linear saturates", spec: &DeliverySpec{BackoffPolicy: linear, BackoffDelay: pointerTo("P200Y")},
			want: map[int]time.Duration{2: maxDuration}},
		{name: "zero delay (unvalidated)", spec: &DeliverySpec{BackoffDelay: pointerTo("PT0S")},
			want: map[int]time.Duration{1: 0, 3: 0}},
		{name: "unparsable delay (unvalidated) keeps the default", spec: &DeliverySpec{BackoffPolicy: linear, BackoffDelay: pointerTo("2s")},
			want: map[int]time.Duration{2: 2 * DefaultBackoffDelay}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for attempt, want := range tc.want {
				if got := tc.spec.Backoff(attempt); got != want {
					t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
				}
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec *DeliverySpec
		want time.Duration
	}{
		{name: "nil spec", spec: nil, want: 0},
		{name: "unset", spec: &DeliverySpec{}, want: 0},
		{name: "set", spec: &DeliverySpec{Timeout: pointerTo("PT1.5S")}, want: 1500 * time.Millisecond},
		{name: "unparsable (unvalidated)", spec: &DeliverySpec{Timeout: pointerTo("5s")}, want: 0},
		{name: "negative (unvalidated)", spec: &DeliverySpec{Timeout: pointerTo("-PT5S")}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.spec.AttemptTimeout(); got != tc.want {
				t.Fatalf("AttemptTimeout() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMergeDelivery(t *testing.T) {
	t.Parallel()
	broker := func() *DeliverySpec {
		return &DeliverySpec{
			DeadLetterSink: serviceDest("broker-dls"),
			Retry:          pointerTo(int32(3)),
			Timeout:        pointerTo("PT5S"),
			BackoffPolicy:  pointerTo(BackoffPolicyLinear),
			BackoffDelay:   pointerTo("PT1S"),
			RetryAfterMax:  pointerTo("PT1M"),
		}
	}
	tests := []struct {
		name             string
		broker, override *DeliverySpec
		want             *DeliverySpec
	}{
		{name: "both nil", want: nil},
		{name: "broker only", broker: broker(), want: broker()},
		{name: "override only", override: broker(), want: broker()},
		{name: "empty override keeps the broker's", broker: broker(), override: &DeliverySpec{}, want: broker()},
		{name: "override wins field by field", broker: broker(),
			override: &DeliverySpec{
				DeadLetterSink: &duckv1.Destination{URI: testURL("http://trigger-dls.example.com")},
				Retry:          pointerTo(int32(0)), // explicit zero turns retries off
				BackoffDelay:   pointerTo("PT2S"),
			},
			want: &DeliverySpec{
				DeadLetterSink: &duckv1.Destination{URI: testURL("http://trigger-dls.example.com")},
				Retry:          pointerTo(int32(0)),
				Timeout:        pointerTo("PT5S"),
				BackoffPolicy:  pointerTo(BackoffPolicyLinear),
				BackoffDelay:   pointerTo("PT2S"),
				RetryAfterMax:  pointerTo("PT1M"),
			}},
		{name: "override of every field", broker: broker(),
			override: &DeliverySpec{
				DeadLetterSink: serviceDest("t"), Retry: pointerTo(int32(9)), Timeout: pointerTo("PT9S"),
				BackoffPolicy: pointerTo(BackoffPolicyExponential), BackoffDelay: pointerTo("PT9S"), RetryAfterMax: pointerTo("PT9S"),
			},
			want: &DeliverySpec{
				DeadLetterSink: serviceDest("t"), Retry: pointerTo(int32(9)), Timeout: pointerTo("PT9S"),
				BackoffPolicy: pointerTo(BackoffPolicyExponential), BackoffDelay: pointerTo("PT9S"), RetryAfterMax: pointerTo("PT9S"),
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := MergeDelivery(tc.broker, tc.override)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("MergeDelivery() = %s, want %s", describe(got), describe(tc.want))
			}
		})
	}
}

// TestMergeDeliveryDoesNotAlias guards the runtime against one trigger's merged spec
// being changed through the broker's (or another trigger's) spec.
func TestMergeDeliveryDoesNotAlias(t *testing.T) {
	t.Parallel()
	b := &DeliverySpec{DeadLetterSink: serviceDest("dls"), Retry: pointerTo(int32(3)), BackoffDelay: pointerTo("PT1S")}
	o := &DeliverySpec{Timeout: pointerTo("PT5S")}
	got := MergeDelivery(b, o)
	*got.Retry = 7
	got.DeadLetterSink.Ref.Name = "changed"
	*got.BackoffDelay = "PT9S"
	*got.Timeout = "PT9S"
	if *b.Retry != 3 || b.DeadLetterSink.Ref.Name != "dls" || *b.BackoffDelay != "PT1S" || *o.Timeout != "PT5S" {
		t.Fatalf("inputs changed through the merge: broker %s, override %s", describe(b), describe(o))
	}
}

// describe prints a spec's values rather than its pointers.
func describe(d *DeliverySpec) string {
	if d == nil {
		return "<nil>"
	}
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	var b strings.Builder
	if d.DeadLetterSink != nil {
		b.WriteString("dls=")
		if d.DeadLetterSink.Ref != nil {
			b.WriteString(d.DeadLetterSink.Ref.Name)
		}
		if d.DeadLetterSink.URI != nil {
			b.WriteString(d.DeadLetterSink.URI.String())
		}
		b.WriteString(" ")
	}
	if d.Retry != nil {
		b.WriteString("retry=" + strconv.Itoa(int(*d.Retry)) + " ")
	}
	if d.BackoffPolicy != nil {
		b.WriteString("policy=" + string(*d.BackoffPolicy) + " ")
	}
	b.WriteString("timeout=" + s(d.Timeout) + " delay=" + s(d.BackoffDelay) + " retryAfterMax=" + s(d.RetryAfterMax))
	return "{" + b.String() + "}"
}
