package sms

import (
	"errors"
	"testing"
	"time"
)

func TestParseReceipt(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time { return receiptTime(s) }
	tests := []struct {
		name string
		sm   string
		tlvs map[uint16][]byte
		want Receipt
		err  error
	}{
		{name: "canonical", sm: "id:0123456789 sub:001 dlvrd:001 submit date:2403151230 done date:2403151231 stat:DELIVRD err:000 text:Hello world",
			want: Receipt{MessageID: "123456789", RawID: "0123456789", State: StateDelivered, Final: true, Stat: "DELIVRD", ErrorCode: "000",
				SubmitDate: time.Date(2024, 3, 15, 12, 30, 0, 0, time.UTC), DoneDate: at("2403151231"), Text: "Hello world"}},
		{name: "lower case, hex id", sm: "id:abc123 sub:001 dlvrd:001 submit date:2403151230 done date:2403151231 stat:delivrd err:0",
			want: Receipt{MessageID: "11256099", RawID: "abc123", State: StateDelivered, Final: true, Stat: "delivrd", ErrorCode: "0",
				SubmitDate: at("2403151230"), DoneDate: at("2403151231")}},
		{name: "no sub, dlvrd or text", sm: "id:12345 submit date:2403151230 done date:2403151231 stat:UNDELIV err:001",
			want: Receipt{MessageID: "12345", RawID: "12345", State: StateUndeliverable, Final: true, Stat: "UNDELIV", ErrorCode: "001",
				SubmitDate: at("2403151230"), DoneDate: at("2403151231")}},
		{name: "underscored dates with seconds", sm: "id:77 submit_date:240315123045 done_date:240315123150 stat:EXPIRED err:000",
			want: Receipt{MessageID: "77", RawID: "77", State: StateExpired, Final: true, Stat: "EXPIRED", ErrorCode: "000",
				SubmitDate: time.Date(2024, 3, 15, 12, 30, 45, 0, time.UTC), DoneDate: time.Date(2024, 3, 15, 12, 31, 50, 0, time.UTC)}},
		{name: "keys inside text are text", sm: "id:1 stat:DELIVRD err:000 text:id:999 stat:REJECTD",
			want: Receipt{MessageID: "1", RawID: "1", State: StateDelivered, Final: true, Stat: "DELIVRD", ErrorCode: "000", Text: "id:999 stat:REJECTD"}},
		{name: "title case, rejected", sm: "Id:5 Sub:001 Dlvrd:000 Submit Date:2401010000 Done Date:2401010001 Stat:REJECTD Err:0B Text:",
			want: Receipt{MessageID: "5", RawID: "5", State: StateRejected, Final: true, Stat: "REJECTD", ErrorCode: "0B",
				SubmitDate: at("2401010000"), DoneDate: at("2401010001")}},
		{name: "space after colon, state key", sm: "id: 42 state: ENROUTE",
			want: Receipt{MessageID: "42", RawID: "42", State: StateEnroute, Stat: "ENROUTE"}},
		{name: "accepted is final", sm: "id:42 stat:ACCEPTD",
			want: Receipt{MessageID: "42", RawID: "42", State: StateAccepted, Final: true, Stat: "ACCEPTD"}},
		{name: "unknown is not final", sm: "id:42 stat:UNKNOWN",
			want: Receipt{MessageID: "42", RawID: "42", State: StateUnknown, Stat: "UNKNOWN"}},
		{name: "unlisted stat", sm: "id:42 stat:FAILED err:069",
			want: Receipt{MessageID: "42", RawID: "42", State: StateUnknown, Stat: "FAILED", ErrorCode: "069"}},
		{name: "impossible dates are zero", sm: "id:42 submit date:2413991299 done date:24 stat:DELIVRD",
			want: Receipt{MessageID: "42", RawID: "42", State: StateDelivered, Final: true, Stat: "DELIVRD"}},
		{name: "tlv only", tlvs: map[uint16][]byte{0x001E: []byte("1A2B\x00"), 0x0427: {2}, 0x0423: {3, 0x00, 0x01}},
			want: Receipt{MessageID: "6699", RawID: "1A2B", State: StateDelivered, Final: true, ErrorCode: "001", NetworkType: 3}},
		{name: "tlvs override text", sm: "id:6699 stat:ENROUTE err:000",
			tlvs: map[uint16][]byte{0x001E: []byte("1A2B\x00"), 0x0427: {5}, 0x0423: {8, 0x01, 0x02}},
			want: Receipt{MessageID: "6699", RawID: "1A2B", State: StateUndeliverable, Final: true, Stat: "ENROUTE", ErrorCode: "258", NetworkType: 8}},
		{name: "malformed tlvs fall back to text", sm: "id:7 stat:DELIVRD err:000",
			tlvs: map[uint16][]byte{0x001E: []byte("\x00"), 0x0427: {2, 0}, 0x0423: {3}},
			want: Receipt{MessageID: "7", RawID: "7", State: StateDelivered, Final: true, Stat: "DELIVRD", ErrorCode: "000"}},
		{name: "text in message_payload", tlvs: map[uint16][]byte{0x0424: []byte("id:9 stat:EXPIRED")},
			want: Receipt{MessageID: "9", RawID: "9", State: StateExpired, Final: true, Stat: "EXPIRED"}},
		{name: "not a receipt", sm: "hello there", err: ErrNotReceipt},
		{name: "no id", sm: "stat:DELIVRD err:000", err: ErrNoReceiptID},
		{name: "no state", sm: "id:5 err:000", err: ErrNoReceiptStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseReceipt([]byte(tt.sm), tt.tlvs)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestNormalizeID(t *testing.T) {
	t.Parallel()
	long := "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" // 64 hex digits
	tests := []struct{ in, want string }{
		{"1A2B", "6699"},
		{"1a2b", "6699"},
		{"6699", "6699"},
		{"006699", "6699"},
		{"0x1A2B", "6699"},
		{"0x1234", "4660"}, // an explicit prefix makes digits hex
		{"00ff", "255"},
		{"0000", "0"},
		{" 6699\x00", "6699"},
		{"", ""},
		{"550E8400-E29B-41D4-A716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"MSG-12AB", "msg-12ab"},
		{"0xZZ", "0xzz"},
		{long, "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
		{long + "f", long + "f"}, // longer than SMPP allows: left alone
	}
	for _, tt := range tests {
		if got := NormalizeID(tt.in); got != tt.want {
			t.Errorf("NormalizeID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Both directions: the submit_sm_resp id in hex, the receipt in decimal, and back.
	for _, pair := range [][2]string{{"1A2B", "6699"}, {"6699", "1a2b"}, {"0A", "10"}, {"FFFFFFFF", "4294967295"}} {
		if NormalizeID(pair[0]) != NormalizeID(pair[1]) {
			t.Errorf("%q and %q do not match", pair[0], pair[1])
		}
	}
	if NormalizeID("1234") == NormalizeID("4660") {
		t.Error("an all-digit id was read as hex")
	}
}

func TestStateFinal(t *testing.T) {
	t.Parallel()
	final := map[State]bool{StateEnroute: false, StateDelivered: true, StateExpired: true, StateDeleted: true,
		StateUndeliverable: true, StateAccepted: true, StateUnknown: false, StateRejected: true, 0: false, 9: false}
	for s, want := range final {
		if s.Final() != want {
			t.Errorf("%v.Final() = %v", s, !want)
		}
	}
	if StateUndeliverable.String() != "UNDELIV" || State(9).String() != "State(9)" {
		t.Errorf("String: %v %v", StateUndeliverable, State(9))
	}
}
