package dpi

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestLoadPatterns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "p.yaml")
	data := "- {text: verify your account, category: phishing, weight: 85}\n- text: Fr33\n  category: marketing\n  weight: 0\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPatterns(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pattern{{"verify your account", "phishing", 85}, {"Fr33", "marketing", 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestLoadPatternsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		fields     []string
		message    string
	}{
		{"every bad entry with its path", `
- {text: ok, category: a, weight: 10}
- {text: "  ", category: a, weight: 10}
- {text: x, category: a, weight: 150}
- {text: y, weight: -3}
- {text: "?!", category: a}
`, []string{"[1].text", "[2].weight", "[3].category", "[3].weight", "[4].text", "[4].weight"}, "[2].weight: must be 0-100, got 150"},
		{"unknown field", "- {text: a, category: b, weight: 1, wieght: 2}\n", nil, "wieght"},
		{"not a list", "text: a\n", nil, "parse firewall patterns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePatterns([]byte(tc.yaml))
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid {
				t.Fatalf("err = %v, want errs.Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %q, want it to mention %q", err, tc.message)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields = %q, want %q", fields, tc.fields)
			}
		})
	}
	if _, err := LoadPatterns(filepath.Join(t.TempDir(), "missing.yaml")); errs.CodeOf(err) != errs.Invalid || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want errs.Invalid wrapping ErrNotExist", err)
	}
}
