package eventfilter

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
)

func TestAttributeDialects(t *testing.T) {
	t.Parallel()
	full, bare := fullEvent(t), bareEvent(t)
	one := func(f spec) []spec { return []spec{f} }
	runMatchCases(t, []matchCase{
		{name: "exact/type", filters: one(exact("type", "com.catalyst.order.created")), event: full, want: true},
		{name: "exact/type mismatch", filters: one(exact("type", "com.catalyst.order.deleted")), event: full},
		{name: "exact/is case sensitive", filters: one(exact("type", "COM.catalyst.order.created")), event: full},
		{name: "exact/is not a prefix match", filters: one(exact("type", "com.catalyst.order")), event: full},
		{name: "exact/specversion", filters: one(exact("specversion", "1.0")), event: bare, want: true},
		{name: "exact/id", filters: one(exact("id", "evt-2")), event: bare, want: true},
		{name: "exact/source", filters: one(exact("source", "/sms/gateway")), event: bare, want: true},
		{name: "exact/subject", filters: one(exact("subject", "orders/42")), event: full, want: true},
		{name: "exact/absent subject", filters: one(exact("subject", "orders/42")), event: bare},
		{name: "exact/dataschema", filters: one(exact("dataschema", "https://schemas.catalyst.example/order/v1")), event: full, want: true},
		{name: "exact/datacontenttype keeps parameters", filters: one(exact("datacontenttype", "application/json; charset=utf-8")), event: full, want: true},
		{name: "exact/datamediatype strips parameters", filters: one(exact("datamediatype", "application/json")), event: full, want: true},
		{name: "exact/absent datacontenttype", filters: one(exact("datacontenttype", "application/json")), event: bare},
		{name: "exact/time in event's own offset", filters: one(exact("time", "2024-03-01T12:30:00+02:00")), event: full, want: true},
		{name: "exact/time as UTC is a different string", filters: one(exact("time", "2024-03-01T10:30:00Z")), event: full},
		{name: "exact/absent time", filters: one(exact("time", "0001-01-01T00:00:00Z")), event: bare},
		{name: "exact/extension", filters: one(exact("tenantid", "acme")), event: full, want: true},
		{name: "exact/extension mismatch", filters: one(exact("tenantid", "globex")), event: full},
		{name: "exact/absent extension", filters: one(exact("tenantid", "acme")), event: bare},
		{name: "exact/integer extension in canonical form", filters: one(exact("priority", "5")), event: full, want: true},
		{name: "exact/boolean extension in canonical form", filters: one(exact("urgent", "true")), event: full, want: true},
		{name: "exact/several keys all match", filters: one(spec{Exact: map[string]string{"tenantid": "acme", "channel": "sms"}}), event: full, want: true},
		{name: "exact/several keys one differs", filters: one(spec{Exact: map[string]string{"tenantid": "acme", "channel": "email"}}), event: full},

		{name: "prefix/type", filters: one(prefix("type", "com.catalyst.order.")), event: full, want: true},
		{name: "prefix/type mismatch", filters: one(prefix("type", "com.catalyst.order.")), event: bare},
		{name: "prefix/whole value", filters: one(prefix("channel", "sms")), event: full, want: true},
		{name: "prefix/longer than value", filters: one(prefix("channel", "smsx")), event: full},
		{name: "prefix/extension", filters: one(prefix("tenantid", "ac")), event: full, want: true},
		{name: "prefix/absent extension", filters: one(prefix("channel", "s")), event: bare},
		{name: "prefix/time", filters: one(prefix("time", "2024-03-01T")), event: full, want: true},
		{name: "prefix/absent time", filters: one(prefix("time", "0001")), event: bare},
		{name: "prefix/source", filters: one(prefix("source", "https://catalyst.example/")), event: full, want: true},
		{name: "prefix/several keys one differs", filters: one(spec{Prefix: map[string]string{"type": "com.catalyst.", "source": "https://other"}}), event: full},

		{name: "suffix/type", filters: one(suffix("type", ".created")), event: full, want: true},
		{name: "suffix/type mismatch", filters: one(suffix("type", ".deleted")), event: full},
		{name: "suffix/source", filters: one(suffix("source", "/gateway")), event: bare, want: true},
		{name: "suffix/absent subject", filters: one(suffix("subject", "42")), event: bare},
		{name: "suffix/time offset", filters: one(suffix("time", "+02:00")), event: full, want: true},
		{name: "suffix/extension", filters: one(suffix("channel", "ms")), event: full, want: true},
	})
}

