package catalog

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

func TestEntries(t *testing.T) {
	t.Parallel()
	all := Entries()
	if !slices.IsSortedFunc(all, func(a, b Entry) int { return strings.Compare(a.Type, b.Type) }) {
		t.Error("Entries not sorted by type")
	}
	name := regexp.MustCompile(`^io\.catalyst\.[a-z]+\.[a-z]+$`)
	known := []string{ExtTenantID, ExtChannel, ExtMessageID, ExtPartitionKey, ExtDecision}
	ex := examples()
	for i := 1; i < len(all); i++ {
		if all[i].Type == all[i-1].Type {
			t.Errorf("duplicate type %s", all[i].Type)
		}
	}
	for _, e := range all {
		t.Run(e.Type, func(t *testing.T) {
			t.Parallel()
			if !name.MatchString(e.Type) {
				t.Errorf("type does not match %s", name)
			}
			if e.Description == "" || e.Data == nil || len(e.Producers) == 0 || len(e.Consumers) == 0 {
				t.Errorf("incomplete entry %+v", e)
			}
			for _, x := range e.Extensions {
				if !slices.Contains(known, x) {
					t.Errorf("extension %q is not a routing extension", x)
				}
			}
			if e.requires(ExtMessageID) && e.partitionKeyOf() != ExtMessageID {
				t.Errorf("a message's events must be keyed by messageid; extensions %v", e.Extensions)
			}
			if strings.HasPrefix(e.Type, "io.catalyst.message.") && !slices.Contains(e.Consumers, messageRecord) {
				t.Errorf("message events are consumed by %s; consumers %v", messageRecord, e.Consumers)
			}
			if _, ok := ex[e.Type]; !ok {
				t.Errorf("no example in examples_test.go")
			}
			got, ok := Lookup(e.Type)
			if !ok || !reflect.DeepEqual(got, e) {
				t.Errorf("Lookup = %+v, %v; want the entry", got, ok)
			}
		})
	}
	if _, ok := Lookup("io.catalyst.message.teleported"); ok {
		t.Error("Lookup found an unknown type")
	}
}

// Callers get copies: editing one does not edit the catalogue.
func TestEntriesAreCopies(t *testing.T) {
	t.Parallel()
	e, _ := Lookup(MessageSentType)
	e.Extensions[0] = "changed"
	e.Producers[0] = "changed"
	Entries()[0].Consumers[0] = "changed"
	again, _ := Lookup(MessageSentType)
	if again.Extensions[0] == "changed" || again.Producers[0] == "changed" || Entries()[0].Consumers[0] == "changed" {
		t.Fatal("the catalogue was modified through a returned entry")
	}
}

// Every schema is standalone: no reference (not even a local one), compiles with a
// loader that refuses every URL, and closes every object.
func TestSchemaStandalone(t *testing.T) {
	t.Parallel()
	for _, e := range Entries() {
		t.Run(e.Type, func(t *testing.T) {
			t.Parallel()
			raw, err := Schema(e.Type)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != DataSchemaURI(e.Type) {
				t.Errorf("$schema %v, $id %v", doc["$schema"], doc["$id"])
			}
			walk(doc, "", func(path string, node map[string]any) {
				for _, k := range []string{"$ref", "$defs", "$dynamicRef", "definitions"} {
					if _, ok := node[k]; ok {
						t.Errorf("%s has %s", path, k)
					}
				}
				if _, ok := node["properties"]; ok && node["additionalProperties"] != false {
					t.Errorf("%s: object without additionalProperties false", path)
				}
			})
			c := jsv.NewCompiler()
			c.UseLoader(refuseLoader{})
			parsed, _ := jsv.UnmarshalJSON(strings.NewReader(string(raw)))
			if err := c.AddResource("https://example.invalid/s.json", parsed); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile("https://example.invalid/s.json"); err != nil {
				t.Errorf("compile without loading anything: %v", err)
			}
			raw[0] = 'X'
			if again, _ := Schema(e.Type); again[0] != '{' {
				t.Error("Schema returned the cached bytes, not a copy")
			}
		})
	}
	if _, err := Schema("io.catalyst.nope.nope"); err == nil {
		t.Error("Schema of an unknown type: no error")
	}
}

type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) { return nil, errors.New("refused " + url) }

func walk(node any, path string, visit func(string, map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		visit(path, n)
		for k, v := range n {
			walk(v, path+"/"+k, visit)
		}
	case []any:
		for _, v := range n {
			walk(v, path+"/[]", visit)
		}
	}
}

// Money is never a float: the only float fields are allow-listed non-money values.
func TestNoFloatFields(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{} // none today; firewall features (ratios, probabilities) live in another package
	for _, e := range Entries() {
		floats(reflect.TypeOf(e.Data), func(field string) {
			if !allowed[field] {
				t.Errorf("%s: float field %s; money is decimal.Decimal", e.Type, field)
			}
		})
	}
}

func floats(t reflect.Type, found func(string)) {
	if t.Kind() != reflect.Struct {
		return
	}
	for f := range t.Fields() {
		switch ft := f.Type; {
		case ft.Kind() == reflect.Float32 || ft.Kind() == reflect.Float64:
			found(t.Name() + "." + f.Name)
		case ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath():
			floats(ft, found)
		}
	}
}

// message_requested.go spells the channel enum in a tag; it must match Channels.
func TestChannelEnumsAgree(t *testing.T) {
	t.Parallel()
	raw, err := Schema(MessageRequestedType)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]struct{ Enum []string } `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if got := s.Properties["channel"].Enum; !slices.Equal(got, Channels()) {
		t.Errorf("message.requested channel enum %v, Channels() %v", got, Channels())
	}
}

// TestIntegratorsMayPost pins which types an API key may post to the ingress: adding
// integrators to a platform type's producers must be a deliberate, reviewed change.
func TestIntegratorsMayPost(t *testing.T) {
	t.Parallel()
	var got []string
	for _, e := range Entries() {
		if e.PostedBy() == PostedByIntegrators {
			got = append(got, e.Type)
		}
	}
	if want := []string{DiagnosticsPingType, MessageRequestedType}; !slices.Equal(got, want) {
		t.Errorf("types integrators may post: %v, want %v", got, want)
	}
	for typ, want := range map[string]bool{
		MessageRequestedType:         true,
		BillingAuthorizedType:        false,
		MessageDeliveredType:         false,
		MessageFailedType:            false,
		MessageScreenedType:          false,
		"io.catalyst.not.catalogued": false,
		"com.acme.order.created":     true,
	} {
		if got := IntegratorsMayPost(typ); got != want {
			t.Errorf("IntegratorsMayPost(%s) = %v, want %v", typ, got, want)
		}
	}
}
