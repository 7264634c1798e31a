package channel

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// addressFunc normalises one address or says why it is refused.
type addressFunc func(s string) (normalised, reason string)

var (
	phoneChars     = regexp.MustCompile(`^\+?[0-9 ().-]{1,31}$`)
	alphaSender    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	shortCode      = regexp.MustCompile(`^[0-9]{3,8}$`)
	serviceCode    = regexp.MustCompile(`^\*[0-9]{1,6}(\*[0-9]{1,20})*#$`)
	telegramChatID = regexp.MustCompile(`^-?[0-9]{1,19}$`)
	telegramUser   = regexp.MustCompile(`^@[A-Za-z0-9_]{5,32}$`)
	telegramBot    = regexp.MustCompile(`^@?([A-Za-z0-9_]{2,29}[Bb][Oo][Tt])$`)
	numericID      = regexp.MustCompile(`^[0-9]{1,32}$`)
	viberID        = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{1,64}$`)
	agentID        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$`)
)

// addressRules maps an address kind to its rule.
var addressRules = map[string]addressFunc{
	KindE164:         phone(true),
	KindSMSSender:    smsSender,
	KindServiceCode:  pattern(serviceCode, "want a USSD service code such as *384*12#"),
	KindTelegramChat: telegramChat,
	KindTelegramBot:  telegramBotName,
	KindNumericID:    pattern(numericID, "want a numeric id (1–32 digits)"),
	KindViberID:      pattern(viberID, "want a Viber user id (1–64 of A–Z a–z 0–9 + / = _ -)"),
	KindSenderName:   senderName,
	KindAgentID:      pattern(agentID, "want an agent or bot id (1–128 of A–Z a–z 0–9 . _ @ : -, starting alphanumeric)"),
	KindJID:          jid,
	KindOpaque:       opaque,
}

// whatsappPhone accepts the digits-only form WhatsApp itself uses (wa_id) as well as
// +E.164; both normalise to +E.164.
var whatsappPhone = phone(false)

func pattern(re *regexp.Regexp, reason string) addressFunc {
	return func(s string) (string, string) {
		if !re.MatchString(s) {
			return "", reason
		}
		return s, ""
	}
}

// phone parses a number with libphonenumber and normalises it to +E.164. Only digits,
// spaces and ( ) . - are allowed before parsing: libphonenumber would otherwise turn
// vanity letters into digits and accept extensions, and a send API must not guess.
// With plus, the leading + is required, so that a national number (07911…) is never
// read as an international one; WhatsApp's digits-only wa_id form is the exception.
func phone(plus bool) addressFunc {
	return func(s string) (string, string) {
		const want = "want an E.164 number such as +14155550123"
		if !phoneChars.MatchString(s) {
			return "", want
		}
		if !strings.HasPrefix(s, "+") {
			if plus {
				return "", want + " (with the leading + and country code)"
			}
			s = "+" + s
		}
		n, err := phonenumbers.Parse(s, "ZZ")
		if err != nil || !phonenumbers.IsValidNumber(n) {
			return "", "not a valid phone number; " + want
		}
		e164 := phonenumbers.Format(n, phonenumbers.E164)
		// libphonenumber also drops a national prefix after the country code
		// (+1 1 201…); only the written "(0)" idiom may go, other digits must stay.
		if digits := strings.Map(keepDigit, strings.ReplaceAll(s, "(0)", "")); "+"+digits != e164 {
			return "", "not a number in international form: it would be sent to " + e164 + "; send that if it is meant"
		}
		return e164, ""
	}
}

func keepDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

// smsSender accepts a short code, an alphanumeric sender id (with at least one letter,
// as carriers require, so it can't be mistaken for a number) or an E.164 number.
func smsSender(s string) (string, string) {
	switch {
	case shortCode.MatchString(s):
		return s, ""
	case alphaSender.MatchString(s) && strings.IndexFunc(s, isASCIILetter) >= 0:
		return s, ""
	case strings.HasPrefix(s, "+"):
		return phone(true)(s)
	}
	return "", "want an E.164 number (+…), a short code (3–8 digits) or an alphanumeric sender id (1–11 of A–Z a–z 0–9 space, with a letter)"
}

