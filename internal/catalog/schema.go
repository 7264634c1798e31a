package catalog

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// SchemaBase is where the data schemas are published; DataSchemaURI appends
// "<type>.json". Each schema's $id is its URI, so it resolves to itself.
const SchemaBase = "https://catalyst-cpaas.github.io/catalyst/schemas/"

// DataSchemaURI is the dataschema attribute every event of typ carries.
func DataSchemaURI(typ string) string { return SchemaBase + typ + ".json" }

// typeSchema is one type's schema, generated and compiled once.
type typeSchema struct {
	raw      []byte
	compiled *jsv.Schema
}

// Schema returns the JSON Schema (draft 2020-12) of typ's data: standalone (no $ref,
// no $defs), objects closed with additionalProperties false, and every field without
// omitempty or omitzero required. The bytes are the caller's to keep.
func Schema(typ string) ([]byte, error) {
	s, err := schemaOf(typ)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(s.raw), nil
}

func schemaOf(typ string) (*typeSchema, error) {
	build, ok := catalogue().schemas[typ]
	if !ok {
		return nil, unknownType(typ)
	}
	return build()
}

func unknownType(typ string) *errs.Error {
	v := violations{{Field: "type", Reason: quote(typ) + " is not in the catalogue"}}
	return &errs.Error{Code: errs.Invalid, Message: "invalid event: " + v.String(), Fields: v}
}

var decimalType = reflect.TypeFor[decimal.Decimal]()

// mapType gives decimal.Decimal its wire form; left alone, the reflector would see a
// struct with unexported fields and emit an empty object.
func mapType(t reflect.Type) *jsonschema.Schema {
	if t == decimalType {
		return &jsonschema.Schema{Type: "string", Pattern: DecimalPattern}
	}
	return nil
}

// buildSchema reflects e.Data into a schema and compiles it. A failure here is a bug
// in a catalogue type, which the package tests catch for every entry.
func buildSchema(e Entry) (*typeSchema, error) {
	r := &jsonschema.Reflector{DoNotReference: true, Anonymous: true, Mapper: mapType}
	s := r.Reflect(e.Data)
	s.ID = jsonschema.ID(DataSchemaURI(e.Type))
	s.Title = e.Type
	s.Description = e.Description
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "schema of %s", e.Type)
	}
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "schema of %s", e.Type)
	}
	c := jsv.NewCompiler()
	c.DefaultDraft(jsv.Draft2020)
	c.AssertFormat() // uuid and date-time are checked, not just annotations
	if err := c.AddResource(DataSchemaURI(e.Type), doc); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "schema of %s", e.Type)
	}
	compiled, err := c.Compile(DataSchemaURI(e.Type))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "compile schema of %s", e.Type)
	}
	return &typeSchema{raw: raw, compiled: compiled}, nil
}
