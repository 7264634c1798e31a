package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Service is the part of a serving.knative.dev/v1 Service the runtime reads. The full
// type (and Knative's own Validate) is used only in tests, keeping knative.dev/serving
// out of the binary.
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ServiceSpec `json:"spec,omitempty"`
}

// ServiceSpec holds the revision template.
type ServiceSpec struct {
	Template RevisionTemplate `json:"template"`
}

// RevisionTemplate holds the pod's annotations (autoscaling) and containers.
type RevisionTemplate struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RevisionSpec `json:"spec"`
}

// RevisionSpec lists the containers; Catalyst Services have exactly one.
type RevisionSpec struct {
	Containers []corev1.Container `json:"containers"`
}

// FunctionName returns the registered function a Catalyst Service runs: its single
// container's arguments are ["function", NAME].
func (s *Service) FunctionName() (string, error) {
	cs := s.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		return "", fmt.Errorf("service %s/%s: want exactly one container, have %d", s.Namespace, s.Name, len(cs))
	}
	args := cs[0].Args
	if len(args) != 2 || args[0] != "function" {
		return "", fmt.Errorf("service %s/%s: container args must be [function NAME], have %q", s.Namespace, s.Name, args)
	}
	return args[1], nil
}

// ConfigMap is a v1 ConfigMap (the broker's Kafka settings).
type ConfigMap struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Data              map[string]string `json:"data,omitempty"`
}
