package smsc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{"minimal", Config{Accounts: map[string]string{"a": "b"}}, nil},
		{"no accounts", Config{}, []string{"Config.Accounts"}},
		{"negative weights and delay", Config{Accounts: map[string]string{"a": "b"}, ReceiptDelay: -1,
			Outcomes: Mix{Undelivered: -1, Expired: -2}},
			[]string{"Config.Outcomes.Undelivered", "Config.Outcomes.Expired", "Config.ReceiptDelay"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if (err == nil) != (len(tc.want) == 0) {
				t.Fatalf("New = %v, want errors %v", err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestSplitMO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		coding byte
		sizes  []int
	}{
		{"gsm7 160", strings.Repeat("a", 160), 0, []int{160}},
		{"gsm7 161", strings.Repeat("a", 161), 0, []int{153, 8}},
		{"escape kept whole", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), 0, []int{152, 12}},
		{"ucs2 70", strings.Repeat("ж", 70), 8, []int{140}},
		{"ucs2 71", strings.Repeat("ж", 71), 8, []int{134, 8}},
		{"surrogate pair kept whole", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5), 8, []int{132, 14}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			enc, parts := splitMO(tc.text, 153, 134)
			var sizes []int
			var joined []byte
			for _, p := range parts {
				sizes = append(sizes, len(p))
				joined = append(joined, p...)
			}
			if enc.DataCoding() != tc.coding || !equalInts(sizes, tc.sizes) {
				t.Errorf("coding %d, part sizes %v; want %d, %v", enc.DataCoding(), sizes, tc.coding, tc.sizes)
			}
			if got, _ := enc.Decode(joined); got != tc.text {
				t.Errorf("parts decode to %q", got)
			}
		})
	}
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

func TestDecodeText(t *testing.T) {
	t.Parallel()
	ucs, _ := data.UCS2.Encode("Grüße ☀")
	gsm, _ := data.GSM7BIT.Encode("Hi {you} €")
	tests := []struct {
		dc   byte
		in   []byte
		want string
		ok   bool
	}{
		{0x00, gsm, "Hi {you} €", true},
		{0x01, []byte("plain"), "plain", true},
		{0x03, []byte{'c', 0xE9}, "cé", true},
		{0x08, ucs, "Grüße ☀", true},
		{0x10, gsm, "Hi {you} €", true}, // flash, GSM 7-bit
		{0x18, ucs, "Grüße ☀", true},    // flash, UCS-2
		{0xF1, gsm, "Hi {you} €", true}, // GSM 7-bit, class 1
		{0x04, []byte{1, 2}, "", false}, // binary
		{0xF4, []byte{1, 2}, "", false}, // 8-bit data, class 0
	}
	for _, tc := range tests {
		got, ok := decodeText(tc.dc, tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("decodeText(%#x) = %q, %v; want %q, %v", tc.dc, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReceiptText(t *testing.T) {
	t.Parallel()
	sub := time.Date(2026, 3, 9, 14, 5, 59, 0, time.UTC)
	done := sub.Add(90 * time.Second)
	got := receiptText("00ab", sub, done, undelivered, "Grüße {aus} Köln und überall")
	want := "id:00ab sub:001 dlvrd:000 submit date:2603091405 done date:2603091407 stat:UNDELIV err:001 text:Gr??e ?aus? K?ln und"
	if got != want {
		t.Errorf("receiptText =\n%q\nwant\n%q", got, want)
	}
}

func TestWantsReceipt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rd   byte
		oc   outcome
		want bool
	}{
		{0x00, delivered, false},
		{0x01, delivered, true},
		{0x01, undelivered, true},
		{0x02, delivered, false},
		{0x02, expired, true},
		{0x03, delivered, true},
		{0x03, undelivered, false},
		{0x11, delivered, true}, // SME ack bits do not matter
	}
	for _, tc := range tests {
		if got := wantsReceipt(tc.rd, tc.oc); got != tc.want {
			t.Errorf("wantsReceipt(%#x, %s) = %v, want %v", tc.rd, tc.oc.stat, got, tc.want)
		}
	}
}

// marshal encodes p with gosmpp.
func marshal(p pdu.PDU) []byte {
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	return buf.Bytes()
}

// FuzzReadPDU feeds untrusted bytes through the decoder and, for a submit_sm, the user
// data, concatenation and data_coding extraction: none may panic or over-read.
func FuzzReadPDU(f *testing.F) {
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	sm.DestAddr, _ = pdu.NewAddressWithAddr("4917")
	sm.Message, _ = pdu.NewShortMessageWithEncoding("hello", data.GSM7BIT)
	f.Add(marshal(sm))
	sm.EsmClass = data.SM_UDH_GSM
	sm.Message.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(2, 1, 7)})
	f.Add(marshal(sm))
	sm.RegisterOptionalParam(pdu.Field{Tag: pdu.TagMessagePayload, Data: []byte{5, 0, 3, 1, 2, 1, 'x'}})
	f.Add(marshal(sm))
	f.Add(marshal(pdu.NewEnquireLink()))
	f.Add(header(16, 0x777, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, body, err := readPDU(bytes.NewReader(b))
		if err != nil {
			return
		}
		if sm, ok := p.(*pdu.SubmitSM); ok {
			ud, c := userData(sm)
			_ = dataCoding(sm, body)
			if c.seq > c.total || len(ud) > len(b) {
				t.Fatalf("concat %+v, %d bytes of user data from %d", c, len(ud), len(b))
			}
		}
	})
}
