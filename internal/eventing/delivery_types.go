package eventing

import duckv1 "knative.dev/pkg/apis/duck/v1"

// BackoffPolicyType is the backoff between retries: linear or exponential.
type BackoffPolicyType string

const (
	// BackoffPolicyLinear waits backoffDelay * n before retry n.
	BackoffPolicyLinear BackoffPolicyType = "linear"
	// BackoffPolicyExponential waits backoffDelay * 2^n before retry n.
	BackoffPolicyExponential BackoffPolicyType = "exponential"
)

// DeliverySpec mirrors eventing.knative.dev duck/v1 DeliverySpec.
type DeliverySpec struct {
	// DeadLetterSink receives an event that could not be delivered after the retries.
	DeadLetterSink *duckv1.Destination `json:"deadLetterSink,omitempty"`
	// Retry is the minimum number of retries after the first attempt.
	Retry *int32 `json:"retry,omitempty"`
	// Timeout is each attempt's timeout, an ISO-8601 duration.
	Timeout *string `json:"timeout,omitempty"`
	// BackoffPolicy is linear or exponential (the default).
	BackoffPolicy *BackoffPolicyType `json:"backoffPolicy,omitempty"`
	// BackoffDelay is the base delay between retries, an ISO-8601 duration.
	BackoffDelay *string `json:"backoffDelay,omitempty"`
	// RetryAfterMax caps how long a Retry-After header may make the sender wait.
	RetryAfterMax *string `json:"retryAfterMax,omitempty"`
}
