package eventing

import (
	"context"

	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// Validate checks a Broker, mirroring Knative's Broker validation (eventing/v1), and
// returns every problem with its field path, or nil. Catalyst-specific: the class
// annotation must be "Kafka", the only class Catalyst runs (Knative only requires it
// to be set; a missing one would be defaulted to MTChannelBasedBroker there, so it is
// an error here), spec.config must name a v1 ConfigMap, and metadata.name is
// required. As in Knative, refs may point into other namespaces (the config map
// usually lives in knative-eventing). A nil Broker has nothing to check.
func (b *Broker) Validate(ctx context.Context) *apis.FieldError {
	if b == nil {
		return nil
	}
	ctx = apis.AllowDifferentNamespace(apis.WithinParent(ctx, b.ObjectMeta))
	var errs *apis.FieldError
	if b.Name == "" {
		errs = apis.ErrMissingField("metadata.name")
	}
	switch class := b.Annotations[BrokerClassAnnotation]; class {
	case KafkaBrokerClass:
	case "":
		errs = errs.Also(apis.ErrMissingField(annotationPath(BrokerClassAnnotation)))
	default:
		errs = errs.Also(apis.ErrInvalidValue(class, annotationPath(BrokerClassAnnotation),
			`Catalyst runs only the "`+KafkaBrokerClass+`" broker class`))
	}
	spec := validateBrokerConfig(ctx, b.Spec.Config).ViaField("config").
		Also(b.Spec.Delivery.Validate(ctx).ViaField("delivery"))
	return errs.Also(spec.ViaField("spec"))
}

// validateBrokerConfig checks spec.config: Knative's KReference rules (name, kind and
// apiVersion present), and, for the Kafka class, a core v1 ConfigMap.
func validateBrokerConfig(ctx context.Context, ref *duckv1.KReference) *apis.FieldError {
	if ref == nil {
		return nil
	}
	errs := ref.Validate(ctx)
	if ref.Kind != "" && ref.Kind != "ConfigMap" {
		errs = errs.Also(apis.ErrInvalidValue(ref.Kind, "kind", "must be ConfigMap"))
	}
	if ref.APIVersion != "" && ref.APIVersion != "v1" {
		errs = errs.Also(apis.ErrInvalidValue(ref.APIVersion, "apiVersion", "must be v1"))
	}
	return errs
}
