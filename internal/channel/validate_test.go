package channel

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func text(s string) catalog.Content { return catalog.Content{Type: Text, Text: s} }

func media(url, typ, caption string) catalog.Content {
	return catalog.Content{Type: Media, MediaURL: url, MediaType: typ, Text: caption}
}

func tmpl(name, lang string, params ...string) catalog.Content {
	return catalog.Content{Type: Template, TemplateName: name, TemplateLanguage: lang, TemplateParams: params}
}

const jpeg = "https://cdn.example.com/a.jpg"

// validCases are accepted requests per channel, with what Validate makes of them.
var validCases = []struct {
	name    string
	in, out Request
}{
	{"sms +E.164, alphanumeric from",
		Request{Channel: "sms", To: " +44 7911 123456 ", From: "ACME Ltd", Content: text("hi")},
		Request{Channel: "sms", To: "+447911123456", From: "ACME Ltd", Content: text("hi")}},
	{"sms short code from",
		Request{Channel: "sms", To: "+14155552671", From: "12345", Content: text("hi")},
		Request{Channel: "sms", To: "+14155552671", From: "12345", Content: text("hi")}},
	{"empty params and options become absent",
		Request{Channel: "whatsapp", To: "+447911123456", Content: tmpl("t", "en", []string{}...), Options: map[string]any{}},
		Request{Channel: "whatsapp", To: "+447911123456", Content: tmpl("t", "en")}},
	{"sms E.164 from, written (0) trunk prefix dropped",
		Request{Channel: "sms", To: "+44 (0)7911 123456", From: "+1 (415) 555-2671", Content: text("hi")},
		Request{Channel: "sms", To: "+447911123456", From: "+14155552671", Content: text("hi")}},
	{"ussd",
		Request{Channel: "ussd", To: "+254712345678", From: "*384*12#", Content: text("CON Menu\n1. Balance")},
		Request{Channel: "ussd", To: "+254712345678", From: "*384*12#", Content: text("CON Menu\n1. Balance")}},
	{"whatsapp wa_id digits normalised",
		Request{Channel: "whatsapp", To: "14155552671", Content: text("hi")},
		Request{Channel: "whatsapp", To: "+14155552671", Content: text("hi")}},
	{"whatsapp media, MIME type lower-cased",
		Request{Channel: "whatsapp", To: "+447911123456", Content: media(jpeg, "Image/JPEG", "caption")},
		Request{Channel: "whatsapp", To: "+447911123456", Content: media(jpeg, "image/jpeg", "caption")}},
	{"whatsapp template, en-US → en_US",
		Request{Channel: "whatsapp", To: "+447911123456", From: "+14155552671", Content: tmpl("order_update", "en-US", "42", "Ada")},
		Request{Channel: "whatsapp", To: "+447911123456", From: "+14155552671", Content: tmpl("order_update", "en_US", "42", "Ada")}},
	{"telegram chat id normalised, bot from gets @",
		Request{Channel: "telegram", To: "-00100123", From: "acme_bot", Content: text("hi")},
		Request{Channel: "telegram", To: "-100123", From: "@acme_bot", Content: text("hi")}},
	{"telegram @username, media",
		Request{Channel: "telegram", To: "@acme_news", Content: media(jpeg, "image/jpeg", "")},
		Request{Channel: "telegram", To: "@acme_news", Content: media(jpeg, "image/jpeg", "")}},
	{"messenger PSID",
		Request{Channel: "messenger", To: "1254459154682919", From: "108004101234567", Content: text("hi")},
		Request{Channel: "messenger", To: "1254459154682919", From: "108004101234567", Content: text("hi")}},
	{"instagram IGSID, media without caption",
		Request{Channel: "instagram", To: "17841400000000000", Content: media(jpeg, "image/png", "")},
		Request{Channel: "instagram", To: "17841400000000000", Content: media(jpeg, "image/png", "")}},
	{"viber",
		Request{Channel: "viber", To: "01234567890A=", From: "Acme", Content: text("hi")},
		Request{Channel: "viber", To: "01234567890A=", From: "Acme", Content: text("hi")}},
	{"rcs",
		Request{Channel: "rcs", To: "+447911123456", From: "acme-agent", Content: media(jpeg, "image/jpeg", "card")},
		Request{Channel: "rcs", To: "+447911123456", From: "acme-agent", Content: media(jpeg, "image/jpeg", "card")}},
	{"xmpp JID prepared (RFC 7622)",
		Request{Channel: "xmpp", To: "Bob@Example.ORG./Phone", From: "notify@xn--bcher-kva.example", Content: text("hi")},
		Request{Channel: "xmpp", To: "bob@example.org/Phone", From: "notify@bücher.example", Content: text("hi")}},
	{"custom, options kept",
		Request{Channel: "custom", To: "  queue:orders/42  ", Content: tmpl("welcome", "pt_BR"),
			Options: map[string]any{"ttl": int64(3600), "tags": []any{"a", 1.5}, "deep": map[string]any{"x": nil}}},
		Request{Channel: "custom", To: "queue:orders/42", Content: tmpl("welcome", "pt_BR"),
			Options: map[string]any{"ttl": int64(3600), "tags": []any{"a", 1.5}, "deep": map[string]any{"x": nil}}}},
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	for _, tt := range validCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Validate(tt.in)
			if err != nil {
				t.Fatalf("Validate: %v (%+v)", err, fieldsOf(err))
			}
			if !reflect.DeepEqual(got, tt.out) {
				t.Fatalf("Validate =\n %+v\nwant\n %+v", got, tt.out)
			}
			if again, err := Validate(got); err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("not idempotent: %+v, %v", again, err)
			}
		})
	}
}

