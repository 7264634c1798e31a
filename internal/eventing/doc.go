// Package eventing holds the Knative Eventing API types Catalyst's manifests use
// (eventing.knative.dev/v1 Broker and Trigger, flows.knative.dev/v1 Sequence, and the
// DeliverySpec they share), with Knative's field names, and their validation. Knative's
// own eventing module is not a dependency: these mirror its published API, and
// validation reports every error with its field path through knative.dev/pkg/apis.
package eventing
