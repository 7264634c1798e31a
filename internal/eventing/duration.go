package eventing

import (
	"fmt"
	"math"
	"time"

	"github.com/rickb777/date/period"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// DefaultBackoffDelay is the base backoff when a delivery spec sets retries but no
// backoffDelay. It is the Kafka broker's default (BROKER_DEFAULT_BACKOFF_DELAY_MS=1000
// in its controller); Knative's core dispatcher would not wait at all.
const DefaultBackoffDelay = time.Second

// maxDuration is the largest time.Duration; backoffs saturate here instead of wrapping.
const maxDuration = time.Duration(math.MaxInt64)

// ParseISODuration parses an ISO-8601 duration ("PT10S", "P1DT2H", "-PT0.5S") with
// the same parser Knative uses (rickb777/date/period), so Catalyst accepts exactly the
// strings Knative accepts. Years, months and days are approximated the way Knative
// converts them (a day is 24h, a year 365.2425 days); periods too long for a
// time.Duration (about 292 years) are an error rather than a wrapped value.
func ParseISODuration(s string) (time.Duration, error) {
	p, err := period.Parse(s)
	if err != nil {
		return 0, err
	}
	// Period.Duration multiplies in int64 nanoseconds without an overflow check, so
	// estimate in float64 first (float32 fields lose far less than the margin here).
	secs := float64(p.YearsFloat())*365.2425*86400 +
		float64(p.MonthsFloat())*365.2425/12*86400 +
		float64(p.DaysFloat())*86400 +
		float64(p.HoursFloat())*3600 +
		float64(p.MinutesFloat())*60 +
		float64(p.SecondsFloat())
	if math.Abs(secs) >= maxDuration.Seconds()*0.99 {
		return 0, fmt.Errorf("%s: duration out of range", s)
	}
	d, _ := p.Duration()
	return d, nil
}

// RetryCount is how many times a failed delivery is retried after the first attempt:
// spec.retry, or 0 when the spec or the field is unset (Knative's default: no retries).
func (d *DeliverySpec) RetryCount() int {
	if d == nil || d.Retry == nil || *d.Retry < 0 {
		return 0
	}
	return int(*d.Retry)
}

// Backoff is the wait before retry number attempt (1 for the first retry). It follows
// the Kafka broker's data plane, which Catalyst stands in for: exponential (the
// default) waits delay*2^attempt, linear waits delay*attempt, with delay defaulting to
// DefaultBackoffDelay. Knative's core dispatcher counts from 0 instead (its first
// exponential retry waits delay, its first linear retry does not wait); the Kafka
// numbering is kept so a Kafka-broker manifest behaves the same here. attempt < 1
// yields 0; results saturate instead of overflowing.
func (d *DeliverySpec) Backoff(attempt int) time.Duration {
	if attempt < 1 {
		return 0
	}
	delay := DefaultBackoffDelay
	linear := false
	if d != nil {
		if d.BackoffDelay != nil {
			// An unparsable delay (only possible on an unvalidated spec) keeps the default.
			if v, err := ParseISODuration(*d.BackoffDelay); err == nil {
				delay = max(v, 0)
			}
		}
		linear = d.BackoffPolicy != nil && *d.BackoffPolicy == BackoffPolicyLinear
	}
	if delay == 0 {
		return 0
	}
	var factor float64
	if linear {
		factor = float64(attempt)
	} else {
		factor = math.Exp2(float64(attempt))
	}
	if float64(delay)*factor >= float64(maxDuration) {
		return maxDuration
	}
	return time.Duration(float64(delay) * factor)
}

// AttemptTimeout is the timeout of each delivery attempt, or 0 when unset (the caller
// picks its own default; the Kafka data plane uses 10 minutes). An unparsable or
// non-positive value, possible only on an unvalidated spec, also yields 0.
func (d *DeliverySpec) AttemptTimeout() time.Duration {
	if d == nil || d.Timeout == nil {
		return 0
	}
	v, err := ParseISODuration(*d.Timeout)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// MergeDelivery combines a broker's default delivery spec with a trigger's, field by
// field, the trigger's fields winning: what the Kafka broker does (MergeEgressConfig
// in its controller), not a wholesale replacement. Unset means a nil pointer here,
// where the Kafka controller treats zero as unset and fills defaults first, so:
// a trigger's retry: 0 does turn off the broker's retries; a trigger that sets
// retry but no backoffDelay keeps the broker's delay (Kafka substitutes 1s); and a
// trigger without backoffPolicy keeps the broker's (Kafka substitutes exponential).
// The result shares nothing with its inputs; it is nil only when both are nil.
func MergeDelivery(brokerDefault, override *DeliverySpec) *DeliverySpec {
	if brokerDefault == nil && override == nil {
		return nil
	}
	b, o := brokerDefault, override
	if b == nil {
		b = &DeliverySpec{}
	}
	if o == nil {
		o = &DeliverySpec{}
	}
	return &DeliverySpec{
		DeadLetterSink: firstDestination(o.DeadLetterSink, b.DeadLetterSink),
		Retry:          firstSet(o.Retry, b.Retry),
		Timeout:        firstSet(o.Timeout, b.Timeout),
		BackoffPolicy:  firstSet(o.BackoffPolicy, b.BackoffPolicy),
		BackoffDelay:   firstSet(o.BackoffDelay, b.BackoffDelay),
		RetryAfterMax:  firstSet(o.RetryAfterMax, b.RetryAfterMax),
	}
}

// firstDestination deep-copies the first non-nil destination, or returns nil.
func firstDestination(ds ...*duckv1.Destination) *duckv1.Destination {
	for _, d := range ds {
		if d != nil {
			return d.DeepCopy()
		}
	}
	return nil
}

// firstSet returns a fresh copy of the first non-nil pointer's value, or nil.
func firstSet[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			v := *p
			return &v
		}
	}
	return nil
}
