package eventing

import (
	"context"

	"knative.dev/pkg/apis"
)

// Values of DeliveryOrderAnnotation.
const (
	DeliveryOrderOrdered   = "ordered"
	DeliveryOrderUnordered = "unordered"
)

// Validate checks a Trigger, mirroring Knative's Trigger validation (eventing/v1) and
// the Kafka broker's delivery-order annotation, and returns every problem with its
// field path, or nil. Beyond Knative: metadata.name is required (no API server
// enforces it here), and spec.filters is always validated (Knative skips it when the
// new-trigger-filters feature is off). Knative's dependency and injection annotations
// and its immutable-broker update check are not mirrored: Catalyst has no use for the
// annotations and no update path. A nil Trigger has nothing to check.
func (t *Trigger) Validate(ctx context.Context) *apis.FieldError {
	if t == nil {
		return nil
	}
	var errs *apis.FieldError
	if t.Name == "" {
		errs = apis.ErrMissingField("metadata.name")
	}
	if v, ok := t.Annotations[DeliveryOrderAnnotation]; ok && v != DeliveryOrderOrdered && v != DeliveryOrderUnordered {
		// The Kafka controller also accepts other letter cases; Catalyst's consumer
		// compares exactly, so only the canonical spellings pass.
		errs = errs.Also(apis.ErrInvalidValue(v, annotationPath(DeliveryOrderAnnotation),
			`must be "`+DeliveryOrderOrdered+`" or "`+DeliveryOrderUnordered+`"`))
	}
	return errs.Also(t.Spec.validate(apis.WithinSpec(ctx)).ViaField("spec"))
}

func (ts *TriggerSpec) validate(ctx context.Context) *apis.FieldError {
	var errs *apis.FieldError
	if ts.Broker == "" {
		errs = apis.ErrMissingField("broker")
	}
	if ts.Filter != nil {
		errs = errs.Also(validateAttributeNames(ts.Filter.Attributes).ViaField("attributes").ViaField("filter"))
	}
	return errs.Also(
		validateFilters(ctx, ts.Filters).ViaField("filters"),
		ts.Subscriber.Validate(ctx).ViaField("subscriber"),
		ts.Delivery.Validate(ctx).ViaField("delivery"),
	)
}

// annotationPath is Knative's path form for an annotation, keeping the key's dots.
func annotationPath(key string) string { return "metadata.annotations[" + key + "]" }
