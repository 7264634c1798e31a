package eventing

import (
	"context"

	"knative.dev/pkg/apis"
)

// Validate checks a delivery spec the way Knative's duck/v1 DeliverySpec.Validate
// does, a little stricter where Knative's leniency would only surprise at runtime:
//   - deadLetterSink, when set, is a valid destination;
//   - retry is not negative;
//   - timeout and backoffDelay are ISO-8601 durations greater than zero (Knative only
//     rejects a zero timeout and only parses backoffDelay; a negative or zero delay
//     has no sensible meaning);
//   - retryAfterMax is an ISO-8601 duration that is not negative: "PT0S" stays valid
//     because Knative documents it as the opt-out from honouring Retry-After;
//   - backoffPolicy is linear or exponential.
//
// Knative gates timeout and retryAfterMax behind feature flags (delivery-timeout,
// delivery-retryafter); Catalyst always accepts them.
func (d *DeliverySpec) Validate(ctx context.Context) *apis.FieldError {
	if d == nil {
		return nil
	}
	errs := d.DeadLetterSink.Validate(ctx).ViaField("deadLetterSink")
	if d.Retry != nil && *d.Retry < 0 {
		errs = errs.Also(apis.ErrInvalidValue(*d.Retry, "retry", "must not be negative"))
	}
	if d.Timeout != nil {
		errs = errs.Also(validateDuration(*d.Timeout, "timeout", false))
	}
	if d.BackoffPolicy != nil {
		switch *d.BackoffPolicy {
		case BackoffPolicyLinear, BackoffPolicyExponential:
		default:
			errs = errs.Also(apis.ErrInvalidValue(*d.BackoffPolicy, "backoffPolicy",
				`must be "linear" or "exponential"`))
		}
	}
	if d.BackoffDelay != nil {
		errs = errs.Also(validateDuration(*d.BackoffDelay, "backoffDelay", false))
	}
	if d.RetryAfterMax != nil {
		errs = errs.Also(validateDuration(*d.RetryAfterMax, "retryAfterMax", true))
	}
	return errs
}

// validateDuration reports s at field unless it is an ISO-8601 duration greater than
// zero (or equal to zero, with allowZero).
func validateDuration(s, field string, allowZero bool) *apis.FieldError {
	v, err := ParseISODuration(s)
	switch {
	case err != nil:
		return apis.ErrInvalidValue(s, field, "not an ISO-8601 duration: "+err.Error())
	case v < 0 || (v == 0 && !allowZero):
		if allowZero {
			return apis.ErrInvalidValue(s, field, "must not be negative")
		}
		return apis.ErrInvalidValue(s, field, "must be greater than zero")
	}
	return nil
}