func TestLogicalDialects(t *testing.T) {
	t.Parallel()
	full, bare := fullEvent(t), bareEvent(t)
	email := fullEvent(t, withExt("channel", "email"))
	isOrder := prefix("type", "com.catalyst.order.")
	isSMS := exact("channel", "sms")
	never := exact("type", "never")
	runMatchCases(t, []matchCase{
		{name: "all/every member matches", filters: []spec{all(isOrder, isSMS, suffix("source", "/orders"))}, event: full, want: true},
		{name: "all/one member fails", filters: []spec{all(isOrder, isSMS)}, event: email},
		{name: "all/missing attribute fails", filters: []spec{all(isOrder, isSMS)}, event: bare},
		{name: "top-level list is an implicit all", filters: []spec{isOrder, isSMS}, event: email},
		{name: "top-level list all match", filters: []spec{isOrder, isSMS}, event: full, want: true},

		{name: "any/one member matches", filters: []spec{anyOf(never, isSMS)}, event: full, want: true},
		{name: "any/last member matches", filters: []spec{anyOf(never, never, suffix("type", ".received"))}, event: bare, want: true},
		{name: "any/no member matches", filters: []spec{anyOf(never, isSMS)}, event: email},
		{name: "any/missing attribute does not match", filters: []spec{anyOf(never, isSMS)}, event: bare},

		{name: "not/negates a match", filters: []spec{not(isSMS)}, event: full},
		{name: "not/negates a mismatch", filters: []spec{not(isSMS)}, event: email, want: true},
		{name: "not/missing attribute matches", filters: []spec{not(isSMS)}, event: bare, want: true},
		{name: "not/double negation", filters: []spec{not(not(isSMS))}, event: full, want: true},
		{name: "not/double negation mismatch", filters: []spec{not(not(isSMS))}, event: email},
		{name: "not/of all", filters: []spec{not(all(isOrder, isSMS))}, event: email, want: true},
		{name: "not/of any", filters: []spec{not(anyOf(never, isSMS))}, event: full},

		{name: "nested/order on sms for acme", event: full, want: true, filters: []spec{
			all(anyOf(exact("channel", "sms"), exact("channel", "whatsapp")), not(prefix("type", "com.catalyst.sms.")), sql("tenantid = 'acme'")),
		}},
		{name: "nested/wrong channel", event: email, filters: []spec{
			all(anyOf(exact("channel", "sms"), exact("channel", "whatsapp")), not(prefix("type", "com.catalyst.sms.")), sql("tenantid = 'acme'")),
		}},
		{name: "nested/bare event", event: bare, filters: []spec{
			all(anyOf(exact("channel", "sms"), exact("channel", "whatsapp")), not(prefix("type", "com.catalyst.sms.")), sql("tenantid = 'acme'")),
		}},
		{name: "nested/four levels", event: full, want: true, filters: []spec{
			anyOf(never, all(isOrder, not(anyOf(never, all(isSMS, exact("tenantid", "globex")))))),
		}},
		{name: "nested/four levels inner flips", event: fullEvent(t, withExt("tenantid", "globex")), filters: []spec{
			anyOf(never, all(isOrder, not(anyOf(never, all(isSMS, exact("tenantid", "globex")))))),
		}},
	})
}

