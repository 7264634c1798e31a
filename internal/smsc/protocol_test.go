package smsc

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

func TestBindResponses(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{SystemID: "sandbox"})
	tests := []struct {
		bt   pdu.BindingType
		want data.CommandIDType
	}{
		{pdu.Transmitter, data.BIND_TRANSMITTER_RESP},
		{pdu.Receiver, data.BIND_RECEIVER_RESP},
		{pdu.Transceiver, data.BIND_TRANSCEIVER_RESP},
	}
	for _, tc := range tests {
		t.Run(bindName(tc.bt), func(t *testing.T) {
			t.Parallel()
			r := rawDial(t, s.Addr()).bind(tc.bt, "acme", "secret")
			if r.CommandID != tc.want || r.CommandStatus != data.ESME_ROK || r.SystemID != "sandbox" {
				t.Errorf("bind_resp = %s %s system_id %q; want %s ESME_ROK sandbox", r.CommandID, r.CommandStatus, r.SystemID, tc.want)
			}
			// A failed bind decodes with gosmpp for every binding type, and the
			// connection stays open for another try.
			conn := rawDial(t, s.Addr())
			if r := conn.bind(tc.bt, "acme", "wrong"); r.CommandID != tc.want || r.CommandStatus != data.ESME_RINVPASWD {
				t.Errorf("bad password: %s %s, want %s ESME_RINVPASWD", r.CommandID, r.CommandStatus, tc.want)
			}
			if r := conn.bind(tc.bt, "acme", "secret"); r.CommandStatus != data.ESME_ROK {
				t.Errorf("bind after a failed one: %s", r.CommandStatus)
			}
		})
	}
}

// header builds a raw 16-byte PDU header, for command ids gosmpp cannot build.
func header(length int32, id data.CommandIDType, seq int32) []byte {
	h := pdu.Header{CommandLength: length, CommandID: id, SequenceNumber: seq}
	buf := pdu.NewBuffer(nil)
	h.Marshal(buf)
	return buf.Bytes()
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	submit := func(dest string) pdu.PDU {
		sm := newSubmit(t, "A", "4917", "hi", data.GSM7BIT, 0)
		sm.DestAddr, _ = pdu.NewAddressWithAddr(dest)
		return sm
	}
	tests := []struct {
		name     string
		bindAs   *pdu.BindingType // nil: stay unbound
		send     func(r *rawConn) int32
		wantID   data.CommandIDType
		wantStat data.CommandStatusType
	}{
		{"submit before bind", nil, func(r *rawConn) int32 { p := submit("4917"); r.write(p); return p.GetSequenceNumber() },
			data.SUBMIT_SM_RESP, data.ESME_RINVBNDSTS},
		{"submit on a receiver", ptr(pdu.Receiver), func(r *rawConn) int32 { p := submit("4917"); r.write(p); return p.GetSequenceNumber() },
			data.SUBMIT_SM_RESP, data.ESME_RINVBNDSTS},
		{"submit without destination", ptr(pdu.Transmitter), func(r *rawConn) int32 { p := submit(""); r.write(p); return p.GetSequenceNumber() },
			data.SUBMIT_SM_RESP, data.ESME_RINVDSTADR},
		{"second bind", ptr(pdu.Transceiver), func(r *rawConn) int32 {
			b := pdu.NewBindRequest(pdu.Transmitter)
			b.SystemID, b.Password = "acme", "secret"
			r.write(b)
			return b.GetSequenceNumber()
		}, data.BIND_TRANSMITTER_RESP, data.ESME_RALYBND},
		{"unknown command", ptr(pdu.Transceiver), func(r *rawConn) int32 { r.writeBytes(header(16, 0x00000777, 4242)); return 4242 },
			data.GENERIC_NACK, data.ESME_RINVCMDID},
		{"unsupported query_sm", ptr(pdu.Transceiver), func(r *rawConn) int32 { p := pdu.NewQuerySM(); r.write(p); return p.GetSequenceNumber() },
			data.GENERIC_NACK, data.ESME_RINVCMDID},
		{"truncated submit_sm", ptr(pdu.Transceiver), func(r *rawConn) int32 {
			r.writeBytes(append(header(19, data.SUBMIT_SM, 77), 0, 1, 1)) // a body that ends mid-address
			return 77
		}, data.SUBMIT_SM_RESP, data.ESME_RINVCMDLEN},
		{"enquire_link before bind", nil, func(r *rawConn) int32 { p := pdu.NewEnquireLink(); r.write(p); return p.GetSequenceNumber() },
			data.ENQUIRE_LINK_RESP, data.ESME_ROK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rawDial(t, s.Addr())
			if tc.bindAs != nil {
				if b := r.bind(*tc.bindAs, "acme", "secret"); b.CommandStatus != data.ESME_ROK {
					t.Fatalf("bind: %s", b.CommandStatus)
				}
			}
			seq := tc.send(r)
			got := r.read().GetHeader()
			if got.CommandID != tc.wantID || got.CommandStatus != tc.wantStat || got.SequenceNumber != seq {
				t.Errorf("answer %s %s seq %d, want %s %s seq %d", got.CommandID, got.CommandStatus, got.SequenceNumber,
					tc.wantID, tc.wantStat, seq)
			}
			// The session goes on after the error.
			el := pdu.NewEnquireLink()
			r.write(el)
			if h := r.read().GetHeader(); h.CommandID != data.ENQUIRE_LINK_RESP || h.SequenceNumber != el.GetSequenceNumber() {
				t.Errorf("enquire_link after the error answered with %s seq %d", h.CommandID, h.SequenceNumber)
			}
		})
	}
	if n := len(s.Submitted()); n != 0 {
		t.Errorf("%d rejected submit_sm were recorded", n)
	}
}

