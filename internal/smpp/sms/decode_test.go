package sms

import (
	"errors"
	"testing"
)

func TestDecodeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dc   byte
		sm   []byte
		want string
		err  error
	}{
		{"gsm-7 with escape", 0x00, []byte{0x48, 0x69, 0x20, 0x1B, 0x65, 0x00}, "Hi €@", nil},
		{"esc + unknown shows the base char", 0x00, []byte{0x1B, 0x41}, "A", nil},
		{"esc esc shows a space", 0x00, []byte{0x1B, 0x1B, 0x41}, " A", nil},
		{"trailing esc shows a space", 0x00, []byte{0x41, 0x1B}, "A ", nil},
		{"octet above 0x7f is not a septet", 0x00, []byte{0x41, 0xE9}, "", ErrMalformedText},
		{"esc + octet above 0x7f", 0x00, []byte{0x1B, 0xE9}, "", ErrMalformedText},
		{"ia5", 0x01, []byte("abc"), "abc", nil},
		{"ia5 high octet", 0x01, []byte{0xE9}, "", ErrMalformedText},
		{"latin-1", 0x03, []byte{0x63, 0x61, 0x66, 0xE9}, "café", nil},
		{"8-bit kept raw", 0x04, []byte{0x00, 0xFF}, "\x00\xff", nil},
		{"8-bit 0x02 kept raw", 0x02, []byte{0xCA, 0xFE}, "\xca\xfe", nil},
		{"cyrillic iso-8859-5", 0x06, []byte{0xB0, 0xD1}, "Аб", nil},
		{"hebrew iso-8859-8", 0x07, []byte{0xE0}, "א", nil},
		{"ucs-2", 0x08, []byte{0x04, 0x1F, 0xD8, 0x3D, 0xDE, 0x00}, "П😀", nil},
		{"ucs-2 lone surrogate", 0x08, []byte{0xD8, 0x3D, 0x00, 0x41}, "\uFFFDA", nil},
		{"ucs-2 odd length", 0x08, []byte{0x00, 0x41, 0x00}, "", ErrMalformedText},
		{"flash gsm-7", 0x10, []byte{0x41}, "A", nil},
		{"flash ucs-2", 0x18, []byte{0x00, 0x41}, "A", nil},
		{"class 1 8-bit (general group)", 0x15, []byte{0xFF}, "\xff", nil},
		{"dcs 0xf0 gsm-7 class 0", 0xF0, []byte{0x41}, "A", nil},
		{"dcs 0xf6 8-bit class 2", 0xF6, []byte{0x7F}, "\x7f", nil},
		{"mwi store ucs-2", 0xE0, []byte{0x00, 0x41}, "A", nil},
		{"mwi discard gsm-7", 0xC0, []byte{0x41}, "A", nil},
		{"reserved dcs reads as gsm-7", 0x80, []byte{0x41}, "A", nil},
		{"reserved general alphabet reads as gsm-7", 0x1C, []byte{0x41}, "A", nil},
		{"compressed", 0x20, []byte{0x41}, "", ErrUnsupported},
		{"jis", 0x05, []byte{0x41}, "", ErrUnsupported},
		{"ks c 5601", 0x0E, []byte{0x41}, "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, udh, err := Decode(tt.dc, 0, tt.sm)
			if !errors.Is(err, tt.err) || got != tt.want || udh != nil {
				t.Errorf("Decode(%#02x, % x) = %q, %v, %v; want %q, %v", tt.dc, tt.sm, got, udh, err, tt.want, tt.err)
			}
		})
	}
}

func TestDecodeUDH(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sm     []byte
		text   string
		concat bool
		ref16  bool
		ref    uint16
		total  byte
		seq    byte
		ies    int
		err    error
	}{
		{name: "8-bit reference", sm: []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x41}, text: "A",
			concat: true, ref: 0x2A, total: 2, seq: 1, ies: 1},
		{name: "16-bit reference", sm: []byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x42}, text: "B",
			concat: true, ref16: true, ref: 0x1234, total: 3, seq: 2, ies: 1},
		{name: "port addressing before concat", sm: []byte{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x07, 0x02, 0x02, 0x43},
			text: "C", concat: true, ref: 7, total: 2, seq: 2, ies: 2},
		{name: "last concat element wins", sm: []byte{0x0A, 0x00, 0x03, 0x01, 0x02, 0x01, 0x00, 0x03, 0x09, 0x04, 0x03}, text: "",
			concat: true, ref: 9, total: 4, seq: 3, ies: 2},
		{name: "seq 0 is ignored", sm: []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x00, 0x41}, text: "A", ies: 1},
		{name: "seq beyond total is ignored", sm: []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x03}, ies: 1},
		{name: "empty header", sm: []byte{0x00, 0x41}, text: "A"},
		{name: "no octets", sm: nil, err: ErrMalformedUDH},
		{name: "UDHL beyond the message", sm: []byte{0x05, 0x00, 0x03}, err: ErrMalformedUDH},
		// gosmpp's pdu.UDH accepts this one and reads the element into the payload.
		{name: "element overruns UDHL", sm: []byte{0x04, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x41}, err: ErrMalformedUDH},
		{name: "stray octet in header", sm: []byte{0x06, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x41}, err: ErrMalformedUDH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, udh, err := Decode(0x00, 0x40|0x04, tt.sm)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if udh == nil {
				t.Fatal("no UDH")
			}
			if text != tt.text || udh.Concat != tt.concat || udh.Ref16 != tt.ref16 || udh.Reference != tt.ref ||
				udh.Total != tt.total || udh.Seq != tt.seq || len(udh.Elements) != tt.ies || len(udh.Raw) != 1+int(tt.sm[0]) {
				t.Errorf("got %q %+v", text, *udh)
			}
		})
	}
}
