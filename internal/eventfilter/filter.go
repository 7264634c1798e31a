// Package eventfilter implements Knative Trigger filtering: the legacy
// spec.filter.attributes map and the spec.filters dialect (exact, prefix, suffix,
// all, any, not, cesql).
//
// Filters are compiled once and are immutable afterwards, so one Filter may be
// shared by every goroutine delivering to a trigger.
package eventfilter

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Filter decides whether an event matches.
type Filter interface {
	Match(ctx context.Context, e event.Event) bool
}

// everything matches every event: a trigger with no filter, or one whose filters
// Knative treats as absent.
type everything struct{}

func (everything) Match(context.Context, event.Event) bool { return true }

// op is how one attribute is compared.
type op uint8

const (
	opExact   op = iota
	opPrefix     // strings.HasPrefix
	opSuffix     // strings.HasSuffix
	opPresent    // any non-empty value (legacy filter's "" value)
)

type attrTest struct {
	name  string // kept for debugging; matching uses get
	get   getter
	op    op
	value string
}

// attrFilter requires every test to pass. Exact, Prefix, Suffix and Attributes all
// compile to it, so the hot path is one loop with no interface dispatch per test.
type attrFilter struct{ tests []attrTest }

func (f *attrFilter) Match(_ context.Context, e event.Event) bool {
	for i := range f.tests {
		t := &f.tests[i]
		v, ok := t.get(e.Context)
		if !ok {
			return false
		}
		switch t.op {
		case opExact:
			if v != t.value {
				return false
			}
		case opPrefix:
			if !strings.HasPrefix(v, t.value) {
				return false
			}
		case opSuffix:
			if !strings.HasSuffix(v, t.value) {
				return false
			}
		}
	}
	return true
}

// newAttrFilter sorts keys so evaluation order, and therefore cost, does not vary
// with map iteration.
func newAttrFilter(m map[string]string, o op) Filter {
	if len(m) == 0 {
		return everything{}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tests := make([]attrTest, len(keys))
	for i, k := range keys {
		t := attrTest{name: k, get: getterFor(k), op: o, value: m[k]}
		if o == opPresent && t.value != "" {
			t.op = opExact
		}
		tests[i] = t
	}
	return &attrFilter{tests: tests}
}

// Exact matches when every attribute named in m equals its value. Absent
// attributes never match.
func Exact(m map[string]string) Filter { return newAttrFilter(m, opExact) }

// Prefix matches when every attribute named in m starts with its value.
func Prefix(m map[string]string) Filter { return newAttrFilter(m, opPrefix) }

// Suffix matches when every attribute named in m ends with its value.
func Suffix(m map[string]string) Filter { return newAttrFilter(m, opSuffix) }

// Attributes is the legacy trigger filter: every attribute must equal its value,
// and an empty value (Knative's TriggerAnyFilter) accepts any value as long as
// the attribute is set and non-empty.
func Attributes(attrs map[string]string) Filter { return newAttrFilter(attrs, opPresent) }

type allFilter []Filter

func (f allFilter) Match(ctx context.Context, e event.Event) bool {
	for _, c := range f {
		if !c.Match(ctx, e) {
			return false
		}
	}
	return true
}

type anyFilter []Filter

func (f anyFilter) Match(ctx context.Context, e event.Event) bool {
	for _, c := range f {
		if c.Match(ctx, e) {
			return true
		}
	}
	return false
}

type notFilter struct{ f Filter }

func (f notFilter) Match(ctx context.Context, e event.Event) bool { return !f.f.Match(ctx, e) }

// All matches when every filter matches; with none it matches everything.
// Filters are pure, so they are reordered cheapest first (attribute tests before
// CESQL) to short-circuit early; Knative instead reorders adaptively at run time,
// which needs locks and goroutines.
func All(filters ...Filter) Filter {
	fs := flatten(filters, func(f Filter) ([]Filter, bool) { a, ok := f.(allFilter); return a, ok })
	// everything is the identity of all.
	fs = slices.DeleteFunc(fs, func(f Filter) bool { _, ok := f.(everything); return ok })
	switch len(fs) {
	case 0:
		return everything{}
	case 1:
		return fs[0]
	}
	return allFilter(fs)
}

// Any matches when at least one filter matches. With none it matches everything,
// because Knative treats an empty any as no filter rather than as false.
func Any(filters ...Filter) Filter {
	fs := flatten(filters, func(f Filter) ([]Filter, bool) { a, ok := f.(anyFilter); return a, ok })
	switch len(fs) {
	case 0:
		return everything{}
	case 1:
		return fs[0]
	}
	for _, f := range fs {
		if _, ok := f.(everything); ok {
			return everything{}
		}
	}
	return anyFilter(fs)
}

// Not matches when f does not. Not(nil) matches everything, as Knative's not
// filter without an inner filter does.
func Not(f Filter) Filter {
	switch f := f.(type) {
	case nil:
		return everything{}
	case notFilter:
		return f.f
	}
	return notFilter{f: f}
}

// flatten drops nil filters, inlines nested filters of the same kind, and sorts
// the result cheapest first.
func flatten(in []Filter, same func(Filter) ([]Filter, bool)) []Filter {
	out := make([]Filter, 0, len(in))
	for _, f := range in {
		if f == nil {
			continue
		}
		if inner, ok := same(f); ok {
			out = append(out, inner...)
			continue
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Filter) int { return cost(a) - cost(b) })
	return out
}

// cost is a rough relative evaluation cost used only for ordering.
func cost(f Filter) int {
	switch f := f.(type) {
	case everything:
		return 0
	case *attrFilter:
		n := 0
		for _, t := range f.tests {
			n += attrCost(t.name)
		}
		return n
	case notFilter:
		return cost(f.f)
	case allFilter:
		return sumCost(f)
	case anyFilter:
		return sumCost(f)
	case *cesqlFilter:
		return 100
	default:
		return 50
	}
}

// attrCost reflects that source, dataschema and time are rebuilt as strings (an
// allocation) on every read, while other attributes are stored as strings.
func attrCost(name string) int {
	switch name {
	case "source", "dataschema", "schemaurl", "time":
		return 3
	}
	return 1
}

func sumCost(fs []Filter) int {
	n := 0
	for _, f := range fs {
		n += cost(f)
	}
	return n
}