func ptr[T any](v T) *T { return &v }

func TestBadCommandLengthClosesTheSession(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	r := rawDial(t, s.Addr())
	r.writeBytes(header(8, data.ENQUIRE_LINK, 9))
	if h := r.read().GetHeader(); h.CommandID != data.GENERIC_NACK || h.CommandStatus != data.ESME_RINVCMDLEN {
		t.Errorf("answer %s %s, want generic_nack ESME_RINVCMDLEN", h.CommandID, h.CommandStatus)
	}
	expectEOF(t, r)
}

func expectEOF(t *testing.T, r *rawConn) {
	t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := r.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after the session should have ended: %v, want EOF", err)
	}
}

func TestUnbind(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	r := rawDial(t, s.Addr())
	r.bind(pdu.Transceiver, "acme", "secret")
	u := pdu.NewUnbind()
	r.write(u)
	if h := r.read().GetHeader(); h.CommandID != data.UNBIND_RESP || h.SequenceNumber != u.GetSequenceNumber() {
		t.Errorf("answer %s seq %d, want unbind_resp seq %d", h.CommandID, h.SequenceNumber, u.GetSequenceNumber())
	}
	expectEOF(t, r)
}

func TestCloseUnbindsSessions(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Accounts: map[string]string{"acme": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := rawDial(t, s.Addr())
	r.bind(pdu.Receiver, "acme", "secret")
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	u, ok := r.read().(*pdu.Unbind)
	if !ok {
		t.Fatal("Close did not send unbind")
	}
	r.write(u.GetResponse())
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not return")
	}
	expectEOF(t, r)
	if err := s.InjectMO("acme", "1", "2", "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("InjectMO after Close = %v, want ErrClosed", err)
	}
}