// Knative's runtime skips entries it cannot materialise and reports "no filter"
// for empty containers; such entries must constrain nothing, including under not.
func TestEntriesKnativeTreatsAsAbsent(t *testing.T) {
	t.Parallel()
	bare := bareEvent(t)
	never := exact("type", "never")
	runMatchCases(t, []matchCase{
		{name: "empty entry", filters: []spec{{}}, event: bare, want: true},
		{name: "empty all", filters: []spec{{All: []spec{}}}, event: bare, want: true},
		{name: "empty any", filters: []spec{{Any: []spec{}}}, event: bare, want: true},
		{name: "any of empty entries", filters: []spec{anyOf(spec{}, spec{})}, event: bare, want: true},
		{name: "not of empty entry", filters: []spec{not(spec{})}, event: bare, want: true},
		{name: "not of empty any", filters: []spec{not(spec{Any: []spec{}})}, event: bare, want: true},
		{name: "not of not of empty", filters: []spec{not(not(spec{}))}, event: bare, want: true},
		{name: "exact with empty value", filters: []spec{exact("type", "")}, event: bare, want: true},
		{name: "exact with empty name", filters: []spec{exact("", "x")}, event: bare, want: true},
		{name: "prefix with empty value", filters: []spec{prefix("tenantid", "")}, event: bare, want: true},
		{name: "suffix with empty value", filters: []spec{suffix("tenantid", "")}, event: bare, want: true},
		{name: "empty cesql", filters: []spec{sql("")}, event: bare, want: true},
		{name: "absent entry beside a failing one", filters: []spec{{}, never}, event: bare},
		{name: "absent member of any does not make it pass", filters: []spec{anyOf(never, not(spec{}))}, event: bare},
		{name: "absent member of all", filters: []spec{all(not(spec{}), never)}, event: bare},
		{name: "not of all with absent member", filters: []spec{not(all(spec{}, never))}, event: bare, want: true},
	})
}

func TestLegacyAttributes(t *testing.T) {
	t.Parallel()
	full, bare := fullEvent(t), bareEvent(t)
	emptyChannel := fullEvent(t, withExt("channel", ""))
	runMatchCases(t, []matchCase{
		{name: "no filter at all", event: bare, want: true},
		{name: "nil attributes", legacy: legacy(nil), event: bare, want: true},
		{name: "empty attributes", legacy: legacy(map[string]string{}), event: bare, want: true},
		{name: "empty filters list falls back to legacy", legacy: legacy(map[string]string{"type": "x"}), filters: []spec{}, event: bare},
		{name: "type and source wildcards", legacy: legacy(map[string]string{"type": "", "source": ""}), event: bare, want: true},
		{name: "type exact", legacy: legacy(map[string]string{"type": "com.catalyst.sms.received"}), event: bare, want: true},
		{name: "type mismatch", legacy: legacy(map[string]string{"type": "com.catalyst.sms.sent"}), event: bare},
		{name: "type exact, source wildcard", legacy: legacy(map[string]string{"type": "com.catalyst.order.created", "source": ""}), event: full, want: true},
		{name: "every key must match", legacy: legacy(map[string]string{"type": "com.catalyst.order.created", "tenantid": "globex"}), event: full},
		{name: "wildcard on present subject", legacy: legacy(map[string]string{"subject": ""}), event: full, want: true},
		{name: "wildcard on absent subject", legacy: legacy(map[string]string{"subject": ""}), event: bare},
		{name: "wildcard on present extension", legacy: legacy(map[string]string{"tenantid": ""}), event: full, want: true},
		{name: "wildcard on absent extension", legacy: legacy(map[string]string{"tenantid": ""}), event: bare},
		{name: "wildcard on empty extension", legacy: legacy(map[string]string{"channel": ""}), event: emptyChannel},
		{name: "wildcard on absent time", legacy: legacy(map[string]string{"time": ""}), event: bare},
		{name: "time exact", legacy: legacy(map[string]string{"time": "2024-03-01T12:30:00+02:00"}), event: full, want: true},
		{name: "extension exact", legacy: legacy(map[string]string{"channel": "sms"}), event: full, want: true},
		{name: "unknown attribute", legacy: legacy(map[string]string{"region": "eu"}), event: full},
		{name: "schemaurl alias", legacy: legacy(map[string]string{"schemaurl": "https://schemas.catalyst.example/order/v1"}), event: full, want: true},

		{name: "filters override a rejecting legacy filter", legacy: legacy(map[string]string{"type": "x"}),
			filters: []spec{exact("type", "com.catalyst.sms.received")}, event: bare, want: true},
		{name: "filters override an accepting legacy filter", legacy: legacy(map[string]string{"type": "com.catalyst.sms.received"}),
			filters: []spec{exact("type", "x")}, event: bare},
	})
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	full, bare := fullEvent(t), bareEvent(t)
	sms := Exact(map[string]string{"channel": "sms"})
	order := Prefix(map[string]string{"type": "com.catalyst.order."})
	cases := []struct {
		name       string
		f          Filter
		full, bare bool
	}{
		{"All()", All(), true, true},
		{"Any()", Any(), true, true},
		{"Not(nil)", Not(nil), true, true},
		{"Exact(nil)", Exact(nil), true, true},
		{"Attributes(nil)", Attributes(nil), true, true},
		{"Exact", sms, true, false},
		{"Exact empty value never matches", Exact(map[string]string{"type": ""}), false, false},
		{"Attributes empty value requires presence", Attributes(map[string]string{"tenantid": ""}), true, false},
		{"Suffix", Suffix(map[string]string{"source": "/gateway"}), false, true},
		{"All", All(order, sms), true, false},
		{"All skips nil", All(nil, sms, nil), true, false},
		{"All of all flattens", All(All(order, sms), Not(order)), false, false},
		{"Any", Any(Not(order), sms), true, true},
		{"Any with everything", Any(sms, All()), true, true},
		{"Not", Not(sms), false, true},
		{"Not(Not)", Not(Not(sms)), true, false},
		{"Not(All())", Not(All()), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.f.Match(ctx, full); got != tc.full {
				t.Errorf("full event: Match = %v, want %v", got, tc.full)
			}
			if got := tc.f.Match(ctx, bare); got != tc.bare {
				t.Errorf("bare event: Match = %v, want %v", got, tc.bare)
			}
		})
	}
}

func TestForTriggerErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		filters  []spec
		contains []string
	}{
		{"cesql syntax", []spec{sql("type LIKE")}, []string{"filters[0].cesql", `"type LIKE"`}},
		{"cesql nested", []spec{exact("type", "a"), anyOf(exact("type", "b"), not(sql("type = ")))},
			[]string{"filters[1].any[1].not.cesql", `"type = "`}},
		{"cesql trailing garbage", []spec{sql("type = 'a' )")}, []string{"filters[0].cesql"}},
		{"several dialects", []spec{all(spec{Exact: map[string]string{"type": "a"}, CESQL: "true"})},
			[]string{"filters[0].all[0]", "2 dialects"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ForTrigger(nil, tc.filters)
			if err == nil {
				t.Fatalf("ForTrigger succeeded with %T, want error", f)
			}
			if f != nil {
				t.Errorf("ForTrigger returned filter %T alongside error", f)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// The legacy filter is not compiled when filters are set, so an error can only
// come from filters.
func TestForTriggerIgnoresLegacyWhenFiltersSet(t *testing.T) {
	t.Parallel()
	f, err := ForTrigger(legacy(map[string]string{"type": "never"}), []spec{{}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(context.Background(), bareEvent(t)) {
		t.Error("legacy filter applied although filters were set")
	}
}

func TestEventWithoutContext(t *testing.T) {
	t.Parallel()
	filters := map[string]Filter{
		"exact":      Exact(map[string]string{"type": "x"}),
		"prefix":     Prefix(map[string]string{"tenantid": "a"}),
		"time":       Suffix(map[string]string{"time": "Z"}),
		"attributes": Attributes(map[string]string{"subject": ""}),
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if f.Match(context.Background(), event.Event{}) {
				t.Error("matched an event without a context")
			}
		})
	}
}

// Spec structs are shared with informers; a built filter must not alias them.
func TestForTriggerCopiesSpec(t *testing.T) {
	t.Parallel()
	m := map[string]string{"channel": "sms"}
	filters := []eventing.SubscriptionsAPIFilter{{Exact: m}}
	f, err := ForTrigger(nil, filters)
	if err != nil {
		t.Fatal(err)
	}
	m["channel"] = "email"
	if !f.Match(context.Background(), fullEvent(t)) {
		t.Error("filter changed after the spec map was mutated")
	}
}
