package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/linxGnu/gosmpp/data"

	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// deliverSM is the part of a deliver_sm body the handlers need.
type deliverSM struct {
	srcTON, dstTON byte
	src, dst       string
	esmClass       byte
	dataCoding     byte
	shortMessage   []byte
	tlvs           map[uint16][]byte
}

var errShortBody = errors.New("client: deliver_sm body too short")

// parseDeliverSM reads a deliver_sm body (SMPP 3.4 §4.6.1) without trusting any
// length: C-strings are bounded, sm_length and TLV lengths are checked against what
// is left. The slices alias body.
func parseDeliverSM(body []byte) (deliverSM, error) {
	var d deliverSM
	r := reader{b: body}
	r.cstring(6) // service_type
	d.srcTON = r.byte()
	r.byte() // source_addr_npi
	d.src = r.cstring(65)
	d.dstTON = r.byte()
	r.byte() // dest_addr_npi
	d.dst = r.cstring(65)
	d.esmClass = r.byte()
	r.byte()      // protocol_id
	r.byte()      // priority_flag
	r.cstring(17) // schedule_delivery_time
	r.cstring(17) // validity_period
	r.byte()      // registered_delivery
	r.byte()      // replace_if_present_flag
	d.dataCoding = r.byte()
	r.byte() // sm_default_msg_id
	n := int(r.byte())
	d.shortMessage = r.take(n)
	if r.err != nil {
		return d, r.err
	}
	for len(r.b) > 0 {
		if len(r.b) < 4 {
			return d, fmt.Errorf("client: deliver_sm: %d stray octets after the TLVs", len(r.b))
		}
		tag, l := binary.BigEndian.Uint16(r.b), int(binary.BigEndian.Uint16(r.b[2:]))
		r.b = r.b[4:]
		v := r.take(l)
		if r.err != nil {
			return d, fmt.Errorf("client: deliver_sm: TLV 0x%04X: %w", tag, r.err)
		}
		if d.tlvs == nil {
			d.tlvs = make(map[uint16][]byte)
		}
		d.tlvs[tag] = v
	}
	return d, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShortBody
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errShortBody
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// cstring reads a NUL-terminated string of at most max octets with the NUL.
func (r *reader) cstring(max int) string {
	if r.err != nil {
		return ""
	}
	for i := 0; i < len(r.b) && i < max; i++ {
		if r.b[i] == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.err = fmt.Errorf("client: deliver_sm: C-string without NUL within %d octets", max)
	return ""
}

// Message types in esm_class bits 5–2 that carry a delivery receipt.
const (
	esmTypeMask         = 0x3C
	esmReceipt          = 0x04 // SMSC delivery receipt
	esmIntermediateNote = 0x20 // intermediate delivery notification
)

func (d deliverSM) isReceipt() bool {
	t := d.esmClass & esmTypeMask
	if t == esmReceipt || t == esmIntermediateNote {
		return true
	}
	_, ok := d.tlvs[sms.TagReceiptedMessageID]
	return ok && t == 0
}

func (d deliverSM) payload() []byte {
	if len(d.shortMessage) == 0 {
		if v, ok := d.tlvs[sms.TagMessagePayload]; ok {
			return v
		}
	}
	return d.shortMessage
}

func international(ton byte, addr string) string {
	if ton == data.GSM_TON_INTERNATIONAL && addr != "" && !strings.HasPrefix(addr, "+") {
		return "+" + addr
	}
	return addr
}

// mo decodes the message; packed reads GSM-7 as packed septets (Config.PackedGSM7).
func (d deliverSM) mo(packed bool) MO {
	m := MO{
		From:       international(d.srcTON, d.src),
		To:         international(d.dstTON, d.dst),
		DataCoding: d.dataCoding,
		EsmClass:   d.esmClass,
		Payload:    d.payload(),
	}
	p, err := sms.DecodePart(d.dataCoding, d.esmClass, m.Payload, packed)
	m.Text, m.UDH, m.Body, m.DecodeErr = p.Text, p.UDH, p.Body, err
	if m.DecodeErr != nil {
		m.Text = ""
	}
	m.Concat = sms.ConcatOf(m.UDH, d.tlvs)
	return m
}

// startHandler takes a handler slot, waiting while Window handlers run; false when
// the connection or the session ends first.
func (s *Session) startHandler(done <-chan struct{}) bool {
	select {
	case s.handler <- struct{}{}:
	case <-done:
		return false
	case <-s.ctx.Done():
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		<-s.handler
		return false
	}
	s.hwg.Add(1)
	return true
}

func (s *Session) endHandler() {
	<-s.handler
	s.hwg.Done()
}

// onDeliver hands one deliver_sm to the Handler and returns the status for its
// deliver_sm_resp.
func (s *Session) onDeliver(f frame) data.CommandStatusType {
	d, err := parseDeliverSM(f.body)
	if err != nil {
		s.log.Warn("smpp malformed deliver_sm", "seq", f.header.SequenceNumber, "err", err)
		return data.ESME_RX_P_APPN // permanent: a resend would be as malformed
	}
	if s.h == nil {
		s.log.Warn("smpp deliver_sm without a Handler; acknowledged and dropped", "seq", f.header.SequenceNumber)
		return data.ESME_ROK
	}
	if d.isReceipt() {
		r, err := sms.ParseReceipt(d.payload(), d.tlvs)
		if err != nil {
			// A resend would not parse either: acknowledge it. The text is not logged:
			// it quotes the message.
			s.log.Error("smpp unreadable delivery receipt; dropped", "err", err, "octets", len(d.payload()))
			return data.ESME_ROK
		}
		if err := s.h.Receipt(s.ctx, r); err != nil {
			s.log.Warn("smpp receipt handler failed; SMSC will resend", "id", r.MessageID, "err", err)
			return data.ESME_RX_T_APPN
		}
		return data.ESME_ROK
	}
	m := d.mo(s.cfg.PackedGSM7)
	if m.DecodeErr != nil {
		s.log.Warn("smpp MO not decodable; delivered raw", "data_coding", m.DataCoding, "err", m.DecodeErr)
	}
	if err := s.h.MO(s.ctx, m); err != nil {
		s.log.Warn("smpp MO handler failed; SMSC will resend", "from", m.From, "err", err)
		return data.ESME_RX_T_APPN
	}
	return data.ESME_ROK
}
