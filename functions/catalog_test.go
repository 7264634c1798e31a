package functions_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// matches reports whether a Definition's Consumes pattern (a type, or a prefix ending
// in "*") covers typ.
func matches(pattern, typ string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, prefix)
	}
	return pattern == typ
}

// The registry and the event catalogue tell the same story: what a function says it
// produces and consumes is catalogued with that function named, and every registered
// function the catalogue names declares the type.
func TestFunctionsAgreeWithTheEventCatalogue(t *testing.T) {
	t.Parallel()
	reg, err := functions.Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range reg.Definitions() {
		for _, typ := range d.Produces {
			e, ok := catalog.Lookup(typ)
			if !ok {
				t.Errorf("%s produces %s, which the catalogue lacks", d.Name, typ)
			} else if !slices.Contains(e.Producers, d.Name) {
				t.Errorf("catalogue entry %s does not list producer %s", typ, d.Name)
			}
		}
		for _, pattern := range d.Consumes {
			matched := 0
			for _, e := range catalog.Entries() {
				if !matches(pattern, e.Type) {
					continue
				}
				matched++
				if !slices.Contains(e.Consumers, d.Name) {
					t.Errorf("%s consumes %s (via %s) but the catalogue does not list it as a consumer", d.Name, e.Type, pattern)
				}
			}
			if matched == 0 {
				t.Errorf("%s consumes %s, which matches no catalogued type", d.Name, pattern)
			}
		}
	}
	for _, e := range catalog.Entries() {
		for _, name := range e.Producers {
			if d, ok := reg.Lookup(name); ok && !slices.Contains(d.Produces, e.Type) {
				t.Errorf("catalogue says %s produces %s; its Definition does not", name, e.Type)
			}
		}
		for _, name := range e.Consumers {
			d, ok := reg.Lookup(name)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(d.Consumes, func(p string) bool { return matches(p, e.Type) }) {
				t.Errorf("catalogue says %s consumes %s; its Definition does not", name, e.Type)
			}
		}
	}
}
