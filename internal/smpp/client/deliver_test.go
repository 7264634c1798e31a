package client

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// goldenReceipt is a deliver_sm body (no header) carrying a receipt: esm_class 0x04,
// from TON 1 "447700900123" to TON 5 "Catalyst", and TLVs receipted_message_id and
// message_state.
const goldenReceipt = "00" + // service_type
	"0101" + "34343737303039303031323300" + // source TON/NPI, "447700900123"
	"0500" + "436174616c79737400" + // dest TON/NPI, "Catalyst"
	"04" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + // esm_class … sm_default_msg_id
	"0d" + "69643a31614220737461743a44" + // sm_length 13, "id:1aB stat:D"
	"001e" + "0004" + "31616200" + // receipted_message_id "1ab\0"
	"0427" + "0001" + "02" // message_state DELIVERED

func TestParseDeliverSMGolden(t *testing.T) {
	t.Parallel()
	body, err := hex.DecodeString(goldenReceipt)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDeliverSM(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if d.srcTON != 1 || d.src != "447700900123" || d.dstTON != 5 || d.dst != "Catalyst" || d.esmClass != 4 || string(d.shortMessage) != "id:1aB stat:D" {
		t.Errorf("parsed %+v", d)
	}
	if !bytes.Equal(d.tlvs[sms.TagReceiptedMessageID], []byte("1ab\x00")) || !bytes.Equal(d.tlvs[sms.TagMessageState], []byte{2}) || len(d.tlvs) != 2 {
		t.Errorf("TLVs %v", d.tlvs)
	}
	if !d.isReceipt() {
		t.Error("not seen as a receipt")
	}
	r, err := sms.ParseReceipt(d.payload(), d.tlvs)
	if err != nil || r.MessageID != sms.NormalizeID("1AB") || r.State != sms.StateDelivered {
		t.Errorf("receipt %+v, %v", r, err)
	}
	if m := d.mo(false); m.From != "+447700900123" || m.To != "Catalyst" {
		t.Errorf("addresses %q → %q", m.From, m.To)
	}

	// gosmpp writes the same body.
	p := pdu.NewDeliverSM().(*pdu.DeliverSM)
	p.SourceAddr, _ = pdu.NewAddressWithTonNpiAddr(1, 1, "447700900123")
	p.DestAddr, _ = pdu.NewAddressWithTonNpiAddr(5, 0, "Catalyst")
	p.EsmClass = 4
	_ = p.Message.SetMessageDataWithEncoding([]byte("id:1aB stat:D"), data.GSM7BIT)
	p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagReceiptedMessageID, Data: []byte("1ab\x00")})
	wire := marshal(p)
	g, err := parseDeliverSM(wire[16:])
	if err != nil || g.src != d.src || g.dst != d.dst || !bytes.Equal(g.shortMessage, d.shortMessage) {
		t.Errorf("gosmpp's deliver_sm parsed as %+v, %v", g, err)
	}
}

func TestParseDeliverSMMalformed(t *testing.T) {
	t.Parallel()
	body, _ := hex.DecodeString(goldenReceipt)
	smEnd := len(body) - 13 // just before the TLVs
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"cut in the header fields", body[:10]},
		{"short_message longer than the body", body[:smEnd-1]},
		{"cut TLV header", append(append([]byte{}, body...), 0x00, 0x1e)},
		{"TLV longer than the body", append(append([]byte{}, body[:smEnd]...), 0x00, 0x1e, 0x00, 0x09, 'x')},
		{"address without NUL", append([]byte{0, 1, 1}, bytes.Repeat([]byte{'9'}, 80)...)},
	} {
		if d, err := parseDeliverSM(tc.body); err == nil {
			t.Errorf("%s: parsed %+v", tc.name, d)
		}
	}
}

func TestMODecodeError(t *testing.T) {
	t.Parallel()
	// UDHI set but the UDH length runs past the message: still delivered, raw.
	d := deliverSM{esmClass: 0x40, dataCoding: 0, shortMessage: []byte{0x09, 0x00, 0x03}}
	m := d.mo(false)
	if m.DecodeErr == nil || m.Text != "" || !bytes.Equal(m.Payload, d.shortMessage) {
		t.Errorf("MO %+v", m)
	}
	if !errors.Is(m.DecodeErr, sms.ErrMalformedUDH) {
		t.Errorf("DecodeErr %v, want ErrMalformedUDH", m.DecodeErr)
	}
}

func FuzzParseDeliverSM(f *testing.F) {
	golden, _ := hex.DecodeString(goldenReceipt)
	f.Add(golden)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDeliverSM(body)
		if err != nil {
			return
		}
		if len(d.shortMessage) > len(body) {
			t.Fatalf("short_message of %d octets from a body of %d", len(d.shortMessage), len(body))
		}
		_ = d.mo(false)
		_ = d.isReceipt()
	})
}
