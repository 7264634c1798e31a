package sms

import (
	"bytes"
	"strings"
	"testing"

	"github.com/linxGnu/gosmpp/data"
)

func TestConcatOf(t *testing.T) {
	t.Parallel()
	sar := func(ref []byte, total, seq byte) map[uint16][]byte {
		return map[uint16][]byte{TagSARMsgRefNum: ref, TagSARTotalSegments: {total}, TagSARSegmentSeqnum: {seq}}
	}
	udh := func(sm ...byte) *UDH {
		h, err := parseUDH(sm)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tests := []struct {
		name string
		udh  *UDH
		tlvs map[uint16][]byte
		want *Concat
	}{
		{"udh 8-bit", udh(5, 0x00, 3, 0xAB, 3, 2), nil, &Concat{Kind: "udh8", Reference: 0xAB, Total: 3, Seq: 2}},
		{"udh 16-bit", udh(6, 0x08, 4, 0x12, 0x34, 3, 3), nil, &Concat{Kind: "udh16", Reference: 0x1234, Total: 3, Seq: 3}},
		{"sar", nil, sar([]byte{0x01, 0x02}, 4, 1), &Concat{Kind: "sar", Reference: 0x0102, Total: 4, Seq: 1}},
		{"udh wins over sar", udh(5, 0x00, 3, 7, 2, 1), sar([]byte{0, 9}, 2, 2), &Concat{Kind: "udh8", Reference: 7, Total: 2, Seq: 1}},
		{"sar seq above total", nil, sar([]byte{0, 1}, 2, 3), nil},
		{"sar seq 0", nil, sar([]byte{0, 1}, 2, 0), nil},
		{"sar short ref", nil, sar([]byte{1}, 2, 1), nil},
		{"sar without total", nil, map[uint16][]byte{TagSARMsgRefNum: {0, 1}, TagSARSegmentSeqnum: {1}}, nil},
		{"one part is no concatenation", nil, sar([]byte{0, 1}, 1, 1), nil},
		{"udh without concatenation", udh(4, 0x05, 2, 0x0B, 0x84), nil, nil},
	}
	for _, tt := range tests {
		got := ConcatOf(tt.udh, tt.tlvs)
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: ConcatOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if r := (Concat{Kind: "udh16", Reference: 300}).Ref(); r != "udh16:300" {
		t.Errorf("Ref = %q", r)
	}
}

// UnpackGSM7 is checked against gosmpp's packer, written independently: its split
// for a 6-octet UDH shifts the septets by the one fill bit.
func TestUnpackGSM7AgainstGosmpp(t *testing.T) {
	t.Parallel()
	udh := []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x01}
	for _, text := range []string{
		"hello",
		strings.Repeat("x", 153),
		strings.Repeat("y", 152) + "z",
		"a€[b]^{c}",
		strings.Repeat("1234567", 8), // 56 septets: 49 octets, no spare septet
		strings.Repeat("@", 7),       // ends on a spare septet
	} {
		packed, err := data.GSM7BITPACKED.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		unpacked, _ := data.GSM7BIT.Encode(text)
		if got := UnpackGSM7(packed, 0); !bytes.Equal(got, unpacked) && !(len(packed)%7 == 0 && bytes.Equal(got, unpacked[:len(unpacked)-1])) {
			t.Errorf("%q without a UDH: % x, want % x", text, got, unpacked)
		}
		segs, err := data.GSM7BITPACKED.(data.Splitter).EncodeSplit(text, 134)
		if err != nil || len(segs) != 1 {
			t.Fatalf("gosmpp split %q: %d segments, %v", text, len(segs), err)
		}
		sm := append(append([]byte(nil), udh...), segs[0]...)
		p, err := DecodePart(0x00, esmUDHI, sm, true)
		if err != nil || p.Text != text || !bytes.Equal(p.Body, unpacked) || p.UDH == nil || !p.UDH.Concat {
			t.Errorf("%q after a UDH: %q (body % x, udh %+v), %v", text, p.Text, p.Body, p.UDH, err)
		}
	}
}

func TestUnpackGSM7FillBits(t *testing.T) {
	t.Parallel()
	// A 7-octet UDH (16-bit reference) is 56 bits: 8 septets, no fill bit; "AB"
	// packed is 0x41 | 0x42<<7 = 0x41 0x21.
	sm := []byte{0x06, 0x08, 0x04, 0x00, 0x01, 0x02, 0x01, 0x41, 0x21}
	if p, err := DecodePart(0x00, esmUDHI, sm, true); err != nil || p.Text != "AB" {
		t.Errorf("16-bit ref UDH: %q, %v", p.Text, err)
	}
	// Not packed: the same octets after the UDH are read one septet each.
	if p, err := DecodePart(0x00, esmUDHI, sm, false); err != nil || p.Text != "A!" {
		t.Errorf("unpacked: %q, %v", p.Text, err)
	}
	// UCS-2 is never unpacked.
	if p, err := DecodePart(0x08, 0, []byte{0x00, 0x41}, true); err != nil || p.Text != "A" {
		t.Errorf("ucs-2: %q, %v", p.Text, err)
	}
	// 7 octets after no header hold 8 septets; a trailing <CR> is padding.
	packed, _ := data.GSM7BITPACKED.Encode("1234567\r")
	if got := string(UnpackGSM7(packed, 0)); got != "1234567" {
		t.Errorf("CR padding: %q", got)
	}
	if got := UnpackGSM7([]byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x01}, 6); len(got) != 0 {
		t.Errorf("header only: % x", got)
	}
}

func TestJoinParts(t *testing.T) {
	t.Parallel()
	// 😀 is the surrogate pair D83D DE00, split between two UCS-2 parts.
	ucs := [][]byte{{0x00, 0x41, 0xD8, 0x3D}, {0xDE, 0x00, 0x00, 0x42}}
	if got, err := JoinParts([]byte{8, 8}, ucs); err != nil || got != "A😀B" {
		t.Errorf("split surrogate: %q, %v", got, err)
	}
	// A GSM-7 escape split from its character.
	if got, err := JoinParts([]byte{0, 0}, [][]byte{{0x41, 0x1B}, {0x65}}); err != nil || got != "A€" {
		t.Errorf("split escape: %q, %v", got, err)
	}
	if got, err := JoinParts([]byte{0, 8}, [][]byte{{0x41}, {0x04, 0x1F}}); err != nil || got != "AП" {
		t.Errorf("mixed codings: %q, %v", got, err)
	}
	if _, err := JoinParts([]byte{0, 8}, [][]byte{{0x41}, {0x04}}); err == nil {
		t.Error("an odd UCS-2 part decoded")
	}
}
