package eventing

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// Sequence mirrors flows.knative.dev/v1 Sequence: an event walks its steps in order,
// each step's reply feeding the next; the last reply goes to Reply.
type Sequence struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              SequenceSpec `json:"spec,omitempty"`
}

// SequenceSpec mirrors the Sequence's spec.
type SequenceSpec struct {
	Steps           []SequenceStep      `json:"steps"`
	ChannelTemplate *ChannelTemplate    `json:"channelTemplate,omitempty"`
	Reply           *duckv1.Destination `json:"reply,omitempty"`
}

// SequenceStep is a destination plus its own delivery spec.
type SequenceStep struct {
	duckv1.Destination `json:",inline"`
	Delivery           *DeliverySpec `json:"delivery,omitempty"`
}

// ChannelTemplate says which channel kind carries events between steps; Catalyst
// requires KafkaChannel (messaging.knative.dev/v1beta1).
type ChannelTemplate struct {
	metav1.TypeMeta `json:",inline"`
	Spec            *runtime.RawExtension `json:"spec,omitempty"`
}

// KafkaChannelSpec is the part of a KafkaChannel template's spec Catalyst reads.
type KafkaChannelSpec struct {
	NumPartitions     int32  `json:"numPartitions,omitempty"`
	ReplicationFactor int16  `json:"replicationFactor,omitempty"`
	RetentionDuration string `json:"retentionDuration,omitempty"`
}

// KafkaChannel decodes the template's spec (numPartitions, replicationFactor).
func (c *ChannelTemplate) KafkaChannel() (KafkaChannelSpec, error) {
	var s KafkaChannelSpec
	if c == nil || c.Spec == nil || len(c.Spec.Raw) == 0 {
		return s, nil
	}
	err := json.Unmarshal(c.Spec.Raw, &s)
	return s, err
}
