package sms

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

func TestEncodeSizes(t *testing.T) {
	t.Parallel()
	r := strings.Repeat
	tests := []struct {
		name     string
		text     string
		alphabet Alphabet
		sizes    []int // payload octets per part
	}{
		{"empty", "", GSM7, []int{0}},
		{"ascii", "Hello", GSM7, []int{5}},
		{"extension chars count 2", "^{}\\[]~|€\f", GSM7, []int{20}},
		{"default-alphabet accents", "@éèÄñßΔ¿", GSM7, []int{8}},
		{"lower-case ç is not GSM", "ç", UCS2, []int{2}},
		{"emoji is a surrogate pair", "😀", UCS2, []int{4}},
		{"160 gsm one part", r("a", 160), GSM7, []int{160}},
		{"161 gsm two parts", r("a", 161), GSM7, []int{153, 8}},
		{"306 gsm two parts", r("a", 306), GSM7, []int{153, 153}},
		{"307 gsm three parts", r("a", 307), GSM7, []int{153, 153, 1}},
		{"80 euro = 160 septets", r("€", 80), GSM7, []int{160}},
		{"81 euro = 162 septets", r("€", 81), GSM7, []int{152, 10}},
		{"escape pair moves to next part", r("a", 152) + "€" + r("a", 10), GSM7, []int{152, 12}},
		{"70 ucs2 one part", r("ж", 70), UCS2, []int{140}},
		{"71 ucs2 two parts", r("ж", 71), UCS2, []int{134, 8}},
		{"134 ucs2 two parts", r("ж", 134), UCS2, []int{134, 134}},
		{"135 ucs2 three parts", r("ж", 135), UCS2, []int{134, 134, 2}},
		{"35 emoji = 70 units", r("😀", 35), UCS2, []int{140}},
		{"surrogate pair moves to next part", r("ж", 66) + "😀" + r("ж", 10), UCS2, []int{132, 24}},
		{"255 parts is the limit", r("a", 153*255), GSM7, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Encode(tt.text, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Alphabet != tt.alphabet {
				t.Errorf("alphabet %v, want %v", m.Alphabet, tt.alphabet)
			}
			var got []int
			for _, p := range m.Parts {
				got = append(got, len(p.Payload))
			}
			if tt.sizes == nil {
				if len(got) != 255 {
					t.Errorf("%d parts, want 255", len(got))
				}
			} else if !equalInts(got, tt.sizes) {
				t.Errorf("part sizes %v, want %v", got, tt.sizes)
			}
			enc, n := channel.SMSParts(tt.text)
			if enc != m.Alphabet.String() || n != len(m.Parts) {
				t.Errorf("channel.SMSParts = %s/%d, Encode = %v/%d", enc, n, m.Alphabet, len(m.Parts))
			}
		})
	}
}

func TestEncodeCuts(t *testing.T) {
	t.Parallel()
	m := mustEncode(t, strings.Repeat("a", 152)+"€"+strings.Repeat("b", 10), Options{})
	if len(m.Parts) != 2 {
		t.Fatalf("%d parts, want 2", len(m.Parts))
	}
	if got := m.Parts[1].Payload[:2]; !bytes.Equal(got, []byte{0x1B, 0x65}) {
		t.Errorf("part 2 starts % x, want the whole escape pair 1b 65", got)
	}
	m = mustEncode(t, strings.Repeat("ж", 66)+"😀"+strings.Repeat("ж", 5), Options{})
	if len(m.Parts) != 2 {
		t.Fatalf("%d parts, want 2", len(m.Parts))
	}
	if got := m.Parts[1].Payload[:4]; !bytes.Equal(got, []byte{0xD8, 0x3D, 0xDE, 0x00}) {
		t.Errorf("part 2 starts % x, want the whole surrogate pair d8 3d de 00", got)
	}
}

func TestEncodeDataCoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		dc   byte
	}{
		{"gsm", "hi", Options{}, 0x00},
		{"ucs2", "ж", Options{}, 0x08},
		{"binary", "", Options{Binary: []byte{1, 2}}, 0x04},
		{"flash gsm: class 0, GSM-7", "hi", Options{Flash: true}, 0x10},
		{"flash ucs2: class 0, UCS-2", "ж", Options{Flash: true}, 0x18},
		{"flash binary: class 0, 8-bit", "", Options{Flash: true, Binary: []byte{1}}, 0x14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if m := mustEncode(t, tt.text, tt.opts); m.DataCoding != tt.dc {
				t.Errorf("data_coding %#02x, want %#02x", m.DataCoding, tt.dc)
			}
		})
	}
}

func TestEncodeBinary(t *testing.T) {
	t.Parallel()
	in := bytes.Repeat([]byte{0xFF}, 141)
	m := mustEncode(t, "", Options{Binary: in})
	if len(m.Parts) != 2 || len(m.Parts[0].Payload) != 134 || len(m.Parts[1].Payload) != 7 {
		t.Fatalf("141 octets split as %d parts", len(m.Parts))
	}
	in[0] = 0
	if m.Parts[0].Payload[0] != 0xFF {
		t.Error("payload aliases the caller's slice")
	}
	if m := mustEncode(t, "", Options{Binary: in[:140]}); len(m.Parts) != 1 {
		t.Errorf("140 octets took %d parts", len(m.Parts))
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		want error
	}{
		{"invalid utf-8", "a\xffb", Options{}, ErrInvalidUTF8},
		{"text and binary", "a", Options{Binary: []byte{1}}, ErrTextAndBinary},
		{"256 gsm parts", strings.Repeat("a", 153*255+1), Options{}, ErrTooManyParts},
		{"256 ucs2 parts", strings.Repeat("ж", 67*255+1), Options{}, ErrTooManyParts},
		{"256 binary parts", "", Options{Binary: make([]byte, 134*255+1)}, ErrTooManyParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Encode(tt.text, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Golden short_message bytes, as an SMSC reads them.
func TestEncodeGolden(t *testing.T) {
	t.Parallel()
	m := mustEncode(t, "Hi €@!", Options{})
	want := Part{Payload: []byte{0x48, 0x69, 0x20, 0x1B, 0x65, 0x00, 0x21}}
	if m.DataCoding != 0 || len(m.Parts) != 1 || !equalPart(m.Parts[0], want) {
		t.Errorf("gsm-7: dc %#02x parts %+v", m.DataCoding, m.Parts)
	}

	m = mustEncode(t, "Привет😀", Options{})
	want = Part{Payload: []byte{0x04, 0x1F, 0x04, 0x40, 0x04, 0x38, 0x04, 0x32, 0x04, 0x35, 0x04, 0x42, 0xD8, 0x3D, 0xDE, 0x00}}
	if m.DataCoding != 8 || len(m.Parts) != 1 || !equalPart(m.Parts[0], want) {
		t.Errorf("ucs-2: dc %#02x parts %+v", m.DataCoding, m.Parts)
	}

	m = mustEncode(t, strings.Repeat("x", 153*2+1), Options{Reference: 0x2A})
	if len(m.Parts) != 3 {
		t.Fatalf("%d parts, want 3", len(m.Parts))
	}
	for i, p := range m.Parts {
		udh := []byte{0x05, 0x00, 0x03, 0x2A, 0x03, byte(i + 1)}
		if !bytes.Equal(p.UDH, udh) || p.EsmClass != 0x40 {
			t.Errorf("part %d: udh % x esm %#02x, want % x esm 0x40", i+1, p.UDH, p.EsmClass, udh)
		}
		// gosmpp's marshaller is an independent oracle for the same header.
		oracle, err := pdu.UDH{pdu.NewIEConcatMessage(3, byte(i+1), 0x2A)}.MarshalBinary()
		if err != nil || !bytes.Equal(p.UDH, oracle) {
			t.Errorf("part %d: udh % x, gosmpp % x (%v)", i+1, p.UDH, oracle, err)
		}
		if sm := p.ShortMessage(); !bytes.Equal(sm[:6], udh) || len(sm) != 6+len(p.Payload) {
			t.Errorf("part %d: short_message % x", i+1, sm[:6])
		}
	}
}

// The GSM tables must agree with gosmpp's (copied from fiorix/go-smpp) character
// for character, so two independent transcriptions of TS 23.038 check each other.
func TestGSMTablesMatchGosmpp(t *testing.T) {
	t.Parallel()
	for r := range gsmCode {
		mine, _ := appendGSM(nil, r)
		theirs, err := data.GSM7BIT.Encode(string(r))
		if err != nil || !bytes.Equal(mine, theirs) {
			t.Errorf("%q: % x, gosmpp % x (%v)", r, mine, theirs, err)
		}
	}
	for r, c := range gsmExtension {
		theirs, err := data.GSM7BIT.Encode(string(r))
		if err != nil || !bytes.Equal(theirs, []byte{gsmEsc, c}) {
			t.Errorf("%q: 1b %02x, gosmpp % x (%v)", r, c, theirs, err)
		}
	}
	if len(gsmCode) != 127 || len(gsmExtension) != 10 {
		t.Errorf("%d basic and %d extension characters, want 127 and 10", len(gsmCode), len(gsmExtension))
	}
}

// Every character must land in the same alphabet here and in channel.SMSParts.
func TestAlphabetMatchesChannel(t *testing.T) {
	t.Parallel()
	for r := rune(0); r < 0x3000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		m := mustEncode(t, string(r), Options{})
		if enc, _ := channel.SMSParts(string(r)); enc != m.Alphabet.String() {
			t.Errorf("%U: channel says %s, Encode %v", r, enc, m.Alphabet)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	t.Parallel()
	pools := []string{
		strings.ReplaceAll(gsmDefault, "\x1b", "") + "^{}\\[]~|€\f", // GSM-7 only
		"abc €{}жПривет😀🇺🇦中文\u0000\r\n",                             // forces UCS-2
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		pool := []rune(pools[i%2])
		n := rng.IntN(700)
		var b strings.Builder
		for range n {
			b.WriteRune(pool[rng.IntN(len(pool))])
		}
		checkRoundTrip(t, b.String(), Options{Reference: byte(i), Flash: i%3 == 0})
	}
}

// checkRoundTrip decodes every part on its own (no character may be cut) and the
// joined payloads, and holds the part count to channel.SMSParts.
func checkRoundTrip(t *testing.T, text string, opts Options) {
	t.Helper()
	m, err := Encode(text, opts)
	if errors.Is(err, ErrTooManyParts) {
		return
	}
	if err != nil {
		t.Fatalf("Encode(%q): %v", text, err)
	}
	var joined []byte
	var each strings.Builder
	for i, p := range m.Parts {
		if limit := map[Alphabet]int{GSM7: 153, UCS2: 134}[m.Alphabet]; len(m.Parts) > 1 && len(p.Payload) > limit {
			t.Fatalf("part %d: %d octets > %d", i+1, len(p.Payload), limit)
		}
		got, udh, err := Decode(m.DataCoding, p.EsmClass, p.ShortMessage())
		if err != nil {
			t.Fatalf("Decode part %d of %q: %v", i+1, text, err)
		}
		if (udh != nil) != (len(m.Parts) > 1) ||
			udh != nil && (!udh.Concat || udh.Reference != uint16(opts.Reference) || int(udh.Total) != len(m.Parts) || int(udh.Seq) != i+1) {
			t.Fatalf("part %d: udh %+v", i+1, udh)
		}
		each.WriteString(got)
		joined = append(joined, p.Payload...)
	}
	got, _, err := Decode(m.DataCoding, 0, joined)
	if err != nil || got != text || each.String() != text {
		t.Fatalf("round trip of %q: joined %q, per part %q (%v)", text, got, each.String(), err)
	}
	if enc, n := channel.SMSParts(text); enc != m.Alphabet.String() || n != len(m.Parts) {
		t.Fatalf("%q: channel.SMSParts %s/%d, Encode %v/%d", text, enc, n, m.Alphabet, len(m.Parts))
	}
}

func mustEncode(t *testing.T, text string, opts Options) Message {
	t.Helper()
	m, err := Encode(text, opts)
	if err != nil {
		t.Fatalf("Encode(%.20q): %v", text, err)
	}
	return m
}

func equalPart(a, b Part) bool {
	return bytes.Equal(a.UDH, b.UDH) && bytes.Equal(a.Payload, b.Payload) && a.EsmClass == b.EsmClass
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
