package eventing

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	"knative.dev/pkg/apis"
)

// validAttributeName is Knative's rule for filter attribute names: the CloudEvents
// attribute naming rule (lowercase letters and digits), starting with a letter.
var validAttributeName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

const attributeNameRule = "attribute name must start with a letter and contain only lowercase letters and digits"

// dialects lists the spec.filters dialects by their JSON names, for one-of errors.
var dialects = []string{"all", "any", "cesql", "exact", "not", "prefix", "suffix"}

// validateAttributeNames checks the legacy filter's attribute names. Values are free:
// an empty value means "attribute present, any value", as in Knative.
func validateAttributeNames(attrs map[string]string) (errs *apis.FieldError) {
	for _, k := range sortedKeys(attrs) {
		if !validAttributeName.MatchString(k) {
			errs = errs.Also(apis.ErrInvalidKeyName(k, apis.CurrentField, attributeNameRule).ViaKey(k))
		}
	}
	return errs
}

// validateFilters validates a spec.filters list (also the operands of all and any).
func validateFilters(ctx context.Context, filters []SubscriptionsAPIFilter) (errs *apis.FieldError) {
	for i := range filters {
		errs = errs.Also(validateFilter(ctx, &filters[i]).ViaIndex(i))
	}
	return errs
}

// validateFilter checks one spec.filters expression. Knative's own webhook differs in
// two ways, both to turn silent runtime surprises into errors:
//   - exactly one dialect must be set. Knative reports several with a generic
//     "multiple dialects found" error and accepts none, yet an empty expression (or
//     an empty exact/all/...) is dropped by its filter builder, matching every event;
//   - exact, prefix and suffix values must not be empty. Knative's webhook accepts
//     them but its filter constructors reject them and the expression is skipped,
//     so `not: {prefix: {type: ""}}` would quietly match everything.
func validateFilter(ctx context.Context, f *SubscriptionsAPIFilter) (errs *apis.FieldError) {
	var set []string
	for _, d := range []struct {
		name string
		on   bool
	}{
		{"all", len(f.All) > 0},
		{"any", len(f.Any) > 0},
		{"cesql", f.CESQL != ""},
		{"exact", len(f.Exact) > 0},
		{"not", f.Not != nil},
		{"prefix", len(f.Prefix) > 0},
		{"suffix", len(f.Suffix) > 0},
	} {
		if d.on {
			set = append(set, d.name)
		}
	}
	switch {
	case len(set) == 0:
		errs = apis.ErrMissingOneOf(dialects...)
	case len(set) > 1:
		errs = apis.ErrMultipleOneOf(set...)
	}
	errs = errs.Also(
		validateSingleAttribute(f.Exact).ViaField("exact"),
		validateSingleAttribute(f.Prefix).ViaField("prefix"),
		validateSingleAttribute(f.Suffix).ViaField("suffix"),
		validateFilters(ctx, f.All).ViaField("all"),
		validateFilters(ctx, f.Any).ViaField("any"),
		validateCESQL(f.CESQL).ViaField("cesql"),
	)
	if f.Not != nil {
		errs = errs.Also(validateFilter(ctx, f.Not).ViaField("not"))
	}
	return errs
}

// validateSingleAttribute checks an exact/prefix/suffix map: one attribute, a valid
// name, a non-empty value. An empty map is left to the one-of check.
func validateSingleAttribute(m map[string]string) (errs *apis.FieldError) {
	if len(m) > 1 {
		errs = apis.ErrGeneric(fmt.Sprintf("expected exactly one attribute, got %d", len(m)), apis.CurrentField)
	}
	for _, k := range sortedKeys(m) {
		if !validAttributeName.MatchString(k) {
			errs = errs.Also(apis.ErrInvalidKeyName(k, apis.CurrentField, attributeNameRule).ViaKey(k))
		}
		if m[k] == "" {
			errs = errs.Also(apis.ErrInvalidValue(`""`, apis.CurrentField, "value must not be empty").ViaKey(k))
		}
	}
	return errs
}

// validateCESQL checks that a CESQL expression parses, as Knative does. The parser is
// ANTLR-generated; a panic on odd input is reported as invalid rather than crashing
// the caller.
func validateCESQL(expr string) (errs *apis.FieldError) {
	if expr == "" {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			errs = apis.ErrInvalidValue(expr, apis.CurrentField, fmt.Sprint("parser failed: ", r))
		}
	}()
	if _, err := cesqlparser.Parse(expr); err != nil {
		return apis.ErrInvalidValue(expr, apis.CurrentField, err.Error())
	}
	return nil
}

// sortedKeys makes error order independent of map iteration.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