func TestDeliverSMIsResentOnceWithoutResponse(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{ResponseTimeout: 150 * time.Millisecond})
	r := rawDial(t, s.Addr())
	r.bind(pdu.Transceiver, "acme", "secret")
	r.write(newSubmit(t, "A", "4917", "resend me", data.GSM7BIT, 1))
	resp := r.read().(*pdu.SubmitSMResp)

	first, ok1 := r.read().(*pdu.DeliverSM) // not answered
	second, ok2 := r.read().(*pdu.DeliverSM)
	if !ok1 || !ok2 {
		t.Fatal("want the receipt twice")
	}
	for _, d := range []*pdu.DeliverSM{first, second} {
		f := d.OptionalParameters[pdu.TagReceiptedMessageID]
		if got := f.String(); got != resp.MessageID {
			t.Errorf("receipted_message_id %q, want %q", got, resp.MessageID)
		}
	}
	if first.SequenceNumber == second.SequenceNumber {
		t.Errorf("the resend reused sequence number %d", first.SequenceNumber)
	}
	r.write(second.GetResponse())
	// Answered: no third copy. An enquire_link answered next proves nothing came before it.
	el := pdu.NewEnquireLink()
	time.Sleep(300 * time.Millisecond) // two response timeouts
	r.write(el)
	if h := r.read().GetHeader(); h.CommandID != data.ENQUIRE_LINK_RESP {
		t.Errorf("after the answered resend got %s, want enquire_link_resp", h.CommandID)
	}
}

func TestReceiptRefusedForNowIsSentAgain(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{RedeliverAfter: 50 * time.Millisecond})
	r := rawDial(t, s.Addr())
	r.bind(pdu.Transceiver, "acme", "secret")
	r.write(newSubmit(t, "A", "4917", "refuse me for now", data.GSM7BIT, 1))
	resp := r.read().(*pdu.SubmitSMResp)
	answer := func(st data.CommandStatusType) *pdu.DeliverSM {
		t.Helper()
		d, ok := r.read().(*pdu.DeliverSM)
		if !ok {
			t.Fatal("want the receipt")
		}
		if got := d.OptionalParameters[pdu.TagReceiptedMessageID]; got.String() != resp.MessageID {
			t.Fatalf("receipted_message_id %q, want %q", got.String(), resp.MessageID)
		}
		dr := d.GetResponse().(*pdu.DeliverSMResp)
		dr.CommandStatus = st
		r.write(dr)
		return d
	}
	answer(data.ESME_RX_T_APPN) // temporary: sent again
	answer(data.ESME_RTHROTTLED)
	answer(data.ESME_RX_R_APPN)        // permanent: given up
	time.Sleep(200 * time.Millisecond) // four redelivery pauses
	r.write(pdu.NewEnquireLink())
	if h := r.read().GetHeader(); h.CommandID != data.ENQUIRE_LINK_RESP {
		t.Errorf("after a permanent refusal got %s, want enquire_link_resp", h.CommandID)
	}
}

func TestInjectMOReportsErrorStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	r := rawDial(t, s.Addr())
	r.bind(pdu.Receiver, "acme", "secret")
	done := make(chan error, 1)
	go func() { done <- s.InjectMO("acme", "4917", "123", "hello") }()
	d := r.read().(*pdu.DeliverSM)
	resp := d.GetResponse().(*pdu.DeliverSMResp)
	resp.CommandStatus = data.ESME_RX_T_APPN
	r.write(resp)
	var se *StatusError
	if err := <-done; !errors.As(err, &se) || se.Status != data.ESME_RX_T_APPN {
		t.Errorf("InjectMO = %v, want StatusError ESME_RX_T_APPN", err)
	}
}

