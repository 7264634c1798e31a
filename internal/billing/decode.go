package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

var (
	decimalType = reflect.TypeFor[decimal.Decimal]()
	timeType    = reflect.TypeFor[time.Time]()
)

// DecodeRateCard decodes a rate card from a request body and validates it. Every
// problem is Invalid with its JSON path: unknown fields (rates.sms.colour), wrong
// types, and amounts written as JSON numbers — decimal would accept 0.015 unquoted,
// but a client that produced it from a float may already have lost digits, so amounts
// must be strings ("0.015").
//
// encoding/json names neither the path of an unknown field nor a bad decimal, so the
// body is first walked as generic JSON against RateCard's type; the strict decode
// (DisallowUnknownFields) then runs on a body known to fit.
func DecodeRateCard(body []byte) (RateCard, error) {
	var raw any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return RateCard{}, errs.Wrap(errs.Invalid, err, "rate card: not valid JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return RateCard{}, errs.E(errs.Invalid, "rate card: unexpected data after the JSON object")
	}
	if _, ok := raw.(map[string]any); !ok {
		return RateCard{}, errs.E(errs.Invalid, "rate card: want a JSON object")
	}
	var v violations
	v.checkJSON("", reflect.TypeFor[RateCard](), raw)
	if err := v.err("rate card body"); err != nil {
		return RateCard{}, err
	}
	var c RateCard
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&c); err != nil {
		// Not expected after the walk; kept so a gap in it still fails closed.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			v.add(te.Field, "want a JSON %s", te.Type)
			return RateCard{}, v.err("rate card body")
		}
		return RateCard{}, errs.Wrap(errs.Invalid, err, "rate card")
	}
	if err := c.Validate(); err != nil {
		return RateCard{}, err
	}
	return c, nil
}

// checkJSON reports where x (decoded with UseNumber) does not fit t. null fits
// anything, as in encoding/json: it leaves the zero value, which Validate judges.
func (v *violations) checkJSON(path string, t reflect.Type, x any) {
	if x == nil {
		return
	}
	switch t {
	case decimalType:
		switch x := x.(type) {
		case string:
			if _, err := ledger.ParseAmount(x); err != nil {
				v.add(path, "%q: %s", x, reasonOf(err))
			}
		case json.Number:
			v.add(path, "%s is a JSON number: write amounts as strings (\"%s\"), numbers may have passed through a float and lost digits", x, x)
		default:
			v.add(path, "want a decimal string like \"0.015\"")
		}
		return
	case timeType:
		s, ok := x.(string)
		var tt time.Time
		if !ok || tt.UnmarshalText([]byte(s)) != nil {
			v.add(path, "want an RFC 3339 time like \"2026-01-01T00:00:00Z\"")
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		v.checkJSON(path, t.Elem(), x)
	case reflect.String:
		if _, ok := x.(string); !ok {
			v.add(path, "want a string")
		}
	case reflect.Bool:
		if _, ok := x.(bool); !ok {
			v.add(path, "want true or false")
		}
	case reflect.Int, reflect.Int64:
		n, ok := x.(json.Number)
		if !ok {
			v.add(path, "want a whole number")
		} else if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			v.add(path, "%s: want a whole number", n)
		}
	case reflect.Slice:
		arr, ok := x.([]any)
		if !ok {
			v.add(path, "want an array")
			return
		}
		for i, e := range arr {
			v.checkJSON(fmt.Sprintf("%s[%d]", path, i), t.Elem(), e)
		}
	case reflect.Map:
		obj, ok := x.(map[string]any)
		if !ok {
			v.add(path, "want an object")
			return
		}
		structs := t.Elem().Kind() == reflect.Struct && t.Elem() != decimalType && t.Elem() != timeType
		for _, k := range sortedKeys(obj) {
			v.checkJSON(mapPath(path, k, structs), t.Elem(), obj[k])
		}
	case reflect.Struct:
		obj, ok := x.(map[string]any)
		if !ok {
			v.add(path, "want an object")
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				v.add(p, "unknown field")
				continue
			}
			v.checkJSON(p, ft, obj[k])
		}
	default:
		v.add(path, "cannot be decoded") // a RateCard field of a kind this walk does not know
	}
}

// jsonFields maps t's JSON names to field types. Names match exactly: encoding/json's
// case-insensitive matching would let "Name" through as "name".
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}
