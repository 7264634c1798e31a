package channel

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// FuzzDecode checks Decode's contract on any body: it never panics; every refusal is
// an *errs.Error answered with 400 or 422, with a message, and a 422 names at least one
// field, each with a reason; every accepted request validates to itself, and survives
// being encoded and decoded again (options aside: JSON does not keep 1.0 apart from 1).
func FuzzDecode(f *testing.F) {
	for _, tt := range validCases {
		b, err := json.Marshal(tt.in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"channel":"sms"}`, `{"channel":"sms",}`, `{"channel":"sms"} {}`,
		`{"channel":"sms","to":"+447911123456","content":{"type":"text","text":"hi"},"x":1}`,
		`{"channel":"sms","to":"+447911123456","to":"+1","content":{"type":"text","text":"€€€"}}`,
		`{"channel":"sms","to":447911123456,"content":{"type":"text","text":"hi"}}`,
		`{"channel":"xmpp","to":"Bob@Example.ORG./Res","content":{"type":"media","media_url":"https://a/b","media_type":"image/png"}}`,
		`{"channel":"telegram","to":"-0","from":"x_bot","content":{"type":"text","text":"\u0000"}}`,
		`{"channel":"whatsapp","to":"1 415 555 2671","content":{"type":"template","template_name":"a","template_language":"en-US","template_params":["",null]}}`,
		`{"channel":"custom","to":"\u2028","content":{"type":"text","text":"\ud800"},"options":{"a":[[[1e308]]],"b":{"c":-0}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Decode(body)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *errs.Error: %v", err, err)
			}
			if st := errs.Status(err); st != 400 && st != 422 {
				t.Fatalf("status %d (%s): %v", st, e.Code, err)
			}
			if e.Message == "" {
				t.Fatalf("empty message: %#v", e)
			}
			if e.Code == errs.Unprocessable && len(e.Fields) == 0 {
				t.Fatalf("422 without fields: %#v", e)
			}
			for _, fv := range e.Fields {
				if fv.Reason == "" {
					t.Fatalf("field %q without reason: %#v", fv.Field, e)
				}
			}
			return
		}
		again, err := Validate(r)
		if err != nil {
			t.Fatalf("Decode accepted %+v but Validate refuses it: %v %+v", r, err, fieldsOf(err))
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("Validate is not idempotent:\n %#v\n %#v", r, again)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		if buf.Len() > MaxRequestBytes {
			return // escaping (U+2028 → \u2028) can grow a body past the limit
		}
		round, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("re-decoding %s: %v %+v", buf.Bytes(), err, fieldsOf(err))
		}
		round.Options, r.Options = nil, nil
		if !reflect.DeepEqual(round, r) {
			t.Fatalf("round trip changed the request:\n %#v\n %#v", r, round)
		}
	})
}
