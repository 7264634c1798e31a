package dpi

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"mvdan.cc/xurls/v2"
)

// shorteners are general-purpose link shorteners: a link through one hides where it
// goes. Brand shorteners (youtu.be, amzn.to) are left out on purpose.
var shorteners = map[string]bool{
	"bit.ly": true, "bitly.com": true, "tinyurl.com": true, "t.co": true, "goo.gl": true,
	"ow.ly": true, "is.gd": true, "v.gd": true, "cutt.ly": true, "rb.gy": true,
	"buff.ly": true, "shorturl.at": true, "tiny.cc": true, "t.ly": true, "rebrand.ly": true,
	"bl.ink": true, "s.id": true, "shorte.st": true, "adf.ly": true, "bit.do": true,
	"tr.im": true, "x.co": true, "soo.gd": true, "clck.ru": true, "tiny.one": true,
	"urlz.fr": true, "qrco.de": true, "lnkd.in": true, "short.gy": true, "shorturl.com": true,
	"s2r.co": true, "u.to": true, "cli.re": true, "2no.co": true, "1url.com": true,
}

// IsShortener reports whether a registrable domain is a known link shortener.
func IsShortener(domain string) bool { return shorteners[domain] }

// The xurls expressions cost in proportion to their size: Relaxed carries every TLD
// and is some thirty times slower than a scheme-anchored one, so it runs only on a
// field that has no scheme but does have a known TLD after a dot.
var (
	schemeURL = sync.OnceValue(func() *regexp.Regexp {
		re, err := xurls.StrictMatchingScheme(`[a-zA-Z][a-zA-Z0-9.\-+]*://`)
		if err != nil {
			panic("dpi: scheme expression: " + err.Error()) // a constant expression
		}
		return re
	})
	tlds = sync.OnceValue(func() map[string]bool {
		m := make(map[string]bool, len(xurls.TLDs)+len(xurls.PseudoTLDs))
		for _, t := range xurls.TLDs {
			m[t] = true
		}
		for _, t := range xurls.PseudoTLDs {
			m[t] = true
		}
		return m
	})
)

// extractURLs finds URLs as written. A URL holds no whitespace, so the expressions run
// only on the whitespace-separated fields that could hold one: a message without
// links costs a scan for dots and colons.
func extractURLs(text string) []string {
	var urls []string
	end := 0 // the end of the last field looked at
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != '.' && c != ':' || i < end {
			continue
		}
		start := i
		for start > 0 && !isSpaceBefore(text, start) {
			start--
		}
		end = i + 1
		for end < len(text) && !isSpaceAt(text, end) {
			end++
		}
		urls = appendURLs(urls, text[start:end])
	}
	return urls
}

func appendURLs(urls []string, f string) []string {
	var re *regexp.Regexp
	switch {
	case strings.Contains(f, "://"):
		re = schemeURL()
	case hasTLD(f):
		re = xurls.Relaxed()
	default:
		return urls
	}
	for _, u := range re.FindAllString(f, -1) {
		if !isEmail(u) {
			urls = append(urls, u)
		}
	}
	return urls
}

// isSpaceAt and isSpaceBefore report whether the rune starting at, or ending just
// before, byte i is white space (invalid UTF-8 is not).
func isSpaceAt(s string, i int) bool {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiSpace[c]
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

func isSpaceBefore(s string, i int) bool {
	if c := s[i-1]; c < utf8.RuneSelf {
		return asciiSpace[c]
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// hasTLD: a dot followed by a label that is a known top-level domain (or punycode).
func hasTLD(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] != '.' || i == 0 {
			continue
		}
		j := i + 1
		for j < len(f) {
			r, size := utf8.DecodeRuneInString(f[j:])
			if !isLabelRune(r) {
				break
			}
			j += size
		}
		if j == i+1 {
			continue
		}
		label := f[i+1 : j]
		if len(label) <= 63 && (tlds()[strings.ToLower(label)] || strings.HasPrefix(strings.ToLower(label), "xn--")) {
			return true
		}
	}
	return false
}

// isLabelRune: letters, digits and '-' (IDN TLDs are letters of other scripts).
func isLabelRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r)
}

// isEmail: xurls' relaxed form matches bare e-mail addresses too; they are not links.
func isEmail(u string) bool {
	at := strings.IndexByte(u, '@')
	return at > 0 && !strings.Contains(u, "://") && !strings.ContainsAny(u[:at], "/:")
}

// domains returns the URLs' registrable domains, deduplicated in order, and whether
// one is a shortener.
func domains(urls []string) (out []string, shortener bool) {
	for _, u := range urls {
		d := registrable(u)
		if d == "" || slices.Contains(out, d) {
			continue
		}
		out = append(out, d)
		shortener = shortener || shorteners[d]
	}
	return out, shortener
}

// registrable returns a URL's eTLD+1 in lower-case Unicode form, or "" for an IP
// address, a bare public suffix or a host that is not a domain name.
func registrable(u string) string {
	host := u
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	} else if i := strings.IndexByte(host, ':'); i >= 0 && !strings.ContainsAny(host[:i], "./") {
		host = host[i+1:] // a scheme without authority (mailto:, sms:)
	}
	if i := strings.IndexAny(host, "/?#\\"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if strings.HasPrefix(host, "[") {
		return "" // IPv6 literal
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || !utf8.ValidString(host) {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	host = strings.ToLower(host)
	plain := isPlainHost(host) // the common case needs no IDNA round trip
	ascii := host
	if !plain {
		var err error
		if ascii, err = idna.ToASCII(host); err != nil {
			return ""
		}
	}
	etld1, err := publicsuffix.EffectiveTLDPlusOne(ascii)
	if err != nil || plain {
		return etld1
	}
	uni, err := idna.ToUnicode(etld1)
	if err != nil {
		return etld1
	}
	return strings.ToLower(uni)
}

// isPlainHost: lower-case ASCII letters, digits, '-' and '.', with no punycode label.
func isPlainHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return !strings.HasPrefix(h, "xn--") && !strings.Contains(h, ".xn--")
}