func TestConcatenationForms(t *testing.T) {
	t.Parallel()
	udh16 := func(ref uint16, total, seq byte) func(*pdu.SubmitSM) {
		return func(sm *pdu.SubmitSM) {
			sm.EsmClass |= data.SM_UDH_GSM
			sm.Message.SetUDH(pdu.UDH{{ID: data.UDH_CONCAT_MSG_16_BIT_REF, Data: []byte{byte(ref >> 8), byte(ref), total, seq}}})
		}
	}
	sar := func(ref uint16, total, seq byte) func(*pdu.SubmitSM) {
		return func(sm *pdu.SubmitSM) {
			sm.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarMsgRefNum, Data: []byte{byte(ref >> 8), byte(ref)}})
			sm.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarTotalSegments, Data: []byte{total}})
			sm.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarSegmentSeqnum, Data: []byte{seq}})
		}
	}
	tests := []struct {
		name string
		form func(ref uint16, total, seq byte) func(*pdu.SubmitSM)
	}{{"udh 16-bit ref", udh16}, {"sar tlvs", sar}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			r := rawDial(t, s.Addr())
			r.bind(pdu.Transmitter, "acme", "secret")
			// Parts out of order, plus an unrelated message in between.
			for _, part := range []struct {
				seq  byte
				text string
			}{{2, "world"}, {0, "other"}, {1, "hello "}} {
				sm := newSubmit(t, "A", "4917", part.text, data.GSM7BIT, 0)
				if part.seq > 0 {
					tc.form(0x1234, 2, part.seq)(sm)
				}
				r.write(sm)
				if h := r.read().GetHeader(); h.CommandStatus != data.ESME_ROK {
					t.Fatalf("part %d: %s", part.seq, h.CommandStatus)
				}
			}
			msgs := s.Messages()
			if len(msgs) != 2 {
				t.Fatalf("Messages() = %+v, want 2", msgs)
			}
			m := msgs[0]
			if m.Ref != 0x1234 || m.Total != 2 || !m.Complete || m.Text != "hello world" {
				t.Errorf("reassembled %+v, want ref 0x1234, 2 parts, \"hello world\"", m)
			}
			if msgs[1].Text != "other" || msgs[1].Total != 1 {
				t.Errorf("single message %+v", msgs[1])
			}
		})
	}
}

func TestMessagePayloadAndFlashCoding(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	r := rawDial(t, s.Addr())
	r.bind(pdu.Transmitter, "acme", "secret")
	long := strings.Repeat("payload ", 40) // 320 octets: too long for short_message
	sm := newSubmit(t, "A", "4917", "", data.GSM7BIT, 0)
	sm.RegisterOptionalParam(pdu.Field{Tag: pdu.TagMessagePayload, Data: []byte(long)})
	r.write(sm)
	flash := newSubmit(t, "A", "4917", "", data.GSM7BIT, 0)
	ucs, _ := data.UCS2.Encode("Flash ☀")
	// data_coding 0x18 (UCS-2, class 0) has no gosmpp Encoding: the raw byte must survive.
	flash.Message, _ = pdu.NewBinaryShortMessageWithEncoding(ucs, data.NewCustomEncoding(0x18, data.UCS2))
	r.write(flash)
	for range 2 {
		if h := r.read().GetHeader(); h.CommandStatus != data.ESME_ROK {
			t.Fatalf("submit: %s", h.CommandStatus)
		}
	}
	subs := s.Submitted()
	if string(subs[0].Bytes) != long || subs[0].DataCoding != 0 {
		t.Errorf("message_payload: got %d bytes, coding %d", len(subs[0].Bytes), subs[0].DataCoding)
	}
	if subs[1].DataCoding != 0x18 {
		t.Errorf("flash data_coding = %#x, want 0x18", subs[1].DataCoding)
	}
	if msgs := s.Messages(); msgs[1].Text != "Flash ☀" {
		t.Errorf("flash text = %q", msgs[1].Text)
	}
}

func TestDecimalReceiptIDs(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{DecimalReceiptIDs: true})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	resp := c.submit(t, newSubmit(t, "A", "4917", "hi", data.GSM7BIT, 1))
	body, _ := c.receipt(t, resp.MessageID).Message.GetMessage()
	m := receiptPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("receipt %q is not a standard receipt", body)
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || fmt.Sprintf("%016x", n) != resp.MessageID {
		t.Errorf("receipt %q: want the id %s in decimal", body, resp.MessageID)
	}
}
