package scaling_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/scaling"
)

// testRegistry holds a plain function and an always-on connector.
func testRegistry(t *testing.T) *fn.Registry {
	t.Helper()
	newFn := func(fn.Deps) (fn.Function, error) {
		return fn.HandlerFunc(func(context.Context, event.Event) (*event.Event, error) { return nil, nil }), nil
	}
	reg, err := fn.NewRegistry(
		fn.Definition{Name: "echo", New: newFn},
		fn.Definition{Name: "smpp", AlwaysOn: true, New: newFn},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const validPolicy = `
targetUtilization: "0.7"
functions:
  echo: {targetTPS: 200, perPodTPS: 2000, minScale: 0, maxScale: 2}
  smpp: {targetTPS: 50, perPodTPS: 100, minScale: 1, maxScale: 1, alwaysOn: true}
`

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; nil means valid
	}{
		{name: "valid", yaml: validPolicy},
		{
			name: "capacity below target names the numbers",
			yaml: strings.Replace(validPolicy, "targetTPS: 200", "targetTPS: 9000", 1),
			want: []string{"echo: maxScale 2 × perPodTPS 2000 = 4000 events/s is below targetTPS 9000"},
		},
		{
			name: "always-on connector at min-scale 0",
			yaml: strings.Replace(validPolicy, "minScale: 1, maxScale: 1, alwaysOn: true", "minScale: 0, maxScale: 1, alwaysOn: true", 1),
			want: []string{"smpp: always-on connector needs minScale >= 1 (has 0)"},
		},
		{
			name: "always-on definition but policy says false",
			yaml: strings.Replace(validPolicy, "minScale: 1, maxScale: 1, alwaysOn: true", "minScale: 0, maxScale: 1", 1),
			want: []string{"smpp: alwaysOn false disagrees with the function's Definition.AlwaysOn true", "smpp: always-on connector needs minScale >= 1"},
		},
		{
			name: "policy for an unknown function",
			yaml: validPolicy + "  ghost: {targetTPS: 1, perPodTPS: 1, maxScale: 1}\n",
			want: []string{`ghost: policy names no registered function`},
		},
		{
			name: "registered function without policy",
			yaml: "targetUtilization: \"0.7\"\nfunctions:\n  echo: {targetTPS: 200, perPodTPS: 2000, maxScale: 2}\n",
			want: []string{`function "smpp" is registered but has no policy`},
		},
		{
			name: "min above max",
			yaml: strings.Replace(validPolicy, "minScale: 0, maxScale: 2", "minScale: 3, maxScale: 2", 1),
			want: []string{"echo: minScale 3 exceeds maxScale 2"},
		},
		{
			name: "max-scale 0 would mean unbounded",
			yaml: strings.Replace(validPolicy, "minScale: 0, maxScale: 2", "minScale: 0, maxScale: 0", 1),
			want: []string{"echo: maxScale 0 must be at least 1"},
		},
		{
			name: "utilization out of range",
			yaml: strings.Replace(validPolicy, `"0.7"`, `"1.5"`, 1),
			want: []string{`targetUtilization "1.5" must be in (0, 1]`},
		},
		{
			name: "target floors to zero",
			yaml: strings.Replace(validPolicy, "perPodTPS: 100,", "perPodTPS: 1,", 1),
			want: []string{"smpp: target floor(perPodTPS 1 × targetUtilization 0.7) = 0", "smpp: maxScale 1 × perPodTPS 1 = 1 events/s is below targetTPS 50"},
		},
		{
			name: "every problem is reported, not just the first",
			yaml: "targetUtilization: \"0.7\"\nfunctions:\n  echo: {targetTPS: 0, perPodTPS: 0, minScale: -1, maxScale: 0}\n",
			want: []string{"echo: targetTPS 0", "echo: perPodTPS 0", "echo: minScale -1", "echo: maxScale 0", `"smpp" is registered but has no policy`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := scaling.Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = p.Validate(testRegistry(t))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "targetUtilization: \"0.7\"\nfunctions:\n  echo: {targetTPS: 1, perPodTPS: 1, maxscale: 1}\n", `unknown field "functions.echo.maxscale"`},
		{"unknown top-level field", "targetUtilisation: \"0.7\"\n", `unknown field "targetUtilisation"`},
		{"utilization not a number", "targetUtilization: \"seventy\"\n", `"seventy" is not a decimal number`},
		{"duplicate function", "targetUtilization: \"0.7\"\nfunctions:\n  echo: {maxScale: 1}\n  echo: {maxScale: 9}\n", `"echo" already set`},
		{"utilization missing", "functions: {}\n", `"" is not a decimal number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := scaling.Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestTargetIsExact guards the reason Utilization is a big.Rat: in float64,
// 100 × 0.29 is 28.999999999999996 and its floor 28.
func TestTargetIsExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		util string
		pod  int64
		want int64
	}{
		{"0.7", 2000, 1400},
		{"0.29", 100, 29},
		{"0.7", 1001, 700},
		{"1", 37, 37},
		{"0.5", 1, 0},
	}
	for _, tc := range tests {
		p, err := scaling.Parse([]byte("targetUtilization: \"" + tc.util + "\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Target(scaling.Function{PerPodTPS: tc.pod}); got != tc.want {
			t.Errorf("Target(perPodTPS %d × %s) = %d, want %d", tc.pod, tc.util, got, tc.want)
		}
	}
}

func TestLoadRepositoryPolicy(t *testing.T) {
	t.Parallel()
	p, err := scaling.Load("../../config/scaling.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.For("echo"); !ok {
		t.Error(`config/scaling.yaml has no policy for "echo"`)
	}
	if _, err := scaling.Load("does-not-exist.yaml"); err == nil {
		t.Error("Load of a missing file: no error")
	}
}
