package manifest_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
	"github.com/catalyst-cpaas/catalyst/internal/scaling"
)

// update regenerates knative/ instead of comparing, until `catalyst manifests` exists:
// go test ./internal/manifest -run TestGeneratedServicesUpToDate -update
var update = flag.Bool("update", false, "rewrite ../../knative from config/scaling.yaml")

const knativeDir = "../../knative"

func repoServices(t *testing.T) map[string][]byte {
	t.Helper()
	reg, err := functions.Registry()
	if err != nil {
		t.Fatal(err)
	}
	p, err := scaling.Load("../../config/scaling.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := manifest.GenerateServices(reg, p, manifest.DefaultNamespace)
	if err != nil {
		t.Fatalf("GenerateServices from config/scaling.yaml: %v", err)
	}
	return files
}

// TestGeneratedServicesUpToDate fails when knative/ differs from what config/scaling.yaml
// and the function registry generate, byte for byte, so a hand edit or a forgotten
// regeneration is caught before deployment.
func TestGeneratedServicesUpToDate(t *testing.T) {
	t.Parallel()
	files := repoServices(t)
	if *update {
		if err := manifest.WriteServices(knativeDir, files); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(knativeDir, name))
		if err != nil {
			t.Errorf("knative/%s: %v; run make manifests", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("knative/%s is out of date with config/scaling.yaml; run make manifests\n--- have\n%s\n--- want\n%s", name, got, want)
		}
	}
	entries, err := os.ReadDir(knativeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(knativeDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, wanted := files[e.Name()]; !wanted && bytes.HasPrefix(raw, []byte(manifest.GeneratedHeader)) {
			t.Errorf("knative/%s is generated but no registered function needs it; run make manifests", e.Name())
		}
	}
}

const testPolicy = `
targetUtilization: "0.7"
functions:
  echo: {targetTPS: 200, perPodTPS: 2000, minScale: 0, maxScale: 3}
  dead-letter: {targetTPS: 10, perPodTPS: 101, minScale: 1, maxScale: 2}
`

func TestGenerateServicesContent(t *testing.T) {
	t.Parallel()
	reg := fixtureFunctions(t)
	p, err := scaling.Parse([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	files, err := manifest.GenerateServices(reg, p, "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), len(reg.Names()); got != want {
		t.Fatalf("generated %d files, want one per function (%d)", got, want)
	}
	tests := []struct {
		file, name      string
		target, min, mx string
	}{
		{"echo.yaml", "echo", "1400", "0", "3"},
		{"dead-letter.yaml", "dead-letter", "70", "1", "2"}, // floor(101 × 0.7) = floor(70.7)
	}
	for _, tc := range tests {
		raw, ok := files[tc.file]
		if !ok {
			t.Errorf("no %s generated", tc.file)
			continue
		}
		if !bytes.HasPrefix(raw, []byte(manifest.GeneratedHeader+"\n")) {
			t.Errorf("%s does not start with the generated header", tc.file)
		}
		var doc struct {
			APIVersion, Kind string
			Metadata         struct {
				Name, Namespace string
				Labels          map[string]string
			}
			Spec struct {
				Template struct {
					Metadata struct{ Annotations map[string]string }
					Spec     struct {
						Containers []struct {
							Name, Image string
							Args        []string
							Ports       []struct{ ContainerPort int32 }
							Env         []corev1.EnvVar
						}
					}
				}
			}
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if doc.APIVersion != "serving.knative.dev/v1" || doc.Kind != "Service" || doc.Metadata.Name != tc.name || doc.Metadata.Namespace != "ns1" {
			t.Errorf("%s: %s %s %s/%s, want serving.knative.dev/v1 Service ns1/%s", tc.file, doc.APIVersion, doc.Kind, doc.Metadata.Namespace, doc.Metadata.Name, tc.name)
		}
		if doc.Metadata.Labels["app.kubernetes.io/part-of"] != "catalyst" {
			t.Errorf("%s: labels %v lack app.kubernetes.io/part-of: catalyst", tc.file, doc.Metadata.Labels)
		}
		wantAnn := map[string]string{
			"autoscaling.knative.dev/class":                         "kpa.autoscaling.knative.dev",
			"autoscaling.knative.dev/metric":                        "rps",
			"autoscaling.knative.dev/target":                        tc.target,
			"autoscaling.knative.dev/target-utilization-percentage": "100",
			"autoscaling.knative.dev/min-scale":                     tc.min,
			"autoscaling.knative.dev/max-scale":                     tc.mx,
		}
		if got := doc.Spec.Template.Metadata.Annotations; !reflect.DeepEqual(got, wantAnn) {
			t.Errorf("%s: annotations\n%v\nwant\n%v", tc.file, got, wantAnn)
		}
		cs := doc.Spec.Template.Spec.Containers
		if len(cs) != 1 || cs[0].Name != "function" || cs[0].Image != manifest.Image ||
			!reflect.DeepEqual(cs[0].Args, []string{"function", tc.name}) ||
			len(cs[0].Ports) != 1 || cs[0].Ports[0].ContainerPort != 8080 {
			t.Errorf("%s: containers %+v, want one named function running [function %s] on 8080", tc.file, cs, tc.name)
		}
		// The platform token, from its Secret, for the ingress (issue #14).
		if len(cs) == 1 && (len(cs[0].Env) != 1 || cs[0].Env[0].Name != "CATALYST_PLATFORM_TOKEN" || cs[0].Env[0].ValueFrom == nil ||
			cs[0].Env[0].ValueFrom.SecretKeyRef == nil || cs[0].Env[0].ValueFrom.SecretKeyRef.Name != "catalyst-platform" ||
			cs[0].Env[0].ValueFrom.SecretKeyRef.Key != "token") {
			t.Errorf("%s: env %+v, want CATALYST_PLATFORM_TOKEN from secret catalyst-platform key token", tc.file, cs[0].Env)
		}
	}
	again, err := manifest.GenerateServices(reg, p, "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files, again) {
		t.Error("GenerateServices is not deterministic")
	}
}

// TestGenerateRejectsInvalidPolicy: nothing is generated from a policy that fails
// Validate (the cases themselves are in internal/scaling).
func TestGenerateRejectsInvalidPolicy(t *testing.T) {
	t.Parallel()
	reg := fixtureFunctions(t)
	tests := []struct{ name, policy, want string }{
		{"capacity below target", strings.Replace(testPolicy, "targetTPS: 200", "targetTPS: 7000", 1), "echo: maxScale 3 × perPodTPS 2000 = 6000 events/s is below targetTPS 7000"},
		{"registered function without policy", "targetUtilization: \"0.7\"\nfunctions:\n  echo: {targetTPS: 1, perPodTPS: 10, maxScale: 1}\n", `function "dead-letter" is registered but has no policy`},
		{"policy for unknown function", testPolicy + "  ghost: {targetTPS: 1, perPodTPS: 10, maxScale: 1}\n", "ghost: policy names no registered function"},
		{"alwaysOn at min-scale 0", strings.Replace(testPolicy, "maxScale: 3}", "maxScale: 3, alwaysOn: true}", 1), "echo: always-on connector needs minScale >= 1 (has 0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := scaling.Parse([]byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			files, err := manifest.GenerateServices(reg, p, "catalyst")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("GenerateServices error = %v, want it to contain %q", err, tc.want)
			}
			if files != nil {
				t.Errorf("GenerateServices returned %d files with its error", len(files))
			}
		})
	}
}

func TestWriteServices(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stale.yaml", manifest.GeneratedHeader+"\nkind: Service\n")
	write("hand.yaml", "# written by hand\nkind: Service\n")
	write("notes.txt", manifest.GeneratedHeader+"\n")
	files := map[string][]byte{"echo.yaml": []byte(manifest.GeneratedHeader + "\necho\n")}

	if err := manifest.WriteServices(dir, files); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "echo.yaml")); err != nil || !bytes.Equal(got, files["echo.yaml"]) {
		t.Errorf("echo.yaml = %q, %v; want it written", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.yaml")); !os.IsNotExist(err) {
		t.Errorf("stale generated file not removed (stat: %v)", err)
	}
	for _, keep := range []string{"hand.yaml", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s should be left alone: %v", keep, err)
		}
	}
	// Regenerating over its own output is fine; overwriting a hand-written file is not.
	if err := manifest.WriteServices(dir, files); err != nil {
		t.Errorf("second WriteServices: %v", err)
	}
	if err := manifest.WriteServices(dir, map[string][]byte{"hand.yaml": []byte("x")}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("overwriting hand.yaml: error = %v, want a refusal", err)
	}
	if err := manifest.WriteServices(dir, map[string][]byte{"../escape.yaml": []byte("x")}); err == nil {
		t.Error("WriteServices accepted a path outside dir")
	}
}