func fieldsOf(err error) []errs.FieldViolation {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// TestValidateRefuses checks each refusal is Unprocessable and names exactly the
// expected fields, in order.
func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	sms := func(to, from string, c catalog.Content) Request {
		return Request{Channel: "sms", To: to, From: from, Content: c}
	}
	ok := "+447911123456"
	tests := []struct {
		name   string
		in     Request
		fields []string
		reason string // a substring of the first reason
	}{
		{"missing channel", Request{To: ok, Content: text("hi")}, []string{"channel"}, "required; one of custom, instagram"},
		{"unknown channel", Request{Channel: "SMS", To: ok, Content: text("hi")}, []string{"channel"}, "want one of custom, instagram, messenger, rcs, sms, telegram, ussd, viber, whatsapp, xmpp"},
		{"missing to", sms("  ", "", text("hi")), []string{"to"}, "required"},
		{"sms to without +", sms("447911123456", "", text("hi")), []string{"to"}, "leading +"},
		{"sms to invalid number", sms("+4479", "", text("hi")), []string{"to"}, "not a valid phone number"},
		{"sms to vanity letters", sms("+1 800 FLOWERS", "", text("hi")), []string{"to"}, "E.164"},
		{"sms to with a trunk prefix libphonenumber would drop", sms("+1 1 201 200 0000", "", text("hi")), []string{"to"}, "would be sent to +12012000000"},
		{"whatsapp digits with a trunk prefix", Request{Channel: "whatsapp", To: "112012000000", Content: text("hi")}, []string{"to"}, "would be sent to +12012000000"},
		{"sms to extension", sms("+14155552671;ext=2", "", text("hi")), []string{"to"}, "E.164"},
		{"sms to invalid UTF-8", sms("+44\xff", "", text("hi")), []string{"to"}, "UTF-8"},
		{"sms from too long", sms(ok, "ACME Limited", text("hi")), []string{"from"}, "alphanumeric"},
		{"sms from digits only, not a short code", sms(ok, "12", text("hi")), []string{"from"}, "short code"},
		{"sms from punctuation", sms(ok, "ACME!", text("hi")), []string{"from"}, "alphanumeric"},
		{"ussd to without +", Request{Channel: "ussd", To: "254712345678", Content: text("hi")}, []string{"to"}, "leading +"},
		{"ussd bad service code", Request{Channel: "ussd", To: "+254712345678", From: "384", Content: text("hi")}, []string{"from"}, "service code"},
		{"whatsapp bad to", Request{Channel: "whatsapp", To: "wa:123", Content: text("hi")}, []string{"to"}, "E.164"},
		{"telegram bad to", Request{Channel: "telegram", To: "@abc", Content: text("hi")}, []string{"to"}, "@username"},
		{"telegram chat id 0", Request{Channel: "telegram", To: "-0", Content: text("hi")}, []string{"to"}, "non-zero"},
		{"telegram chat id overflow", Request{Channel: "telegram", To: "9223372036854775808", Content: text("hi")}, []string{"to"}, "64-bit"},
		{"telegram from not a bot", Request{Channel: "telegram", To: "42", From: "@acme_news", Content: text("hi")}, []string{"from"}, "ending in bot"},
		{"messenger non-numeric PSID", Request{Channel: "messenger", To: "abc", Content: text("hi")}, []string{"to"}, "numeric id"},
		{"instagram non-numeric IGSID", Request{Channel: "instagram", To: "1 2", Content: text("hi")}, []string{"to"}, "numeric id"},
		{"viber bad id", Request{Channel: "viber", To: "a b", Content: text("hi")}, []string{"to"}, "Viber user id"},
		{"viber id too long", Request{Channel: "viber", To: strings.Repeat("A", 65), Content: text("hi")}, []string{"to"}, "1–64"},
		{"viber sender name too long", Request{Channel: "viber", To: "abc=", From: strings.Repeat("n", 29), Content: text("hi")}, []string{"from"}, "1–28"},
		{"rcs to without +", Request{Channel: "rcs", To: "447911123456", Content: text("hi")}, []string{"to"}, "leading +"},
		{"xmpp bare domain", Request{Channel: "xmpp", To: "example.org", Content: text("hi")}, []string{"to"}, "localpart@domain"},
		{"xmpp bad localpart", Request{Channel: "xmpp", To: "a b@example.org", Content: text("hi")}, []string{"to"}, "localpart"},
		{"xmpp localpart over 1023 bytes", Request{Channel: "xmpp", To: strings.Repeat("a", 1024) + "@x.org", Content: text("hi")}, []string{"to"}, "1,023 bytes"},
		{"xmpp empty resource", Request{Channel: "xmpp", To: "a@x.org/", Content: text("hi")}, []string{"to"}, "resource"},
		{"custom to over 256 bytes", Request{Channel: "custom", To: strings.Repeat("x", 257), Content: text("hi")}, []string{"to"}, "256 bytes"},
		{"custom to control char", Request{Channel: "custom", To: "a\tb", Content: text("hi")}, []string{"to"}, "control"},
		{"empty content", sms(ok, "", catalog.Content{}), []string{"content.type"}, "required"},
		{"unknown content type", sms(ok, "", catalog.Content{Type: "sticker"}), []string{"content.type"}, "unknown content type"},
		{"empty text", sms(ok, "", text("")), []string{"content.text"}, "required"},
		{"blank text", sms(ok, "", text(" \n\t")), []string{"content.text"}, "non-space"},
		{"NUL in text", sms(ok, "", text("a\x00b")), []string{"content.text"}, "NUL"},
		{"invalid UTF-8 text", sms(ok, "", text("a\xffb")), []string{"content.text"}, "UTF-8"},
		{"media on sms", sms(ok, "", media(jpeg, "image/jpeg", "")), []string{"content.type"}, "sms does not accept media"},
		{"template on rcs", Request{Channel: "rcs", To: ok, Content: tmpl("t", "en")}, []string{"content.type"}, "rcs does not accept template"},
		{"template on telegram", Request{Channel: "telegram", To: "42", Content: tmpl("t", "en")}, []string{"content.type"}, "does not accept template"},
		{"media fields on text", sms(ok, "", catalog.Content{Type: Text, Text: "hi", MediaURL: jpeg, TemplateParams: []string{"x"}}),
			[]string{"content.media_url", "content.template_params"}, "not allowed with content.type text"},
		{"media without URL or type", Request{Channel: "whatsapp", To: ok, Content: media("", "", "")}, []string{"content.media_url", "content.media_type"}, "required"},
		{"media http", Request{Channel: "whatsapp", To: ok, Content: media("http://cdn.example.com/a.jpg", "image/jpeg", "")}, []string{"content.media_url"}, "https"},
		{"media relative", Request{Channel: "whatsapp", To: ok, Content: media("/a.jpg", "image/jpeg", "")}, []string{"content.media_url"}, "https"},
		{"media no host", Request{Channel: "whatsapp", To: ok, Content: media("https:///a.jpg", "image/jpeg", "")}, []string{"content.media_url"}, "host"},
		{"media credentials", Request{Channel: "whatsapp", To: ok, Content: media("https://u:p@cdn.example.com/a.jpg", "image/jpeg", "")}, []string{"content.media_url"}, "credentials"},
		{"media space", Request{Channel: "whatsapp", To: ok, Content: media("https://cdn.example.com/a b.jpg", "image/jpeg", "")}, []string{"content.media_url"}, "percent-encode"},
		{"media URL too long", Request{Channel: "whatsapp", To: ok, Content: media(jpeg+"?"+strings.Repeat("q", 2048), "image/jpeg", "")}, []string{"content.media_url"}, "2048 bytes"},
		{"media type not MIME", Request{Channel: "whatsapp", To: ok, Content: media(jpeg, "jpeg", "")}, []string{"content.media_type"}, "MIME"},
		{"media type with parameters", Request{Channel: "whatsapp", To: ok, Content: media(jpeg, "text/plain; charset=utf-8", "")}, []string{"content.media_type"}, "without parameters"},
		{"messenger caption", Request{Channel: "messenger", To: "1", Content: media(jpeg, "image/jpeg", "look")}, []string{"content.text"}, "no caption"},
		{"template bad name and language", Request{Channel: "whatsapp", To: ok, Content: tmpl("Order-Update", "english")},
			[]string{"content.template_name", "content.template_language"}, "a–z 0–9 _"},
		{"template missing name", Request{Channel: "whatsapp", To: ok, Content: tmpl("", "en")}, []string{"content.template_name"}, "1–512"},
		{"template with text", Request{Channel: "whatsapp", To: ok, Content: catalog.Content{Type: Template, TemplateName: "t", TemplateLanguage: "en", Text: "x"}},
			[]string{"content.text"}, "not allowed"},
		{"template empty param", Request{Channel: "whatsapp", To: ok, Content: tmpl("t", "en", "a", "b", "c", " ")}, []string{"content.template_params[3]"}, "empty"},
		{"template param too long", Request{Channel: "whatsapp", To: ok, Content: tmpl("t", "en", strings.Repeat("é", 1025))}, []string{"content.template_params[0]"}, "1025 characters, at most 1024"},
		{"template 21 params", Request{Channel: "whatsapp", To: ok, Content: tmpl("t", "en", slices.Repeat([]string{"p"}, 21)...)}, []string{"content.template_params"}, "at most 20"},
		{"options bad key", Request{Channel: "custom", To: "x", Content: text("hi"), Options: map[string]any{"a.b": 1}}, []string{"options"}, "option name"},
		{"options too many", Request{Channel: "custom", To: "x", Content: text("hi"), Options: manyOptions(33)}, []string{"options"}, "at most 32"},
		{"options NaN", Request{Channel: "custom", To: "x", Content: text("hi"), Options: map[string]any{"f": math.NaN()}}, []string{"options.f"}, "finite"},
		{"options NUL", Request{Channel: "custom", To: "x", Content: text("hi"), Options: map[string]any{"s": []any{"a\x00"}}}, []string{"options.s"}, "NUL"},
		{"options func", Request{Channel: "custom", To: "x", Content: text("hi"), Options: map[string]any{"f": func() {}}}, []string{"options.f"}, "not a JSON value"},
		{"options too deep", Request{Channel: "custom", To: "x", Content: text("hi"), Options: map[string]any{"d": nest(20)}}, []string{"options.d"}, "nested deeper"},
		{"several at once", Request{Channel: "sms", To: "447911123456", From: "ACME!", Content: text(strings.Repeat("a", 1531)), Options: map[string]any{"1x": true}},
			[]string{"to", "from", "content.text", "options"}, "leading +"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Validate(tt.in)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Unprocessable || errs.Status(err) != 422 || e.Message == "" {
				t.Fatalf("Validate(%+v) = %+v, %#v; want an Unprocessable *errs.Error", tt.in, got, err)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
				if f.Reason == "" {
					t.Errorf("field %s has no reason", f.Field)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Fatalf("fields = %q, want %q (%+v)", fields, tt.fields, e.Fields)
			}
			if !strings.Contains(e.Fields[0].Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", e.Fields[0].Reason, tt.reason)
			}
		})
	}
}

func manyOptions(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("o%d", i)] = i
	}
	return m
}

func nest(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}
