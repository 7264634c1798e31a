package model

import (
	"slices"
	"strings"
	"testing"
)

func tokens(s string) []string {
	x := &extractor{}
	x.tokenize(strings.ToLower(s))
	return x.toks
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []string
	}{
		{"Ok lar... Joking wif u oni...", []string{"ok", "lar", "joking", "wif", "u", "oni"}},
		{"Call 09061701461 now!", []string{"call", "<phone>", "now", "!"}},
		{"Text WIN to 87121", []string{"text", "win", "to", "<shortcode>"}},
		{"win £1,000 or $50 cash", []string{"win", "<money>", "or", "<money>", "cash"}},
		{"only 150p/msg, 1.50ppm", []string{"only", "<money>", "msg", "<money>"}},
		{"costs £ nothing", []string{"costs", "<currency>", "nothing"}},
		{"visit www.Example.com or http://x.io/a?b=1 or getit.co.uk.", []string{"visit", "<url>", "or", "<url>", "or", "<url>"}},
		{"mail win@prize.net today", []string{"mail", "<email>", "today"}},
		{"see u at 2 in 3rd room", []string{"see", "u", "at", "2", "in", "3", "rd", "room"}},
		{"08452810075over18's", []string{"<phone>", "over", "18", "s"}},
		{"Grüße aus München", []string{"grüße", "aus", "münchen"}},
		{"  \t\n", nil},
		{"", nil},
	}
	for _, c := range cases {
		if got := tokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExtractNames(t *testing.T) {
	t.Parallel()
	o := featureOpts{CharMin: 1, CharMax: 3}
	x := &extractor{}
	x.reset(true)
	x.extract("Call NOW", o)
	if len(x.feats) != len(x.hashes) {
		t.Fatalf("%d features for %d hashes", len(x.feats), len(x.hashes))
	}
	var names []string
	for i := range x.feats {
		names = append(names, x.featureName(int32(i)))
	}
	for _, want := range []string{`word "call"`, `word "now"`, `bigram "call now"`, `letter "c"`, `chars "_c"`, `chars "ll_"`, `meta "capital_ratio=5"`, `meta "length=0"`} {
		if !slices.Contains(names, want) {
			t.Errorf("features of %q lack %s; have %q", "Call NOW", want, names)
		}
	}
	// The names and hashes are those of the reference extraction, in its order.
	refHashes, refNames := refFeatures("Call NOW", o)
	if !slices.Equal(names, refNames) || !slices.Equal(x.hashes, refHashes) {
		t.Errorf("features %q, want the reference's %q", names, refNames)
	}
	// The same text hashes the same whether or not features are described.
	y := &extractor{}
	y.reset(false)
	y.extract("Call NOW", o)
	if !slices.Equal(x.hashes, y.hashes) {
		t.Errorf("describing changed the hashes")
	}
	if len(y.feats) != 0 {
		t.Errorf("features described without describing")
	}
}

func TestExtractLongWordCapped(t *testing.T) {
	t.Parallel()
	x := &extractor{}
	x.reset(false)
	x.extract(strings.Repeat("a", 10000), featureOpts{CharMin: 1, CharMax: 4})
	// 4 meta + 1 word + the n-grams of "_" + 24 letters + "_" (26 runes): 26+25+24+23.
	if got, want := len(x.hashes), 4+1+26+25+24+23; got != want {
		t.Errorf("%d features for one very long word, want %d", got, want)
	}
}
