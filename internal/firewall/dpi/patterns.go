package dpi

import (
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// patternEntry is one entry of a patterns file; Weight is a pointer so a missing
// weight is an error, not a silent 0.
type patternEntry struct {
	Text     string `json:"text"`
	Category string `json:"category"`
	Weight   *int   `json:"weight"`
}

// LoadPatterns reads a YAML list of {text, category, weight}. Every bad entry is
// reported, as errs.Invalid with field paths ("[3].weight: must be 0-100, got 150");
// an unreadable file is errs.Invalid too, wrapping the cause.
func LoadPatterns(path string) ([]Pattern, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "read firewall patterns %s", path)
	}
	return ParsePatterns(data)
}

// ParsePatterns is LoadPatterns on the file's contents.
func ParsePatterns(data []byte) ([]Pattern, error) {
	var entries []patternEntry
	if err := yaml.UnmarshalStrict(data, &entries); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "parse firewall patterns")
	}
	var bad []errs.FieldViolation
	out := make([]Pattern, 0, len(entries))
	for i, e := range entries {
		at := "[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(e.Text) == "" {
			bad = append(bad, errs.FieldViolation{Field: at + ".text", Reason: "required"})
		} else if Canonical(e.Text) == "" {
			bad = append(bad, errs.FieldViolation{Field: at + ".text", Reason: "must contain a letter or digit"})
		}
		if strings.TrimSpace(e.Category) == "" {
			bad = append(bad, errs.FieldViolation{Field: at + ".category", Reason: "required"})
		}
		switch {
		case e.Weight == nil:
			bad = append(bad, errs.FieldViolation{Field: at + ".weight", Reason: "required"})
		case *e.Weight < 0 || *e.Weight > 100:
			bad = append(bad, errs.FieldViolation{Field: at + ".weight", Reason: "must be 0-100, got " + strconv.Itoa(*e.Weight)})
		}
		if e.Weight != nil {
			out = append(out, Pattern{Text: e.Text, Category: strings.TrimSpace(e.Category), Weight: *e.Weight})
		}
	}
	if len(bad) > 0 {
		return nil, invalid("invalid firewall patterns", bad)
	}
	return out, nil
}
