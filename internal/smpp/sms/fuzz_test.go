package sms

import (
	"testing"
	"unicode/utf8"
)

func FuzzParseReceipt(f *testing.F) {
	f.Add([]byte("id:0123456789 sub:001 dlvrd:001 submit date:2403151230 done date:2403151231 stat:DELIVRD err:000 text:Hi"), []byte{}, []byte{}, []byte{}, uint8(0))
	f.Add([]byte("Id:abc Stat:enroute"), []byte("1A2B\x00"), []byte{2}, []byte{3, 0, 1}, uint8(7))
	f.Add([]byte{}, []byte("\x00"), []byte{9}, []byte{1}, uint8(3))
	f.Add([]byte("id:1 submit_date:240315123045 stat:UNDELIV text:id:2"), []byte{}, []byte{0xFF}, []byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, sm, id, state, nerr []byte, present uint8) {
		tlvs := map[uint16][]byte{}
		for i, tv := range []struct {
			tag uint16
			v   []byte
		}{{TagReceiptedMessageID, id}, {TagMessageState, state}, {TagNetworkErrorCode, nerr}, {TagMessagePayload, sm}} {
			if present&(1<<i) != 0 {
				tlvs[tv.tag] = tv.v
			}
		}
		r, err := ParseReceipt(sm, tlvs)
		terminal := map[State]bool{StateDelivered: true, StateExpired: true, StateDeleted: true,
			StateUndeliverable: true, StateAccepted: true, StateRejected: true}
		if r.Final != terminal[r.State] {
			t.Fatalf("Final %v with State %v", r.Final, r.State)
		}
		if err == nil && (r.MessageID == "" || r.State < StateEnroute || r.State > StateRejected) {
			t.Fatalf("accepted receipt without id or state: %+v", r)
		}
		if r.MessageID != NormalizeID(r.MessageID) {
			t.Fatalf("NormalizeID not idempotent: %q -> %q", r.MessageID, NormalizeID(r.MessageID))
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0x00), byte(0x00), []byte{0x48, 0x69, 0x1B, 0x65, 0x1B})
	f.Add(byte(0x08), byte(0x40), []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0xD8, 0x3D, 0xDE, 0x00})
	f.Add(byte(0x18), byte(0x43), []byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x00})
	f.Add(byte(0xF4), byte(0x40), []byte{0x04, 0x00, 0x03, 0x2A, 0x02, 0x01})
	f.Add(byte(0x06), byte(0x00), []byte{0xB0, 0xFF})
	f.Fuzz(func(t *testing.T, dc, esm byte, sm []byte) {
		text, udh, err := Decode(dc, esm, sm)
		if udh != nil {
			if len(udh.Raw) > len(sm) || len(udh.Raw) != 1+int(sm[0]) {
				t.Fatalf("UDH of %d octets from %d", len(udh.Raw), len(sm))
			}
			if udh.Concat && (udh.Seq == 0 || udh.Seq > udh.Total) {
				t.Fatalf("concat seq %d of %d", udh.Seq, udh.Total)
			}
		}
		if esm&esmUDHI == 0 && udh != nil {
			t.Fatal("UDH without UDHI")
		}
		if err == nil && codingOf(dc) != codingBinary && !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 from data_coding %#02x: %q", dc, text)
		}
	})
}

func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Hello", "^{}\\[]~|€", "Привет 😀", "@\x00é\f", string(make([]rune, 161))} {
		f.Add(s, byte(7), false)
	}
	f.Fuzz(func(t *testing.T, text string, ref byte, flash bool) {
		if !utf8.ValidString(text) {
			if _, err := Encode(text, Options{}); err == nil {
				t.Fatal("invalid UTF-8 accepted")
			}
			return
		}
		checkRoundTrip(t, text, Options{Reference: ref, Flash: flash})
	})
}
