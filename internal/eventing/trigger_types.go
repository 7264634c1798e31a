package eventing

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// DeliveryOrderAnnotation is the Kafka broker's per-trigger ordering switch: "ordered"
// delivers one partition's events one at a time, in order; "unordered" (Knative's
// default) delivers them concurrently.
const DeliveryOrderAnnotation = "kafka.eventing.knative.dev/delivery.order"

// Trigger mirrors eventing.knative.dev/v1 Trigger.
type Trigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TriggerSpec `json:"spec,omitempty"`
}

// TriggerSpec mirrors the Trigger's spec.
type TriggerSpec struct {
	// Broker names the broker, in the trigger's namespace, the trigger reads from.
	Broker string `json:"broker,omitempty"`
	// Filter is the legacy filter: exact matches on attributes, all of which must hold.
	Filter *TriggerFilter `json:"filter,omitempty"`
	// Filters is the newer filter dialect (exact, prefix, suffix, all, any, not, cesql);
	// every entry must match. When set, Filter is ignored, as in Knative.
	Filters []SubscriptionsAPIFilter `json:"filters,omitempty"`
	// Subscriber is where matching events are delivered.
	Subscriber duckv1.Destination `json:"subscriber"`
	// Delivery overrides the broker's delivery spec.
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// TriggerFilter is the legacy attribute filter.
type TriggerFilter struct {
	Attributes TriggerFilterAttributes `json:"attributes,omitempty"`
}

// TriggerFilterAttributes maps an attribute name to the exact value it must have; an
// empty value matches any value of an attribute that is present ("any" in Knative).
type TriggerFilterAttributes map[string]string

// SubscriptionsAPIFilter is one expression of the spec.filters dialect. Exactly one
// field is set.
type SubscriptionsAPIFilter struct {
	All    []SubscriptionsAPIFilter `json:"all,omitempty"`
	Any    []SubscriptionsAPIFilter `json:"any,omitempty"`
	Not    *SubscriptionsAPIFilter  `json:"not,omitempty"`
	Exact  map[string]string        `json:"exact,omitempty"`
	Prefix map[string]string        `json:"prefix,omitempty"`
	Suffix map[string]string        `json:"suffix,omitempty"`
	CESQL  string                   `json:"cesql,omitempty"`
}
