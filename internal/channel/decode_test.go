package channel

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	body := `
	{"channel":"whatsapp","to":"44 7911 123456","from":"+14155552671",
	 "content":{"type":"template","template_name":"order_update","template_language":"en-US","template_params":["42"]},
	 "options":{"ttl":3600,"ratio":0.5,"tags":["a"],"nested":{"on":true,"none":null}}}
	`
	got, err := Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode: %v %+v", err, fieldsOf(err))
	}
	want := Request{Channel: "whatsapp", To: "+447911123456", From: "+14155552671",
		Content: tmpl("order_update", "en_US", "42"),
		// Integers stay int64, as sigs.k8s.io/json decodes them; other numbers float64.
		Options: map[string]any{"ttl": int64(3600), "ratio": 0.5, "tags": []any{"a"}, "nested": map[string]any{"on": true, "none": nil}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode =\n %#v\nwant\n %#v", got, want)
	}
}

// TestDecodeRefuses covers the 400s (malformed bodies) and that Validate's 422s come
// through Decode.
func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	const ok = `"channel":"sms","to":"+447911123456","content":{"type":"text","text":"hi"}`
	tests := []struct {
		name   string
		body   string
		code   errs.Code
		fields []string
		msg    string // substring of the message
	}{
		{"empty", "", errs.Invalid, nil, "empty"},
		{"blank", " \n", errs.Invalid, nil, "empty"},
		{"null", "null", errs.Invalid, nil, "JSON object"},
		{"array", `[{` + ok + `}]`, errs.Invalid, nil, "JSON object"},
		{"malformed", `{"channel":"sms",}`, errs.Invalid, nil, "offset 18"},
		{"truncated", `{"channel":"sms"`, errs.Invalid, nil, "unexpected end"},
		{"trailing object", `{` + ok + `} {}`, errs.Invalid, nil, "trailing data"},
		{"trailing garbage", `{` + ok + `}x`, errs.Invalid, nil, "trailing data"},
		{"unknown field", `{` + ok + `,"priority":1}`, errs.Invalid, []string{"priority"}, "unknown field"},
		{"unknown nested field", `{"channel":"sms","to":"+447911123456","content":{"type":"text","txt":"hi"}}`, errs.Invalid, []string{"content.txt"}, "unknown field"},
		{"case-mismatched field", `{"Channel":"sms","to":"+447911123456","content":{"type":"text","text":"hi"}}`, errs.Invalid, []string{"Channel"}, "unknown field"},
		{"duplicate field", `{` + ok + `,"to":"+14155552671"}`, errs.Invalid, []string{"to"}, "duplicate field"},
		{"wrong type", `{"channel":"sms","to":447911123456,"content":{"type":"text","text":"hi"}}`, errs.Invalid, []string{"to"}, "want a string, got number"},
		{"wrong nested type", `{"channel":"whatsapp","to":"+447911123456","content":{"type":"template","template_params":[1]}}`, errs.Invalid, []string{"content.template_params"}, "want a string"},
		{"content not an object", `{"channel":"sms","to":"+447911123456","content":"hi"}`, errs.Invalid, []string{"content"}, "want an object"},
		{"options not an object", `{` + ok + `,"options":[1]}`, errs.Invalid, []string{"options"}, "want an object"},
		{"number out of range", `{` + ok + `,"options":{"x":1e400}}`, errs.Invalid, []string{"options"}, "1e400"},
		{"invalid UTF-8", "{" + ok + ",\"from\":\"A\xffB\"}", errs.Invalid, nil, "UTF-8"},
		{"oversized", `{` + ok + `,"options":{"pad":"` + strings.Repeat("x", MaxRequestBytes) + `"}}`, errs.Invalid, nil, "at most 262144"},
		{"validation errors", `{"channel":"sms","to":"447911123456","content":{"type":"media"}}`, errs.Unprocessable, []string{"to", "content.type"}, "2 problems"},
		{"unknown channel", `{"channel":"fax","to":"1","content":{"type":"text","text":"hi"}}`, errs.Unprocessable, []string{"channel"}, "unknown channel"},
		{"null fields are absent", `{"channel":"sms","to":null,"content":null}`, errs.Unprocessable, []string{"to", "content.type"}, "problems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Decode([]byte(tt.body))
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("Decode = %+v, %#v; want code %s", r, err, tt.code)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %q, want %q (%+v)", fields, tt.fields, e.Fields)
			}
		})
	}
}

// TestDecodeMaxBody accepts a body of exactly MaxRequestBytes.
func TestDecodeMaxBody(t *testing.T) {
	t.Parallel()
	head := `{"channel":"custom","to":"x","content":{"type":"text","text":"hi"},"options":{"pad":"`
	tail := `"}}`
	body := head + strings.Repeat("x", MaxRequestBytes-len(head)-len(tail)) + tail
	if _, err := Decode([]byte(body)); err != nil || len(body) != MaxRequestBytes {
		t.Fatalf("Decode(%d bytes): %v", len(body), err)
	}
}
