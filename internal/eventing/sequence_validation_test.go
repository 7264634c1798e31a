package eventing

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func validSequence() *Sequence {
	return &Sequence{
		ObjectMeta: metav1.ObjectMeta{Name: "seq", Namespace: "default"},
		Spec: SequenceSpec{
			Steps: []SequenceStep{
				{Destination: *serviceDest("first")},
				{Destination: duckv1.Destination{URI: testURL("http://second.example.com/")}, Delivery: validDelivery()},
			},
			ChannelTemplate: &ChannelTemplate{
				TypeMeta: metav1.TypeMeta{APIVersion: KafkaChannelAPIVersion, Kind: KafkaChannelKind},
				Spec:     &runtime.RawExtension{Raw: []byte(`{"numPartitions":3,"replicationFactor":1,"retentionDuration":"P7D"}`)},
			},
			Reply: serviceDest("reply"),
		},
	}
}

func TestSequenceValidate(t *testing.T) {
	t.Parallel()
	rawSpec := func(s string) func(*Sequence) {
		return func(q *Sequence) { q.Spec.ChannelTemplate.Spec = &runtime.RawExtension{Raw: []byte(s)} }
	}
	tests := []struct {
		name   string
		mutate func(*Sequence)
		want   []string
	}{
		{name: "valid", mutate: func(*Sequence) {}},
		{name: "valid: one step, no reply, template without spec", mutate: func(q *Sequence) {
			q.Spec.Steps = q.Spec.Steps[:1]
			q.Spec.Reply = nil
			q.Spec.ChannelTemplate.Spec = nil
		}},
		{name: "valid: template spec with defaults and unknown fields", mutate: rawSpec(`{"delivery":{}}`)},
		{name: "missing name", mutate: func(q *Sequence) { q.Name = "" }, want: []string{"metadata.name"}},
		{name: "no steps", mutate: func(q *Sequence) { q.Spec.Steps = nil }, want: []string{"spec.steps"}},
		{name: "step without destination", mutate: func(q *Sequence) { q.Spec.Steps[1].Destination = duckv1.Destination{} },
			want: []string{"spec.steps[1].ref", "spec.steps[1].uri"}},
		{name: "step ref without kind", mutate: func(q *Sequence) { q.Spec.Steps[0].Ref.Kind = "" },
			want: []string{"spec.steps[0].ref.kind"}},
		{name: "step delivery invalid", mutate: func(q *Sequence) {
			q.Spec.Steps[1].Delivery.BackoffPolicy = pointerTo(BackoffPolicyType("random"))
		}, want: []string{"spec.steps[1].delivery.backoffPolicy"}},
		{name: "missing channel template", mutate: func(q *Sequence) { q.Spec.ChannelTemplate = nil },
			want: []string{"spec.channelTemplate"}},
		{name: "channel template not KafkaChannel", mutate: func(q *Sequence) { q.Spec.ChannelTemplate.Kind = "InMemoryChannel" },
			want: []string{"spec.channelTemplate.kind"}},
		{name: "channel template wrong apiVersion", mutate: func(q *Sequence) {
			q.Spec.ChannelTemplate.APIVersion = "messaging.knative.dev/v1"
		}, want: []string{"spec.channelTemplate.apiVersion"}},
		{name: "channel template empty", mutate: func(q *Sequence) { q.Spec.ChannelTemplate = &ChannelTemplate{} },
			want: []string{"spec.channelTemplate.apiVersion", "spec.channelTemplate.kind"}},
		{name: "channel template spec not an object", mutate: rawSpec(`[1]`),
			want: []string{"spec.channelTemplate.spec"}},
		{name: "channel template negative partitions", mutate: rawSpec(`{"numPartitions":-1}`),
			want: []string{"spec.channelTemplate.spec.numPartitions"}},
		{name: "channel template negative replication", mutate: rawSpec(`{"replicationFactor":-3}`),
			want: []string{"spec.channelTemplate.spec.replicationFactor"}},
		{name: "channel template bad retention", mutate: rawSpec(`{"retentionDuration":"7d"}`),
			want: []string{"spec.channelTemplate.spec.retentionDuration"}},
		{name: "reply relative URI", mutate: func(q *Sequence) { q.Spec.Reply = &duckv1.Destination{URI: testURL("/reply")} },
			want: []string{"spec.reply.uri"}},
		{name: "every error is reported", mutate: func(q *Sequence) {
			q.Spec.Steps[0].Destination = duckv1.Destination{}
			q.Spec.Steps[1].Delivery.Retry = pointerTo(int32(-1))
			q.Spec.ChannelTemplate.Kind = "InMemoryChannel"
			q.Spec.Reply = &duckv1.Destination{}
		}, want: []string{"spec.steps[0].ref", "spec.steps[0].uri", "spec.steps[1].delivery.retry",
			"spec.channelTemplate.kind", "spec.reply.ref", "spec.reply.uri"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := validSequence()
			tc.mutate(q)
			checkPaths(t, q.Validate(context.Background()), tc.want...)
		})
	}
}

func TestSequenceValidateNil(t *testing.T) {
	t.Parallel()
	var q *Sequence
	if err := q.Validate(context.Background()); err != nil {
		t.Fatalf("nil sequence: %v", err)
	}
}
