package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// dataFieldOf pairs each routing extension with the data field that names the same
// thing; when the type requires the extension, the two must agree.
var dataFieldOf = map[string]string{ExtTenantID: "tenant_id", ExtMessageID: "message_id", ExtChannel: "channel", ExtDecision: "decision"}

// Validate checks e against the catalogue and returns nil or an *errs.Error with code
// Invalid listing every problem by attribute name or, for the data, "data" plus the
// JSON pointer ("data/amount"). It checks: the type is catalogued; e passes the
// CloudEvents rules (e.Validate); dataschema is DataSchemaURI(type); the type's
// required extensions are present and non-empty, partitionkey equals messageid (or
// tenantid on tenant-wide types) and channel is a known channel; datacontenttype is
// application/json; the data validates against the type's schema and agrees with the
// extensions. Schemas compile once per type, on first use.
func Validate(e event.Event) error {
	entry, ok := lookup(e.Type())
	if !ok {
		return unknownType(e.Type())
	}
	var v violations
	var ce event.ValidationError
	if err := e.Validate(); errors.As(err, &ce) {
		for _, attr := range slices.Sorted(maps.Keys(ce)) {
			v.add(attr, ce[attr].Error())
		}
	} else if err != nil {
		v.add("event", err.Error())
	}
	if got, want := e.DataSchema(), DataSchemaURI(entry.Type); got != want {
		v.add("dataschema", fmt.Sprintf("got %s, want %s", quote(got), quote(want)))
	}
	ext := extensions(e, &v)
	for _, name := range entry.Extensions {
		if ext[name] == "" {
			v.add(name, "missing: required on "+entry.Type)
		}
	}
	if key := entry.partitionKeyOf(); key != "" && ext[key] != "" && ext[ExtPartitionKey] != "" && ext[ExtPartitionKey] != ext[key] {
		v.add(ExtPartitionKey, fmt.Sprintf("got %s, must equal the %s extension %s", quote(ext[ExtPartitionKey]), key, quote(ext[key])))
	}
	if c := ext[ExtChannel]; entry.requires(ExtChannel) && c != "" && !knownChannel(c) {
		v.add(ExtChannel, fmt.Sprintf("unknown channel %s, want one of %s", quote(c), strings.Join(channels, ", ")))
	}
	if mt, _, err := mime.ParseMediaType(e.DataContentType()); err != nil || mt != event.ApplicationJSON {
		v.add("datacontenttype", fmt.Sprintf("got %s, want %s", quote(e.DataContentType()), event.ApplicationJSON))
	}
	validateData(entry, e.Data(), ext, &v)
	if len(v) == 0 {
		return nil
	}
	return &errs.Error{Code: errs.Invalid, Message: "invalid " + entry.Type + " event: " + v.String(), Fields: v}
}

// extensions returns e's extensions as strings, reporting any that is not one.
func extensions(e event.Event, v *violations) map[string]string {
	out := map[string]string{}
	for name, val := range e.Extensions() {
		s, err := types.ToString(val)
		if err != nil {
			v.add(name, "must be a string")
			continue
		}
		out[name] = s
	}
	return out
}

// validateData checks data against the entry's schema, then the routing fields of the
// data against the extensions.
func validateData(entry Entry, data []byte, ext map[string]string, v *violations) {
	if len(data) == 0 {
		v.add("data", "missing: every catalogued event carries JSON data")
		return
	}
	s, err := schemaOf(entry.Type)
	if err != nil {
		v.add("data", err.Error())
		return
	}
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		v.add("data", "not JSON: "+err.Error())
		return
	}
	var ve *jsv.ValidationError
	if err := s.compiled.Validate(doc); errors.As(err, &ve) {
		dataViolations(ve, v)
		return
	} else if err != nil {
		v.add("data", err.Error())
		return
	}
	obj, _ := doc.(map[string]any)
	for _, name := range entry.Extensions {
		field, ok := dataFieldOf[name]
		if !ok {
			continue
		}
		if got, ok := obj[field].(string); ok && ext[name] != "" && got != ext[name] {
			v.add("data/"+field, fmt.Sprintf("got %s, must equal the %s extension %s", quote(got), name, quote(ext[name])))
		}
	}
}

// dataViolations flattens a schema error into one violation per leaf, named by its
// JSON pointer; a missing or extra property is named by its own pointer.
func dataViolations(ve *jsv.ValidationError, v *violations) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			dataViolations(c, v)
		}
		return
	}
	at := "data" + pointer(ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			v.add(at+pointer([]string{name}), "missing: required")
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			v.add(at+pointer([]string{name}), "not allowed: the schema has no such field")
		}
	default:
		v.add(at, ve.BasicOutput().Error.String())
	}
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointer renders tokens as a JSON pointer (RFC 6901).
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(t))
	}
	return b.String()
}

// New builds an event of typ from source, data and extensions, and validates it: a
// fresh UUID id, the time now in UTC, dataschema, and data as JSON (data may be a Go
// value, or []byte or json.RawMessage already encoded). When the type ties partitionkey
// to another extension and ext has none, New sets it from that extension. It returns
// the zero Event and Validate's error when the result breaks the catalogue.
func New(typ, source string, data any, ext map[string]string) (event.Event, error) {
	return NewAt(time.Now(), typ, source, data, ext)
}

// NewAt is New with the event's time given: a producer with an injected clock dates
// its events by it, since consumers act at the event's time (the firewall screens a
// request at it, the message record files a status under it).
func NewAt(at time.Time, typ, source string, data any, ext map[string]string) (event.Event, error) {
	entry, ok := lookup(typ)
	if !ok {
		return event.Event{}, unknownType(typ)
	}
	var raw []byte
	switch d := data.(type) {
	case []byte:
		raw = d
	case json.RawMessage:
		raw = d
	default:
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return event.Event{}, errs.Wrap(errs.Invalid, err, "encode %s data", typ)
		}
	}
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetType(typ)
	e.SetSource(source)
	e.SetTime(at.UTC())
	e.SetDataSchema(DataSchemaURI(typ))
	e.SetDataContentType(event.ApplicationJSON)
	e.DataEncoded = raw
	for name, val := range ext {
		e.SetExtension(name, val)
	}
	if key := entry.partitionKeyOf(); key != "" && ext[ExtPartitionKey] == "" && ext[key] != "" {
		e.SetExtension(ExtPartitionKey, ext[key])
	}
	if err := Validate(e); err != nil {
		return event.Event{}, err
	}
	return e, nil
}

// lookup is Lookup without the copy, for read-only use inside the package.
func lookup(typ string) (Entry, bool) {
	r := catalogue()
	i, ok := r.index[typ]
	if !ok {
		return Entry{}, false
	}
	return r.entries[i], true
}

// violations collects every problem of one event, in the order found.
type violations []errs.FieldViolation

func (v *violations) add(field, reason string) {
	*v = append(*v, errs.FieldViolation{Field: field, Reason: reason})
}

func (v violations) String() string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = f.Field + ": " + f.Reason
	}
	return strings.Join(parts, "; ")
}

// quote renders a value for an error message; an empty value shows as "".
func quote(s string) string { return strconv.Quote(s) }
