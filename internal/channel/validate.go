package channel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Limits shared by every channel.
const (
	maxMediaURLBytes   = 2048 // the de-facto URL limit of browsers, CDNs and providers
	maxTemplateParams  = 20
	maxTemplateParam   = 1024 // code points
	maxOptions         = 32
	maxOptionsDepth    = 16
	maxOptionKeyLength = 64
)

var (
	templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	templateLang = regexp.MustCompile(`^[a-z]{2,3}(?:[_-][A-Z]{2})?$`)
	// mimeType is an RFC 6838 type/subtype without parameters, lower case.
	mimeType  = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$`)
	optionKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// problems collects field violations in the order they are found.
type problems []errs.FieldViolation

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, errs.FieldViolation{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Validate checks r against its channel's rules and returns it normalised (addresses
// trimmed and in canonical form: +E.164, lower-case JID domains, …; template language
// en-US as en_US). Every problem is reported at once as an *errs.Error with code
// Unprocessable and one errs.FieldViolation per problem, named by JSON path. A missing
// or unknown channel is the one exception: the other rules depend on the channel, so
// that is reported alone, with the known channels listed. Validate is idempotent:
// validating its own output returns that output unchanged.
func Validate(r Request) (Request, error) {
	spec, ok := specs[r.Channel]
	if !ok {
		reason := "unknown channel; want one of " + strings.Join(names, ", ")
		if r.Channel == "" {
			reason = "required; one of " + strings.Join(names, ", ")
		}
		return Request{}, &errs.Error{Code: errs.Unprocessable,
			Message: "invalid message request: unknown channel",
			Fields:  []errs.FieldViolation{{Field: "channel", Reason: reason}}}
	}
	var p problems
	r.To = address(&p, "to", r.To, toRule(spec), true)
	r.From = address(&p, "from", r.From, addressRules[spec.FromKind], false)
	r.Content = content(&p, spec, r.Content)
	checkOptions(&p, r.Options)
	// Empty and absent are one thing; keep one form so the event encodes the same.
	if len(r.Content.TemplateParams) == 0 {
		r.Content.TemplateParams = nil
	}
	if len(r.Options) == 0 {
		r.Options = nil
	}
	if len(p) > 0 {
		msg := fmt.Sprintf("invalid %s message request: %d problems", spec.Name, len(p))
		if len(p) == 1 {
			msg = fmt.Sprintf("invalid %s message request: %s: %s", spec.Name, p[0].Field, p[0].Reason)
		}
		return Request{}, &errs.Error{Code: errs.Unprocessable, Message: msg, Fields: p}
	}
	return r, nil
}

func toRule(s Spec) addressFunc {
	if s.Name == "whatsapp" {
		return whatsappPhone
	}
	return addressRules[s.AddressKind]
}

// address trims surrounding white space and applies the channel's rule.
func address(p *problems, field, s string, rule addressFunc, required bool) string {
	if !utf8.ValidString(s) {
		p.add(field, "not valid UTF-8")
		return s
	}
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			p.add(field, "required")
		}
		return s
	}
	out, reason := rule(s)
	if reason != "" {
		p.add(field, "%s", reason)
		return s
	}
	return out
}

// content checks the content against the channel's accepted types and limits.
func content(p *problems, spec Spec, c catalog.Content) catalog.Content {
	switch c.Type {
	case "":
		p.add("content.type", "required; %s accepts %s", spec.Name, strings.Join(spec.Content, ", "))
		return c
	case Text, Media, Template, Binary:
		if !spec.accepts(c.Type) {
			p.add("content.type", "%s does not accept %s content; it accepts %s", spec.Name, c.Type, strings.Join(spec.Content, ", "))
			return c
		}
	default:
		p.add("content.type", "unknown content type; want text, media, template or binary")
		return c
	}
	// Fields that belong to another content type are refused rather than dropped, so
	// the caller learns of a mistake instead of sending something else.
	other := func(field, v, owner string) {
		if v != "" {
			p.add(field, "not allowed with content.type %s (belongs to %s)", c.Type, owner)
		}
	}
	if c.Type != Media {
		other("content.media_url", c.MediaURL, Media)
		other("content.media_type", c.MediaType, Media)
	}
	if c.Type != Template {
		other("content.template_name", c.TemplateName, Template)
		other("content.template_language", c.TemplateLanguage, Template)
		if len(c.TemplateParams) > 0 {
			p.add("content.template_params", "not allowed with content.type %s (belongs to template)", c.Type)
		}
	}
	if c.Type != Binary {
		other("content.data", c.Data, Binary)
	}
	switch c.Type {
	case Binary:
		other("content.text", c.Text, Text+" or "+Media)
		raw, err := base64.StdEncoding.DecodeString(c.Data)
		switch {
		case err != nil || c.Data == "":
			p.add("content.data", "required: the payload in base64")
		case len(raw) > MaxBinaryBytes:
			p.add("content.data", "at most %d octets (%d parts of 134)", MaxBinaryBytes, MaxSMSParts)
		}
	case Text:
		if c.Text == "" || strings.TrimSpace(c.Text) == "" {
			p.add("content.text", "required; must contain a non-space character")
		} else {
			checkText(p, spec, c.Text, spec.MaxTextChars)
		}
	case Media:
		mediaURL(p, c.MediaURL)
		c.MediaType = mediaType(p, c.MediaType)
		if c.Text != "" {
			if spec.MaxCaptionChars == 0 {
				p.add("content.text", "%s media carries no caption; send the text as its own message", spec.Name)
			} else {
				checkText(p, spec, c.Text, spec.MaxCaptionChars)
			}
		}
	case Template:
		other("content.text", c.Text, Text+" or "+Media)
		c.TemplateLanguage = template(p, c)
	}
	return c
}

// checkText checks a text or caption against max in the channel's unit.
func checkText(p *problems, spec Spec, s string, max int) {
	if reason := cleanString(s); reason != "" {
		p.add("content.text", "%s", reason)
		return
	}
	switch spec.Unit {
	case UnitGSM:
		if spec.Name == "ussd" {
			if enc, n, limit := ussdLength(s); n > limit {
				p.add("content.text", "too long for one USSD screen: %d %s units, at most %d (182 GSM-7 or 80 UCS-2)", n, enc, limit)
			}
			return
		}
		if enc, parts := SMSParts(s); parts > spec.MaxParts {
			p.add("content.text", "needs %d SMS parts as %s; at most %d parts of %d GSM-7 septets or %d UCS-2 units",
				parts, enc, spec.MaxParts, gsmPart, ucs2Part)
		}
	case UnitUTF8Bytes:
		if len(s) > max {
			p.add("content.text", "too long: %d UTF-8 bytes, at most %d on %s", len(s), max, spec.Name)
		}
	default:
		if n := utf8.RuneCountInString(s); n > max {
			p.add("content.text", "too long: %d characters, at most %d on %s", n, max, spec.Name)
		}
	}
}

// cleanString refuses what could not be stored or re-encoded faithfully: invalid
// UTF-8 (JSON would replace it) and NUL (PostgreSQL text and jsonb reject it).
func cleanString(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "must not contain NUL characters"
	}
	return ""
}

// mediaURL requires an absolute https URL without credentials: providers fetch it
// themselves, and it is stored and logged with the message.
func mediaURL(p *problems, s string) {
	const f = "content.media_url"
	switch {
	case s == "":
		p.add(f, "required for media content")
		return
	case len(s) > maxMediaURLBytes:
		p.add(f, "at most %d bytes, got %d", maxMediaURLBytes, len(s))
		return
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r >= utf8.RuneSelf }) >= 0:
		p.add(f, "must not contain spaces, control or non-ASCII characters (percent-encode them)")
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		p.add(f, "not a URL")
	case u.Scheme != "https":
		p.add(f, "want an https URL")
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		p.add(f, "want an absolute https URL with a host")
	case u.User != nil:
		p.add(f, "must not carry credentials")
	}
}

// mediaType requires a MIME type; it is lower-cased (MIME types are case-insensitive).
func mediaType(p *problems, s string) string {
	l := strings.ToLower(s)
	switch {
	case s == "":
		p.add("content.media_type", "required for media content (a MIME type such as image/jpeg)")
	case !mimeType.MatchString(l):
		p.add("content.media_type", "want a MIME type type/subtype without parameters, such as image/jpeg")
	default:
		return l
	}
	return s
}

// template checks a template reference and returns its language normalised to ll_CC.
func template(p *problems, c catalog.Content) string {
	if !templateName.MatchString(c.TemplateName) {
		p.add("content.template_name", "want 1–512 of a–z 0–9 _")
	}
	lang := c.TemplateLanguage
	if !templateLang.MatchString(lang) {
		p.add("content.template_language", "want a language code such as en or en_US")
	} else {
		lang = strings.Replace(lang, "-", "_", 1)
	}
	if len(c.TemplateParams) > maxTemplateParams {
		p.add("content.template_params", "at most %d parameters, got %d", maxTemplateParams, len(c.TemplateParams))
		return lang
	}
	for i, v := range c.TemplateParams {
		f := fmt.Sprintf("content.template_params[%d]", i)
		if reason := cleanString(v); reason != "" {
			p.add(f, "%s", reason)
		} else if strings.TrimSpace(v) == "" {
			p.add(f, "must not be empty")
		} else if n := utf8.RuneCountInString(v); n > maxTemplateParam {
			p.add(f, "too long: %d characters, at most %d", n, maxTemplateParam)
		}
	}
	return lang
}

// checkOptions requires a small JSON object: they are passed through to the channel
// function and stored as jsonb, so every value must survive JSON encoding unchanged.
func checkOptions(p *problems, opts map[string]any) {
	if len(opts) > maxOptions {
		p.add("options", "at most %d options, got %d", maxOptions, len(opts))
		return
	}
	for k, v := range opts {
		if len(k) > maxOptionKeyLength || !optionKey.MatchString(k) {
			p.add("options", "invalid option name %q: want a letter then up to %d of A–Z a–z 0–9 _ -", k, maxOptionKeyLength-1)
			continue
		}
		if reason := jsonValue(reflect.ValueOf(v), 0); reason != "" {
			p.add("options."+k, "%s", reason)
		}
	}
}

var jsonNumberType = reflect.TypeFor[json.Number]()

// jsonValue says why v is not a JSON value that round-trips, or "".
func jsonValue(v reflect.Value, depth int) string {
	if depth > maxOptionsDepth {
		return fmt.Sprintf("nested deeper than %d levels", maxOptionsDepth)
	}
	switch v.Kind() {
	case reflect.Invalid, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ""
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return "not a finite number"
		}
		return ""
	case reflect.String:
		if n := v.String(); v.Type() == jsonNumberType && (n == "" || n[0] != '-' && (n[0] < '0' || n[0] > '9') || !json.Valid([]byte(n))) {
			return "not a valid JSON number"
		}
		return cleanString(v.String())
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return jsonValue(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if r := jsonValue(v.Index(i), depth+1); r != "" {
				return r
			}
		}
		return ""
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return "maps need string keys"
		}
		for it := v.MapRange(); it.Next(); {
			if r := cleanString(it.Key().String()); r != "" {
				return "key: " + r
			}
			if r := jsonValue(it.Value(), depth+1); r != "" {
				return r
			}
		}
		return ""
	}
	return fmt.Sprintf("not a JSON value (%s)", v.Type())
}
