package screening

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Preprocess starts a screen from a requested message: the destination parsed as an
// E.164 number (country, number type, original operator), the sender's kind, the
// text's encoding, length, SMS parts and character ratios. It never fails: what
// cannot be parsed becomes an indicator (an SMS to something that is not a phone
// number is blocked by decide).
func (e *Engine) Preprocess(req catalog.MessageRequested) *firewall.Screen {
	return e.PreprocessAt(req, time.Time{})
}

// Clock skew allowed on a request's time: within it the request's own time is the
// message's (a redelivered request counts in the same velocity windows and gets the
// same hour); outside it, which only a raw CloudEvent can be, the engine's clock is,
// so a backdated request cannot spread its counts over old windows or skip its
// throttle delay.
const (
	maxRequestAge  = 10 * time.Minute
	maxRequestSkew = time.Minute
)

// PreprocessAt is Preprocess for a request made at requested (its CloudEvent time;
// zero for none).
func (e *Engine) PreprocessAt(req catalog.MessageRequested, requested time.Time) *firewall.Screen {
	at, now := requested, e.now()
	if at.IsZero() || at.Before(now.Add(-maxRequestAge)) || at.After(now.Add(maxRequestSkew)) {
		at = now
	}
	s := &firewall.Screen{Message: messageOf(req, at),
		Done: make([]string, 1, len(firewall.Phases)), Indicators: make([]firewall.Indicator, 0, 4)}
	s.Done[0] = firewall.PhasePreprocess
	preprocess(s)
	return s
}

// messageOf is what the firewall reads of a request.
func messageOf(req catalog.MessageRequested, at time.Time) firewall.Message {
	text := req.Content.Text
	if req.Content.Type == "template" {
		text = strings.Join(req.Content.TemplateParams, " ")
	}
	return firewall.Message{
		ID: req.MessageID, TenantID: req.TenantID, Channel: req.Channel,
		From: req.From, To: req.To, ContentType: req.Content.Type, Text: text, At: at.UTC(),
	}
}

func preprocess(s *firewall.Screen) {
	m, f := &s.Message, &s.Features
	f.HourUTC = m.At.Hour()
	phone := m.Channel == "sms" || m.Channel == "ussd" || m.Channel == "whatsapp" || m.Channel == "viber" || m.Channel == "rcs"
	f.Destination = m.To
	if phone {
		destination(s)
	}
	f.SenderType = senderType(m.From)
	if f.SenderType == "longcode" || f.SenderType == "shortcode" {
		if _, r, ok := lookupNumber(m.From); ok {
			f.SenderCountry = r.country
		}
	}
	if m.ContentType == "binary" {
		return
	}
	text := m.Text
	f.Length = utf8.RuneCountInString(text)
	if m.Channel == "sms" {
		enc, parts := channel.SMSParts(text)
		f.Encoding, f.Segments = strings.ToLower(strings.ReplaceAll(enc, "-", "")), parts
	}
	var digits, letters, upper int
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	if f.Length > 0 {
		f.DigitRatio = float64(digits) / float64(f.Length)
	}
	if letters > 0 {
		f.CapitalRatio = float64(upper) / float64(letters)
	}
}

// destination parses the destination as an E.164 number.
func destination(s *firewall.Screen) {
	digits, r, ok := lookupNumber(s.Message.To)
	if !ok {
		indicate(s, firewall.PhasePreprocess, "preprocess.invalid_number", 95, "destination "+quote(s.Message.To)+" is not a phone number")
		return
	}
	r.apply(s, digits)
}

