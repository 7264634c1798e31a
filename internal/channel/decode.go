package channel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	sigsjson "sigs.k8s.io/json"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// MaxRequestBytes bounds a POST /api/v1/messages body: room for every channel's text
// limit (custom's 64 Ki code points too, unless they are mostly 4-byte characters).
// The HTTP handler caps its reader with it as well, so an oversized body is never
// buffered; Decode's own check (400) is the backstop for other callers.
const MaxRequestBytes = 256 << 10

// Decode parses a POST /api/v1/messages body strictly, then validates it. A body that
// is too large, not UTF-8, not one JSON object, or has unknown, duplicate or
// wrongly-typed fields (keys match case-sensitively) or trailing data is refused with
// code Invalid (400), naming the field where known; what Validate refuses is
// Unprocessable (422). Strictness is for safety: a misspelt "tempalte_name" or a second
// "to" must not be silently ignored on a request that spends money.
func Decode(body []byte) (Request, error) {
	if len(body) > MaxRequestBytes {
		return Request{}, invalid(nil, "request body is %d bytes; at most %d", len(body), MaxRequestBytes)
	}
	if !utf8.Valid(body) {
		return Request{}, invalid(nil, "request body is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return Request{}, invalid(nil, "request body is empty; want a JSON object")
	}
	if trimmed[0] != '{' {
		return Request{}, invalid(nil, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return Request{}, syntaxError(err)
	}
	if off := dec.InputOffset(); len(bytes.TrimLeft(body[off:], " \t\r\n")) > 0 {
		return Request{}, invalid(nil, "malformed JSON: trailing data after the object at offset %d", off)
	}
	var r Request
	strict, err := sigsjson.UnmarshalStrict(raw, &r)
	if err != nil {
		return Request{}, typeError(raw, err)
	}
	if len(strict) > 0 {
		var fields []errs.FieldViolation
		for _, e := range strict {
			f := errs.FieldViolation{Reason: e.Error()}
			var fe sigsjson.FieldError
			if errors.As(e, &fe) {
				f.Field = fe.FieldPath()
				f.Reason = strings.TrimSuffix(strings.TrimPrefix(e.Error(), "json: "), fmt.Sprintf(" %q", f.Field))
			}
			fields = append(fields, f)
		}
		return Request{}, invalid(fields, "malformed request: %s", strings.TrimPrefix(strict[0].Error(), "json: "))
	}
	return Validate(r)
}

func invalid(fields []errs.FieldViolation, format string, args ...any) *errs.Error {
	return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf(format, args...), Fields: fields}
}

func syntaxError(err error) *errs.Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid(nil, "malformed JSON at offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return invalid(nil, "malformed JSON: unexpected end of input")
	}
	return invalid(nil, "malformed JSON: %v", err)
}

// typeError re-decodes with encoding/json, whose *json.UnmarshalTypeError names the
// field path (sigs.k8s.io/json's own type is internal).
func typeError(raw []byte, err error) *errs.Error {
	var te *json.UnmarshalTypeError
	if errors.As(json.Unmarshal(raw, new(Request)), &te) && te.Field != "" {
		return invalid([]errs.FieldViolation{{Field: te.Field, Reason: fmt.Sprintf("want %s, got %s", jsonKind(te), te.Value)}},
			"malformed request: %s: want %s, got %s", te.Field, jsonKind(te), te.Value)
	}
	return invalid(nil, "malformed request: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "a different type"
	}
	switch te.Type.Kind().String() {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "float64", "float32", "int64", "int", "interface":
		return "a number in range"
	}
	return te.Type.String()
}
