package dpi

import (
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func mustCompile(t testing.TB, ps ...Pattern) *Scanner {
	t.Helper()
	s, err := Compile(ps)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func hitTexts(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Text
	}
	return out
}

func TestScanHits(t *testing.T) {
	t.Parallel()
	s := mustCompile(t,
		Pattern{Text: "free", Category: "marketing", Weight: 15},
		Pattern{Text: "claim", Category: "prize", Weight: 30},
		Pattern{Text: "claim your prize", Category: "prize", Weight: 85},
		Pattern{Text: "your prize", Category: "prize", Weight: 40},
		Pattern{Text: "Verify your ACCOUNT!", Category: "phishing", Weight: 85},
		Pattern{Text: "£1000", Category: "prize", Weight: 20},
	)
	tests := []struct {
		name, text string
		want       []string
	}{
		{"whole word", "It's free!", []string{"free"}},
		{"not inside a word", "freedom and carefree", nil},
		{"overlapping patterns all hit, by first occurrence", "Claim your prize now", []string{"claim", "claim your prize", "your prize"}},
		{"each pattern once", "free free FREE", []string{"free"}},
		{"order of first occurrence", "your prize: claim it, it's free", []string{"your prize", "claim", "free"}},
		{"obfuscated phrase", "V3rify y0ur acc0unt", []string{"verify your account"}},
		{"spaced and homoglyph phrase", "v e r i f y your \u0430ccount", []string{"verify your account"}},
		{"invisible inside the phrase", "veri\u200bfy your account", []string{"verify your account"}},
		{"currency token", "Win £1000", []string{"£1000"}},
		{"prefix of a longer number is no hit", "Win £10000", nil},
		{"nothing", "see you at 5", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.Scan(tc.text)
			if got := hitTexts(r.Hits); !slices.Equal(got, tc.want) {
				t.Fatalf("Scan(%q).Hits = %q, want %q (canonical %q)", tc.text, got, tc.want, r.Canonical)
			}
		})
	}
	r := s.Scan("claim your prize")
	if r.Hits[1] != (Hit{Text: "claim your prize", Category: "prize", Weight: 85}) {
		t.Errorf("hit = %+v, want its category and weight", r.Hits[1])
	}
}