func isASCIILetter(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// telegramChat accepts a chat id (negative for groups and channels) or a public
// @username; ids are normalised to their decimal form.
func telegramChat(s string) (string, string) {
	if telegramUser.MatchString(s) {
		return s, ""
	}
	if telegramChatID.MatchString(s) {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id != 0 {
			return strconv.FormatInt(id, 10), ""
		}
	}
	return "", "want a Telegram chat id (-?digits, non-zero, 64-bit) or @username (5–32 of A–Z a–z 0–9 _)"
}

// telegramBotName accepts a bot username, which Telegram requires to end in "bot";
// normalised with a leading @.
func telegramBotName(s string) (string, string) {
	m := telegramBot.FindStringSubmatch(s)
	if m == nil {
		return "", "want a bot @username (5–32 of A–Z a–z 0–9 _, ending in bot)"
	}
	return "@" + m[1], ""
}

// senderName is Viber's sender.name: at most 28 characters (channels.md §5).
func senderName(s string) (string, string) {
	if n := utf8.RuneCountInString(s); n == 0 || n > 28 {
		return "", fmt.Sprintf("want a sender name of 1–28 characters, got %d", n)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", "must not contain control characters"
	}
	return s, ""
}

// opaque accepts any printable address of at most 256 bytes: custom channels define
// their own, but it still travels in event attributes, logs and database rows.
func opaque(s string) (string, string) {
	if len(s) > 256 {
		return "", fmt.Sprintf("at most 256 bytes, got %d", len(s))
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", "must not contain control characters"
	}
	return s, ""
}

// jid accepts a bare or full JID, localpart@domain[/resource] (a localpart is needed:
// messages go to accounts, not servers), prepared as RFC 7622 says: the localpart
// with PRECIS UsernameCaseMapped, the domain with IDNA (stored as U-labels, lower
// case, no trailing dot), the resource with OpaqueString; each part ≤ 1,023 bytes.
// The result is prepared a second time and must not change, so normalising is
// idempotent even where PRECIS is not.
func jid(s string) (string, string) {
	out, reason := prepareJID(s)
	if reason != "" {
		return "", reason
	}
	if again, _ := prepareJID(out); again != out {
		return "", "not a stable JID under RFC 7622 preparation"
	}
	return out, ""
}

func prepareJID(s string) (string, string) {
	rest, resource, full := strings.Cut(s, "/")
	local, domain, ok := strings.Cut(rest, "@")
	if !ok || local == "" {
		return "", "want a JID localpart@domain[/resource]"
	}
	local, err := precis.UsernameCaseMapped.String(local)
	if err != nil || strings.ContainsAny(local, "\"&'/:<>@") {
		return "", "invalid JID localpart (RFC 7622 §3.3)"
	}
	if domain, ok = prepareDomain(domain); !ok {
		return "", "invalid JID domain (RFC 7622 §3.2)"
	}
	out := local + "@" + domain
	if full {
		if resource, err = precis.OpaqueString.String(resource); err != nil || resource == "" {
			return "", "invalid JID resource (RFC 7622 §3.4)"
		}
		out += "/" + resource
	}
	if len(local) > 1023 || len(domain) > 1023 || len(resource) > 1023 {
		return "", "each JID part must be at most 1,023 bytes (RFC 7622 §3)"
	}
	return out, ""
}

// prepareDomain validates a JID domainpart: an IP literal or a host name.
func prepareDomain(d string) (string, bool) {
	d = strings.TrimSuffix(d, ".")
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		a, err := netip.ParseAddr(d[1 : len(d)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return "[" + a.String() + "]", true
	}
	if a, err := netip.ParseAddr(d); err == nil {
		return a.String(), a.Is4()
	}
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", false
	}
	u, err := idna.Lookup.ToUnicode(ascii)
	if err != nil {
		return "", false
	}
	return u, true
}
