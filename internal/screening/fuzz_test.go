package screening_test

import (
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// FuzzPreprocessDPI feeds any destination, sender and text through preprocess and
// dpi, as a raw CloudEvent posted to the broker could: no panic, and what they
// compute stays in range.
func FuzzPreprocessDPI(f *testing.F) {
	for _, seed := range [][3]string{
		{"+447911123456", "Acme", "hello"},
		{"+19005551234", "", "Please v3rify acc0unt at http://secure-login.example.com"},
		{"not-a-number", "+44", "ｆｒｅｅ ｐｒｉｚｅ \u200b claim now"},
		{"+", "1234567890123456789", "\xff\xfe invalid utf-8 \x00"},
		{"+999999999999999999999", "Bank", "WINNER!! call 09061701461 to claim £900"},
		{"4479111234567", "x", "https://xn--pypal-4ve.com/login?a=b"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	x := newFixture(f, nil, nil)
	f.Fuzz(func(t *testing.T, to, from, text string) {
		s := x.engine.Preprocess(catalog.MessageRequested{MessageID: "fuzz", TenantID: "t", Channel: "sms", To: to, From: from,
			Content: catalog.Content{Type: "text", Text: text}})
		if err := x.engine.DPI(s); err != nil {
			t.Fatal(err)
		}
		ft := s.Features
		if ft.DigitRatio < 0 || ft.DigitRatio > 1 || ft.CapitalRatio < 0 || ft.CapitalRatio > 1 || ft.Segments < 0 || ft.URLCount != len(ft.URLs) {
			t.Fatalf("features out of range: %+v", ft)
		}
		for _, i := range s.Indicators {
			if i.Weight < 0 || i.Weight > 100 {
				t.Fatalf("indicator weight %d", i.Weight)
			}
		}
		if ft.ValidNumber && (ft.Destination == "" || len(ft.NationalNumber) >= len(ft.Destination)) {
			t.Fatalf("valid number with destination %q national %q", ft.Destination, ft.NationalNumber)
		}
	})
}