func TestCompileMergesDuplicates(t *testing.T) {
	t.Parallel()
	s := mustCompile(t,
		Pattern{Text: "free", Category: "marketing", Weight: 15},
		Pattern{Text: "FR33", Category: "prize", Weight: 60},
		Pattern{Text: "f r e e", Category: "other", Weight: 10},
	)
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
	r := s.Scan("free")
	if len(r.Hits) != 1 || r.Hits[0] != (Hit{Text: "free", Category: "prize", Weight: 60}) {
		t.Fatalf("hits = %+v, want free/prize/60", r.Hits)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	_, err := Compile([]Pattern{
		{Text: "ok", Weight: 10},
		{Text: "   ", Weight: 10},
		{Text: "fine", Weight: 101},
		{Text: "!!!", Weight: -1},
	})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("err = %v, want errs.Invalid", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{"[1].text", "[2].weight", "[3].text", "[3].weight"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields = %q, want %q (%v)", fields, want, err)
	}
	if s, err := Compile(nil); err != nil || s.Len() != 0 || len(s.Scan("anything").Hits) != 0 {
		t.Fatalf("empty set: %v, %v", s, err)
	}
}

func TestScanURLs(t *testing.T) {
	t.Parallel()
	s := mustCompile(t)
	tests := []struct {
		name, text string
		urls       []string
		domains    []string
		shortener  bool
	}{
		{"https with path", "Verify at https://secure.login.example.co.uk/verify?id=1 now",
			[]string{"https://secure.login.example.co.uk/verify?id=1"}, []string{"example.co.uk"}, false},
		{"bare domain shortener", "Go to bit.ly/3xYz now", []string{"bit.ly/3xYz"}, []string{"bit.ly"}, true},
		{"trailing punctuation", "See www.Example.com. Or (t.co/abc)!", []string{"www.Example.com", "t.co/abc"}, []string{"example.com", "t.co"}, true},
		{"punycode decoded", "http://xn--pypal-4ve.com/login", []string{"http://xn--pypal-4ve.com/login"}, []string{"pаypal.com"}, false},
		{"unicode domain", "https://bücher.de/x", []string{"https://bücher.de/x"}, []string{"bücher.de"}, false},
		{"deduplicated", "a.example.com/x b.example.com/y", []string{"a.example.com/x", "b.example.com/y"}, []string{"example.com"}, false},
		{"port and userinfo", "http://user@shop.example.org:8080/p", []string{"http://user@shop.example.org:8080/p"}, []string{"example.org"}, false},
		{"ip address has no domain", "http://192.168.1.10/login", []string{"http://192.168.1.10/login"}, nil, false},
		{"e-mail is not a link", "mail joe@example.com", nil, nil, false},
		{"no link in prose", "Done. See you at 10:30 ok", nil, nil, false},
		{"shortener tinyurl", "https://tinyurl.com/abc", []string{"https://tinyurl.com/abc"}, []string{"tinyurl.com"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.Scan(tc.text)
			if !slices.Equal(r.URLs, tc.urls) {
				t.Errorf("URLs = %q, want %q", r.URLs, tc.urls)
			}
			if !slices.Equal(r.Domains, tc.domains) {
				t.Errorf("Domains = %q, want %q", r.Domains, tc.domains)
			}
			if r.Shortener != tc.shortener {
				t.Errorf("Shortener = %v, want %v", r.Shortener, tc.shortener)
			}
		})
	}
}

func TestScanAnomalies(t *testing.T) {
	t.Parallel()
	s := mustCompile(t)
	tests := []struct {
		name, text string
		want       []string
		mixed      bool
	}{
		{"clean", "Your code is 1234", nil, false},
		{"zero-width inside a word", "fr\u200bee", []string{AnomalyInvisible}, false},
		{"soft hyphen", "veri\u00adfy", []string{AnomalyInvisible}, false},
		{"bidi control", "abc\u202edef", []string{AnomalyBidi}, false},
		{"replacement character", "bad \ufffd char", []string{AnomalyReplacement}, false},
		{"invalid utf-8", "bad \xc3\x28 bytes", []string{AnomalyInvalidUTF8}, false},
		{"control character", "bell\x07", []string{AnomalyControl}, false},
		{"private use", "logo \ue000", []string{AnomalyPrivateUse}, false},
		{"unassigned", "x \U0002FFFE", []string{AnomalyUnassigned}, false},
		{"mixed script", "p\u0430ypal", []string{AnomalyMixedScript}, true},
		{"excessive combining (zalgo)", "z\u0301\u0302\u0303\u0304", []string{AnomalyCombining}, false},
		{"several, in vocabulary order", "p\u0430y\u200bpal\x01", []string{AnomalyInvisible, AnomalyControl, AnomalyMixedScript}, true},
		{"emoji sequence is clean", "\U0001F468\u200d\U0001F469\u200d\U0001F467 \u2764\ufe0f", nil, false},
		{"newlines and tabs are clean", "a\r\n\tb", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.Scan(tc.text)
			if !slices.Equal(r.Anomalies, tc.want) {
				t.Errorf("Anomalies = %q, want %q", r.Anomalies, tc.want)
			}
			if r.MixedScript != tc.mixed {
				t.Errorf("MixedScript = %v, want %v", r.MixedScript, tc.mixed)
			}
		})
	}
}

func TestScanConcurrent(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, Pattern{Text: "claim your prize", Category: "prize", Weight: 85}, Pattern{Text: "free", Weight: 10})
	texts := []string{"Cl@im y0ur pr1ze at bit.ly/x", "FREE f r e e", "nothing here", "\xff\xfe"}
	want := make([]Result, len(texts))
	for i, x := range texts {
		want[i] = s.Scan(x)
	}
	var wg sync.WaitGroup
	for g := range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(texts)
				got := s.Scan(texts[i])
				if got.Canonical != want[i].Canonical || !slices.Equal(got.Hits, want[i].Hits) || !slices.Equal(got.URLs, want[i].URLs) {
					t.Errorf("concurrent Scan(%q) = %+v, want %+v", texts[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// The shipped pattern set loads, compiles and catches the phrases it is for.
func TestShippedPatterns(t *testing.T) {
	t.Parallel()
	ps, err := LoadPatterns(filepath.Join("..", "..", "..", "config", "firewall-patterns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 150 {
		t.Fatalf("%d patterns, want a real starter set", len(ps))
	}
	s := mustCompile(t, ps...)
	if s.Len() != len(ps) {
		t.Errorf("Len = %d of %d entries: two entries have the same canonical text", s.Len(), len(ps))
	}
	tests := []struct{ text, category string }{
		{"Your acc0unt has been SUSPENDED. V3rify your account at http://secure-bank.example/login", "phishing"},
		{"Congratulations! You have won a £1000 cash prize. Claim your prize: call 09061701461", "prize"},
		{"Txt WIN to 80086 now! 150p per msg", "premium-sms"},
		{"Loan approved! No credit check, guaranteed returns", "financial"},
		{"FINAL NOTICE: act now, expires today", "urgency"},
		{"Hot singles in your area want to chat", "adult"},
	}
	for _, tc := range tests {
		r := s.Scan(tc.text)
		found := false
		for _, h := range r.Hits {
			found = found || h.Category == tc.category
		}
		if !found {
			t.Errorf("Scan(%q): no %s hit in %+v", tc.text, tc.category, r.Hits)
		}
	}
	for _, ham := range []string{"See you at 7 tonight, bring the salad", "Your order 1234 has shipped and arrives Tuesday", "Happy birthday! Love, Mum"} {
		if r := s.Scan(ham); len(r.Hits) > 0 {
			for _, h := range r.Hits {
				if h.Category == "phishing" {
					t.Errorf("ham %q hits phishing pattern %q", ham, h.Text)
				}
			}
		}
	}
}
