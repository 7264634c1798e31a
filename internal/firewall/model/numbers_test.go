package model

import (
	"slices"
	"strings"
	"testing"
)

// tokens1 tokenises as revision 1 does (one-time codes and currency codes).
func tokens1(s string) []string {
	x := &extractor{}
	lower := strings.ToLower(s)
	x.tokenize(lower)
	x.reclass(lower)
	return x.toks
}

func TestTokenizeCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []string
	}{
		{"Your verification code is 482913.", []string{"your", "verification", "code", "is", "<code>"}},
		{"G-482913 is your Google verification code.", []string{"g", "<code>", "is", "your", "google", "verification", "code"}},
		{"Your login code: 381 902", []string{"your", "login", "code", "<code>"}},
		{"OTP 228-411, never share", []string{"otp", "<code>", "never", "share"}},
		{"Ihr Bestätigungscode lautet 66 19 03", []string{"ihr", "bestätigungscode", "lautet", "<code>"}},
		{"Your Steam Guard code is 3FK8P.", []string{"your", "steam", "guard", "code", "is", "<code>"}},
		{"one-time password 61839027", []string{"one", "time", "password", "<code>"}},
		// A premium short code stays one, code word or not: it is where the text goes.
		{"text the code to 80888", []string{"text", "the", "code", "to", "<shortcode>"}},
		{"Call 09061701461 quoting claim code 3100", []string{"call", "<phone>", "quoting", "claim", "code", "<code>"}},
		// No code word near: a number is classed by its length, as before.
		{"Text WIN to 87121", []string{"text", "win", "to", "<shortcode>"}},
		{"card ending 4421 was charged", []string{"card", "ending", "<shortcode>", "was", "charged"}},
		// Amounts, times, long and international numbers are not codes.
		{"OTP for SGD 120.00 at 14:32", []string{"otp", "for", "sgd", "<money>", "at", "14", "32"}},
		{"code 250,00 EUR", []string{"code", "<money>", "eur"}},
		{"code sent to +44 7700 900431", []string{"code", "sent", "to", "44", "<shortcode>", "<shortcode>"}},
		{"meeting 883 2041 9902 code", []string{"meeting", "883", "<shortcode>", "<shortcode>", "code"}},
		{"valid 12hrs, claim code", []string{"valid", "12", "hrs", "claim", "code"}},
	}
	for _, c := range cases {
		if got := tokens1(c.in); !slices.Equal(got, c.want) {
			t.Errorf("tokens1(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A model keeps scoring as it was trained: revision 0 tokenises as before.
func TestTokenizerRevisionZeroUnchanged(t *testing.T) {
	t.Parallel()
	x := &extractor{}
	x.reset(false)
	x.extract("Your verification code is 482913.", featureOpts{CharMin: 1, CharMax: 4})
	if !slices.Contains(x.toks, tokShortcode) || slices.Contains(x.toks, tokCode) {
		t.Fatalf("revision 0 tokens %q, want the number as <shortcode>", x.toks)
	}
}

func TestAskFeature(t *testing.T) {
	t.Parallel()
	m, _ := trainSynthetic(t)
	m.feat.Tokens = 1
	names := func(text string) []string {
		x := &extractor{}
		x.reset(true)
		x.extract(text, m.feat)
		var out []string
		for i, f := range x.feats {
			if f.kind == kAsk {
				out = append(out, x.featureName(int32(i)))
			}
		}
		return out
	}
	if got := names("Share the code you received to claim your prize"); !slices.Equal(got, []string{`ask "share … code"`}) {
		t.Errorf("phishing: %q", got)
	}
	if got := names("Your OTP is 4812. Do not share this OTP with anyone"); !slices.Equal(got, []string{`ask "not share … code"`}) {
		t.Errorf("bank: %q", got)
	}
}

// A message about a code gets its words and bigrams again in their own namespace;
// other messages do not.
func TestCodeCopies(t *testing.T) {
	t.Parallel()
	count := func(text string) (n int) {
		x := &extractor{}
		x.reset(true)
		x.extract(text, featureOpts{CharMin: 1, CharMax: 4, Tokens: 1})
		for _, f := range x.feats {
			if f.kind == kCodeWord {
				n++
			}
		}
		return n
	}
	if n := count("Your OTP is 4812"); n != 4 {
		t.Errorf("OTP message: %d code-word features, want 4", n)
	}
	if n := count("send me the new number"); n != 0 {
		t.Errorf("chat: %d code-word features, want 0", n)
	}
}
