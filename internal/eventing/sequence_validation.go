package eventing

import (
	"context"
	"encoding/json"

	"knative.dev/pkg/apis"
)

// The only channel kind Catalyst carries sequence events on.
const (
	KafkaChannelAPIVersion = "messaging.knative.dev/v1beta1"
	KafkaChannelKind       = "KafkaChannel"
)

// Validate checks a Sequence, mirroring Knative's Sequence validation (flows/v1), and
// returns every problem with its field path, or nil. Differences from Knative:
//   - a bad step reports its actual errors under spec.steps[i] (e.g.
//     spec.steps[1].ref.name); Knative reports one "invalid value" at spec.steps[i]
//     with the whole step printed as a Go struct;
//   - channelTemplate must be a messaging.knative.dev/v1beta1 KafkaChannel (Knative
//     accepts any kind), and its spec, when given, must decode as a KafkaChannel spec
//     with non-negative sizes and an ISO-8601 retention;
//   - metadata.name is required.
//
// A nil Sequence has nothing to check.
func (s *Sequence) Validate(ctx context.Context) *apis.FieldError {
	if s == nil {
		return nil
	}
	var errs *apis.FieldError
	if s.Name == "" {
		errs = apis.ErrMissingField("metadata.name")
	}
	return errs.Also(s.Spec.validate(ctx).ViaField("spec"))
}

func (ss *SequenceSpec) validate(ctx context.Context) *apis.FieldError {
	var errs *apis.FieldError
	if len(ss.Steps) == 0 {
		errs = apis.ErrMissingField("steps")
	}
	for i := range ss.Steps {
		step := &ss.Steps[i]
		stepErrs := step.Destination.Validate(ctx).Also(step.Delivery.Validate(ctx).ViaField("delivery"))
		errs = errs.Also(stepErrs.ViaFieldIndex("steps", i))
	}
	if ss.ChannelTemplate == nil {
		errs = errs.Also(apis.ErrMissingField("channelTemplate"))
	} else {
		errs = errs.Also(validateChannelTemplate(ss.ChannelTemplate).ViaField("channelTemplate"))
	}
	return errs.Also(ss.Reply.Validate(ctx).ViaField("reply"))
}

func validateChannelTemplate(ct *ChannelTemplate) *apis.FieldError {
	var errs *apis.FieldError
	switch ct.APIVersion {
	case KafkaChannelAPIVersion:
	case "":
		errs = apis.ErrMissingField("apiVersion")
	default:
		errs = apis.ErrInvalidValue(ct.APIVersion, "apiVersion", "must be "+KafkaChannelAPIVersion)
	}
	switch ct.Kind {
	case KafkaChannelKind:
	case "":
		errs = errs.Also(apis.ErrMissingField("kind"))
	default:
		errs = errs.Also(apis.ErrInvalidValue(ct.Kind, "kind", "Catalyst carries sequence events only on "+KafkaChannelKind))
	}
	if ct.Spec == nil || len(ct.Spec.Raw) == 0 {
		return errs
	}
	// Zero sizes and an empty retention mean "use the default", as in KafkaChannel.
	var spec KafkaChannelSpec
	if err := json.Unmarshal(ct.Spec.Raw, &spec); err != nil {
		return errs.Also(apis.ErrGeneric("not a KafkaChannel spec: "+err.Error(), "spec"))
	}
	if spec.NumPartitions < 0 {
		errs = errs.Also(apis.ErrInvalidValue(spec.NumPartitions, "spec.numPartitions", "must not be negative"))
	}
	if spec.ReplicationFactor < 0 {
		errs = errs.Also(apis.ErrInvalidValue(spec.ReplicationFactor, "spec.replicationFactor", "must not be negative"))
	}
	if spec.RetentionDuration != "" {
		errs = errs.Also(validateDuration(spec.RetentionDuration, "spec.retentionDuration", false))
	}
	return errs
}
