package eventfilter

import (
	"fmt"
	"strconv"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

// ForTrigger builds the filter for a trigger spec, as Knative's broker does: a
// non-empty filters list wins (its entries are ANDed) and the legacy filter is then
// ignored; otherwise the legacy attributes filter applies; with neither, every
// event matches.
//
// CESQL is compiled here so a bad expression surfaces when the trigger is
// reconciled, not as silently dropped events. An entry with more than one dialect
// set is also an error (Knative's webhook rejects it; its runtime would silently
// use only the first). Entries Knative's runtime skips as "no filter" (an empty
// entry, an empty all/any, a not around one of those, exact/prefix/suffix with an
// empty name or value) are skipped here too, so they constrain nothing.
func ForTrigger(legacy *eventing.TriggerFilter, filters []eventing.SubscriptionsAPIFilter) (Filter, error) {
	if len(filters) > 0 {
		fs, err := compileList(filters, "filters")
		if err != nil {
			return nil, err
		}
		return All(fs...), nil
	}
	if legacy != nil {
		return Attributes(legacy.Attributes), nil
	}
	return everything{}, nil
}

// compileList compiles each entry, dropping those that impose no constraint.
func compileList(in []eventing.SubscriptionsAPIFilter, path string) ([]Filter, error) {
	out := make([]Filter, 0, len(in))
	for i := range in {
		f, err := compile(&in[i], path+"["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, f)
		}
	}
	return out, nil
}

// compile returns nil for an entry Knative treats as absent. Keeping "absent"
// distinct from "matches everything" matters under not and any: Knative's not of
// nothing passes every event, and an absent member of an any does not make the
// any pass everything.
func compile(s *eventing.SubscriptionsAPIFilter, path string) (Filter, error) {
	if n := dialects(s); n > 1 {
		return nil, fmt.Errorf("%s: %d dialects set, want exactly one of exact, prefix, suffix, all, any, not, cesql", path, n)
	}
	switch {
	case len(s.Exact) > 0:
		return attrDialect(s.Exact, opExact), nil
	case len(s.Prefix) > 0:
		return attrDialect(s.Prefix, opPrefix), nil
	case len(s.Suffix) > 0:
		return attrDialect(s.Suffix, opSuffix), nil
	case len(s.All) > 0:
		fs, err := compileList(s.All, path+".all")
		if err != nil || len(fs) == 0 {
			return nil, err
		}
		return All(fs...), nil
	case len(s.Any) > 0:
		fs, err := compileList(s.Any, path+".any")
		if err != nil || len(fs) == 0 {
			return nil, err
		}
		return Any(fs...), nil
	case s.Not != nil:
		f, err := compile(s.Not, path+".not")
		if err != nil || f == nil {
			return nil, err
		}
		return Not(f), nil
	case s.CESQL != "":
		f, err := CESQL(s.CESQL)
		if err != nil {
			return nil, fmt.Errorf("%s.cesql: %w", path, err)
		}
		return f, nil
	}
	return nil, nil
}

// attrDialect mirrors Knative, whose exact/prefix/suffix constructors reject an
// empty name or value and whose runtime then skips the whole entry.
func attrDialect(m map[string]string, o op) Filter {
	for k, v := range m {
		if k == "" || v == "" {
			return nil
		}
	}
	return newAttrFilter(m, o)
}

func dialects(s *eventing.SubscriptionsAPIFilter) int {
	n := 0
	for _, set := range [...]bool{
		len(s.Exact) > 0, len(s.Prefix) > 0, len(s.Suffix) > 0,
		len(s.All) > 0, len(s.Any) > 0, s.Not != nil, s.CESQL != "",
	} {
		if set {
			n++
		}
	}
	return n
}
