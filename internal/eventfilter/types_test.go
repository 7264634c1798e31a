package eventfilter

import (
	"maps"
	"slices"
	"testing"
)

func TestTypes(t *testing.T) {
	t.Parallel()
	a, b := "io.catalyst.a", "io.catalyst.b"
	for _, tc := range []struct {
		name string
		f    Filter
		want []string // nil: not pinned
	}{
		{"exact type", Exact(map[string]string{"type": a}), []string{a}},
		{"exact type and extension", Exact(map[string]string{"type": a, "decision": "pass"}), []string{a}},
		{"exact extension only", Exact(map[string]string{"decision": "pass"}), nil},
		{"prefix on type", Prefix(map[string]string{"type": "io.catalyst."}), nil},
		{"legacy attributes with a type", Attributes(map[string]string{"type": a}), []string{a}},
		{"legacy attributes, any type", Attributes(map[string]string{"type": ""}), nil},
		{"all pins by its pinned member", All(Exact(map[string]string{"source": "/x"}), Exact(map[string]string{"type": a})), []string{a}},
		{"all intersects", All(Any(Exact(map[string]string{"type": a}), Exact(map[string]string{"type": b})), Exact(map[string]string{"type": b})), []string{b}},
		{"any unions", Any(Exact(map[string]string{"type": a}), Exact(map[string]string{"type": b})), []string{a, b}},
		{"any with an unpinned member", Any(Exact(map[string]string{"type": a}), Exact(map[string]string{"source": "/x"})), nil},
		{"not", Not(Exact(map[string]string{"type": a})), nil},
		{"everything", everything{}, nil},
	} {
		got, ok := Types(tc.f)
		if tc.want == nil {
			if ok {
				t.Errorf("%s: pinned %v, want not pinned", tc.name, got)
			}
			continue
		}
		if !ok || !slices.Equal(slices.Sorted(maps.Keys(got)), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, ok, tc.want)
		}
	}
}
