package eventing

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const (
	// BrokerClassAnnotation selects the broker implementation.
	BrokerClassAnnotation = "eventing.knative.dev/broker.class"
	// KafkaBrokerClass is the only class Catalyst runs.
	KafkaBrokerClass = "Kafka"
)

// Broker mirrors eventing.knative.dev/v1 Broker.
type Broker struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              BrokerSpec `json:"spec,omitempty"`
}

// BrokerSpec mirrors the Broker's spec.
type BrokerSpec struct {
	// Config references the ConfigMap with the Kafka topic settings.
	Config *duckv1.KReference `json:"config,omitempty"`
	// Delivery is the default delivery spec for the broker's triggers.
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}
