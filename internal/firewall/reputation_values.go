package firewall

import (
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// maxNumberDigits is E.164's longest number.
const maxNumberDigits = 15

// checkValue judges a normalised reputation value by its kind and returns it as the
// store keeps it, or why it is refused. Screening looks values up as it extracts them
// (internal/firewall/dpi): a domain is a link's registrable domain in lower-case
// Unicode, a URL as written, a number its digits; a value that could never match is
// refused rather than stored.
func checkValue(kind, v string) (string, string) {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return v, "must be one line of text: no control characters"
	}
	switch kind {
	case KindDomain:
		return checkDomain(v)
	case KindURL:
		return v, checkURL(v)
	}
	return v, "" // a sender: any one line; a number is judged as given, by checkNumber
}

// checkNumber judges a number as given (before NormalizeValue drops all but digits):
// digits with the usual separators, at most 15 digits.
func checkNumber(raw string) string {
	digits := 0
	for _, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "must be a phone number: digits, optionally with +, spaces, dashes, dots or parentheses"
		}
	}
	if digits > maxNumberDigits {
		return "at most 15 digits (E.164)"
	}
	return ""
}

func checkDomain(v string) (string, string) {
	const registrable = "must be a registrable domain such as example.com (screening matches the registrable domain of each link; use kind url for one link)"
	if _, err := netip.ParseAddr(strings.Trim(v, "[]")); err == nil {
		return v, "an IP address is not a domain: screening matches links to domain names"
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(v, "."))
	if err != nil || len(ascii) > 253 || !strings.Contains(ascii, ".") {
		return v, "must be a domain name such as example.com: letters, digits and hyphens in dot-separated labels"
	}
	if etld1, err := publicsuffix.EffectiveTLDPlusOne(ascii); err != nil || etld1 != ascii {
		return v, registrable
	}
	uni, err := idna.ToUnicode(ascii)
	if err != nil {
		return v, registrable
	}
	return strings.ToLower(uni), ""
}

func checkURL(v string) string {
	const reason = "must be a link such as https://example.com/path: no spaces, with a host"
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return reason
	}
	parse := v
	if !strings.Contains(v, "://") {
		parse = "http://" + v // screening also matches links written without a scheme
	}
	u, err := url.Parse(parse)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return reason
	}
	return ""
}
