package dpi

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScan: no input panics, Canonical is idempotent and space-normalised, every hit
// is a whole word of the canonical text, and every URL is a substring of the input.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"FR33 entry! Win £1000 now", "f r e e", "F.R.E.E", "w-1-n-n-3-r", "p@ypal acc0unt", "$ave |ogin",
		"10am 2nd 5gb $5bn", "Call 0800 123 4567 or +44 7700 900123", "p\u0430yp\u0430l", "\uff26\uff32\uff25\uff25",
		"\U0001d41f\U0001d42b\U0001d41e\U0001d41e", "fr\u200bee", "veri\u00adfy", "ver\u202eify", "cafe\u0301",
		"\U0001F468\u200d\U0001F469 hi", "Привет", "free\xffgift", "free\x00gift", "z\u0301\u0302\u0303\u0304",
		"Verify at https://secure.login.example.co.uk/verify?id=1 now", "Go to bit.ly/3xYz now",
		"See www.Example.com. Or (t.co/abc)!", "http://xn--pypal-4ve.com/login", "https://bücher.de/x",
		"http://user@shop.example.org:8080/p", "http://[::1]:80/x", "mailto:joe@example.com", "claim your prize",
		"\u00bd price", "ǅ ﬁ ㎏ …",
	} {
		f.Add(seed)
	}
	s, err := Compile([]Pattern{
		{Text: "free", Weight: 10}, {Text: "claim your prize", Weight: 80}, {Text: "your prize", Weight: 40},
		{Text: "verify your account", Weight: 85}, {Text: "£1000", Weight: 20}, {Text: "paypal", Weight: 30},
		{Text: "пpивeт", Weight: 5}, {Text: "a", Weight: 1}, {Text: "1", Weight: 1},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := s.Scan(text)
		c := r.Canonical
		if again := Canonical(c); again != c {
			t.Fatalf("Canonical not idempotent: %q -> %q -> %q", text, c, again)
		}
		if Canonical(text) != c {
			t.Fatalf("Canonical(%q) = %q, Scan says %q", text, Canonical(text), c)
		}
		if !utf8.ValidString(c) || strings.HasPrefix(c, " ") || strings.HasSuffix(c, " ") || strings.Contains(c, "  ") {
			t.Fatalf("canonical %q of %q is not single-spaced valid UTF-8", c, text)
		}
		padded := " " + c + " "
		for _, h := range r.Hits {
			if !strings.Contains(padded, " "+h.Text+" ") {
				t.Fatalf("hit %q is not a whole word of %q", h.Text, c)
			}
		}
		for _, u := range r.URLs {
			if !strings.Contains(text, u) {
				t.Fatalf("URL %q not in %q", u, text)
			}
		}
		if r.Obfuscation < 0 || r.Shortener && len(r.Domains) == 0 {
			t.Fatalf("inconsistent result %+v", r)
		}
	})
}