// lookupNumber returns a number's E.164 digits and what the library says of its
// range: from the range cache when the address is written as E.164, else parsed
// (and cached). ok is false for what does not parse as a phone number.
func lookupNumber(addr string) (string, numberRange, bool) {
	if digits, ok := e164Digits(addr); ok {
		if r, ok := ranges.get(digits); ok {
			return digits, r, true
		}
	}
	n, err := phonenumbers.Parse(plus(addr), "")
	if err != nil {
		return "", numberRange{}, false
	}
	digits := phonenumbers.Format(n, phonenumbers.E164)[1:]
	// A number is valid exactly when its region's metadata gives it a type
	// (phonenumbers.IsValidNumber is that check), so one type look-up answers both:
	// the number-type patterns are the costly part of the library.
	typ := phonenumbers.GetNumberType(n)
	r := numberRange{ccLen: len(digits) - len(phonenumbers.GetNationalSignificantNumber(n)),
		country: phonenumbers.GetRegionCodeForNumber(n), valid: typ != phonenumbers.UNKNOWN, numberType: numberTypes[typ]}
	if r.valid {
		if op, err := phonenumbers.GetCarrierForNumber(n, "en"); err == nil {
			r.operator = op
		}
	}
	ranges.put(digits, r)
	return digits, r, true
}

// numberRange is what the phone-number library says about a number, kept per range.
type numberRange struct {
	ccLen      int // digits of the country calling code
	country    string
	valid      bool
	numberType string
	operator   string
}

func (r numberRange) apply(s *firewall.Screen, digits string) {
	f := &s.Features
	f.Destination, f.NationalNumber, f.Country = digits, digits[r.ccLen:], r.country
	f.ValidNumber, f.NumberType, f.Operator = r.valid, r.numberType, r.operator
	if !r.valid {
		// Possible but unassigned ranges are where SMS pumping dials: suspicious, not
		// proof (numbering plans change faster than libraries).
		indicate(s, firewall.PhasePreprocess, "preprocess.unassigned_number", 40, "destination +"+digits+" is not in an assigned number range")
	}
}

// e164Digits returns the digits of an address written as E.164 ("+" and 8 to 15
// digits, no leading zero), the form the API takes.
func e164Digits(to string) (string, bool) {
	d := strings.TrimPrefix(to, "+")
	if len(d) == len(to) || len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return d, true
}

// rangeCache remembers the library's answer per number range: numbering plans
// allocate in blocks, and the number-type patterns are prefixes with a length, so
// numbers of one length that share their first rangeDigits digits get the same
// country, type and original operator. The library's regular expressions were most
// of the firewall's CPU before (BENCHMARKS.md, "Firewall"). Bounded: it starts
// afresh when full.
type rangeCache struct {
	mu sync.RWMutex
	m  map[string]numberRange
}

const (
	rangeDigits   = 9
	rangeCacheMax = 1 << 16
)

var ranges = &rangeCache{m: map[string]numberRange{}}

func rangeKey(digits string) string {
	if len(digits) > rangeDigits {
		return digits[:rangeDigits] + "/" + strconv.Itoa(len(digits))
	}
	return digits
}

func (c *rangeCache) get(digits string) (numberRange, bool) {
	c.mu.RLock()
	r, ok := c.m[rangeKey(digits)]
	c.mu.RUnlock()
	return r, ok
}

func (c *rangeCache) put(digits string, r numberRange) {
	c.mu.Lock()
	if len(c.m) >= rangeCacheMax {
		c.m = make(map[string]numberRange, rangeCacheMax/4)
	}
	c.m[rangeKey(digits)] = r
	c.mu.Unlock()
}

var numberTypes = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE: "fixed_line", phonenumbers.MOBILE: "mobile", phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE: "toll_free", phonenumbers.PREMIUM_RATE: "premium_rate", phonenumbers.SHARED_COST: "shared_cost",
	phonenumbers.VOIP: "voip", phonenumbers.PERSONAL_NUMBER: "personal_number", phonenumbers.PAGER: "pager",
	phonenumbers.UAN: "uan", phonenumbers.VOICEMAIL: "voicemail", phonenumbers.UNKNOWN: "unknown",
}

// senderType classifies a sender id: alphanumeric (has a letter), shortcode (up to 8
// digits), longcode (a number), or none.
func senderType(from string) string {
	from = strings.TrimPrefix(strings.TrimSpace(from), "+")
	switch {
	case from == "":
		return "none"
	case strings.IndexFunc(from, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		return "alphanumeric"
	case len(from) <= 8:
		return "shortcode"
	}
	return "longcode"
}

func plus(n string) string {
	n = strings.TrimSpace(n)
	if strings.HasPrefix(n, "+") {
		return n
	}
	return "+" + n
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
