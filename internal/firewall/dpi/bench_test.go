package dpi

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// A typical 160-character SMS: a phishing text with a link, and a clean one.
const (
	smsSpam  = "URGENT: your acc0unt has been suspended due to unusual activity. Verify your account within 24 hours at https://secure-login.example.co.uk/v?id=8812 or call 0800 123"
	smsClean = "Hi Sam, running about ten minutes late for dinner tonight. Could you order the starters for us both and save me a seat near the window? See you soon, thanks x"
)

// generated returns n distinct patterns of one to three words from a vocabulary,
// shaped like the real set (phrases sharing words and prefixes).
func generated(n int) []Pattern {
	words := strings.Fields(`account verify confirm update payment prize claim winner cash free
		gift urgent final notice loan approved crypto bitcoin invest reward bonus offer limited
		exclusive click link call now reply stop text win selected receive delivery parcel fee
		customs tax refund bank card details password login secure suspend locked activity unusual
		identity expire today hours minutes guaranteed returns profit double money home work earn`)
	r := rand.New(rand.NewPCG(1, 2))
	seen := make(map[string]bool, n)
	out := make([]Pattern, 0, n)
	for len(out) < n {
		k := 1 + r.IntN(3)
		parts := make([]string, k)
		for i := range parts {
			parts[i] = words[r.IntN(len(words))]
		}
		if len(seen) > n/2 && r.IntN(2) == 0 { // pad the space out past 3-word combinations
			parts = append(parts, fmt.Sprintf("x%d", len(out)))
		}
		t := strings.Join(parts, " ")
		if seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, Pattern{Text: t, Category: "bench", Weight: r.IntN(101)})
	}
	return out
}

func BenchmarkScan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		s, err := Compile(generated(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, msg := range []struct{ name, text string }{{"spam", smsSpam}, {"clean", smsClean}} {
			b.Run(fmt.Sprintf("patterns=%d/%s", n, msg.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Scan(msg.text)
				}
			})
		}
		// Raw ceiling: the automaton alone over text already canonical.
		canon := Canonical(smsSpam)
		b.Run(fmt.Sprintf("patterns=%d/automaton-only", n), func(b *testing.B) {
			b.ReportAllocs()
			data := unsafe.Slice(unsafe.StringData(canon), len(canon))
			for b.Loop() {
				hits := 0
				s.trie.Walk(data, func(_, _, _ int64) bool { hits++; return true })
			}
		})
		b.Run(fmt.Sprintf("patterns=%d/automaton-MatchString", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.trie.MatchString(canon)
			}
		})
	}
}

func BenchmarkCanonical(b *testing.B) {
	for _, msg := range []struct{ name, text string }{
		{"spam", smsSpam}, {"clean", smsClean},
		{"obfuscated", "V3R1FY y0ur \u0430cc\u043eunt n\u200bow: f r e e ｇｉｆｔ for p@ypal users, cl!ck bit.ly/x or call 0800 123 4567 to claim £1000 today"},
	} {
		b.Run(msg.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Canonical(msg.text)
			}
		})
	}
	b.Run("strings.ToLower", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			strings.ToLower(smsSpam)
		}
	})
}

func BenchmarkExtractURLs(b *testing.B) {
	for _, msg := range []struct{ name, text string }{{"spam", smsSpam}, {"clean", smsClean}} {
		b.Run(msg.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				extractURLs(msg.text)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		ps := generated(n)
		b.Run(fmt.Sprintf("patterns=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(ps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFoldTable is the one-time cost of the fold table (first Canonical call).
func BenchmarkFoldTable(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		buildFolds()
	}
}
