package manifest_test

// knative.dev/serving is imported here, in a test, only: the binary reads Services
// through manifest.Service and never links Knative Serving.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/manifest"
)

// decodeKnativeService reads a knative/ file as Knative's own type, strictly (the API
// server's strict field validation would reject an unknown field too), and resolves
// the ko:// image as `ko apply` does before the webhook ever sees it.
func decodeKnativeService(t *testing.T, path string) *servingv1.Service {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var svc servingv1.Service
	if err := yaml.UnmarshalStrict(raw, &svc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i, c := range svc.Spec.Template.Spec.Containers {
		if !strings.HasPrefix(c.Image, "ko://") {
			t.Errorf("%s: container %d image %q is not a ko:// import path", path, i, c.Image)
		}
		svc.Spec.Template.Spec.Containers[i].Image = "registry.example/catalyst@sha256:" + strings.Repeat("0", 64)
	}
	return &svc
}

// validateLikeWebhook defaults and validates a new Service, as Knative's admission
// webhooks do on create. Warnings are allowed; errors are returned.
func validateLikeWebhook(svc *servingv1.Service) *apis.FieldError {
	ctx := apis.WithinCreate(context.Background())
	svc.SetDefaults(ctx)
	return svc.Validate(ctx).Filter(apis.ErrorLevel)
}

func TestKnativeServicesPassServingValidation(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(knativeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Services in knative/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			svc := decodeKnativeService(t, f)
			if svc.APIVersion != manifest.ServingV1 || svc.Kind != "Service" {
				t.Fatalf("%s is %s %s, want a %s Service", f, svc.APIVersion, svc.Kind, manifest.ServingV1)
			}
			ctx := apis.WithinCreate(context.Background())
			svc.SetDefaults(ctx)
			all := svc.Validate(ctx)
			if err := all.Filter(apis.ErrorLevel); err != nil {
				t.Errorf("Knative Serving rejects %s:\n%v", f, err)
			}
			if w := all.Filter(apis.WarningLevel); w != nil {
				t.Logf("Knative Serving warns about %s (allowed):\n%v", f, w)
			}
		})
	}
}

// TestBrokenServiceFailsServingValidation proves the test above can fail: each
// mutation of a generated Service is one Knative's webhook rejects.
func TestBrokenServiceFailsServingValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		break_ func(*servingv1.Service)
		want   string // substring of the error
	}{
		{"min-scale above max-scale", func(s *servingv1.Service) {
			s.Spec.Template.Annotations[manifest.AnnotationMinScale] = "5"
			s.Spec.Template.Annotations[manifest.AnnotationMaxScale] = "2"
		}, "max-scale=2 is less than min-scale=5"},
		{"target not a number", func(s *servingv1.Service) {
			s.Spec.Template.Annotations[manifest.AnnotationTarget] = "fast"
		}, manifest.AnnotationTarget},
		{"unknown autoscaler class", func(s *servingv1.Service) {
			s.Spec.Template.Annotations[manifest.AnnotationClass] = "bogus.autoscaling.knative.dev"
		}, manifest.AnnotationClass},
		{"reserved port", func(s *servingv1.Service) {
			s.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort = 8012
		}, "8012"},
		{"probe on another port", func(s *servingv1.Service) {
			s.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromString("admin")
		}, "Probe port must match container port"},
		{"no image", func(s *servingv1.Service) {
			s.Spec.Template.Spec.Containers[0].Image = ""
		}, "image"},
		{"second container with the same name", func(s *servingv1.Service) {
			s.Spec.Template.Spec.Containers = append(s.Spec.Template.Spec.Containers, corev1.Container{Name: "function", Image: "x"})
		}, "containers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := decodeKnativeService(t, filepath.Join(knativeDir, "echo.yaml"))
			tc.break_(svc)
			err := validateLikeWebhook(svc)
			if err == nil {
				t.Fatalf("Knative Serving accepted the broken Service")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
