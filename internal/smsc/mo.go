package smsc

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// Concat is how InjectMOWith marks the parts of a text too long for one.
type Concat int

const (
	// ConcatUDH8 is a UDH with IEI 0x00 (8-bit reference): 153 GSM-7 septets or 67
	// UCS-2 characters per part.
	ConcatUDH8 Concat = iota
	// ConcatUDH16 is a UDH with IEI 0x08 (16-bit reference): 152 or 66 per part.
	ConcatUDH16
	// ConcatSAR is the sar_msg_ref_num, sar_total_segments and sar_segment_seqnum
	// TLVs, no UDH: 160 or 70 per part.
	ConcatSAR
)

// MOOptions shape a message InjectMOWith sends; the zero value is InjectMO's.
type MOOptions struct {
	Concat Concat
	// Reference is the concatenation reference; 0 takes the server's next one.
	Reference uint16
	// PackedGSM7 sends GSM-7 text packed, as on the air interface (with the fill
	// bits that put the text on a septet boundary after a UDH), as some SMSCs do.
	PackedGSM7 bool
	// Parts, when set, are the parts to send by sequence number (from 1), in this
	// order: parts may repeat, come out of order or be left out (to be sent by a
	// later call with the same Reference).
	Parts []int
}

// InjectMO sends a mobile-originated message from a handset (from) to to as deliver_sm
// to a bound receiver or transceiver of systemID, and returns once the ESME answered
// every part. Text in GSM 7-bit's alphabet goes as data_coding 0 (160 characters, 153
// per part), other text as UCS-2 (70, 67 per part); longer text is split into parts with
// an 8-bit-ref concatenation UDH. It fails with ErrNoReceiver when no such session is
// bound, and with a *StatusError when the ESME answers with an error.
func (s *Server) InjectMO(systemID, from, to, text string) error {
	return s.InjectMOWith(systemID, from, to, text, MOOptions{})
}

// InjectMOWith is InjectMO with the concatenation, reference, packing and parts of o.
func (s *Server) InjectMOWith(systemID, from, to, text string, o MOOptions) error {
	src, err := pdu.NewAddressWithAddr(from)
	if err != nil {
		return fmt.Errorf("smsc: InjectMO from: %w", err)
	}
	dst, err := pdu.NewAddressWithAddr(to)
	if err != nil {
		return fmt.Errorf("smsc: InjectMO to: %w", err)
	}
	perGSM, perUCS2 := 153, 134
	switch o.Concat {
	case ConcatUDH16:
		perGSM, perUCS2 = 152, 132
	case ConcatSAR:
		perGSM, perUCS2 = 160, 140
	}
	enc, parts := splitMO(text, perGSM, perUCS2)
	if len(parts) > 255 {
		return fmt.Errorf("smsc: InjectMO: text needs %d parts, more than 255", len(parts))
	}
	ref := o.Reference
	if ref == 0 {
		ref = uint16(s.nextRef.Add(1))
		if o.Concat == ConcatUDH8 {
			ref &= 0xFF
		}
	}
	seqs := o.Parts
	if seqs == nil {
		for i := range parts {
			seqs = append(seqs, i+1)
		}
	}
	for _, seq := range seqs {
		if seq < 1 || seq > len(parts) {
			return fmt.Errorf("smsc: InjectMO: part %d of a %d-part message", seq, len(parts))
		}
		p, err := moPart(src, dst, enc, parts, seq, ref, o)
		if err != nil {
			return fmt.Errorf("smsc: InjectMO part %d: %w", seq, err)
		}
		if err := s.send(&delivery{systemID: systemID, p: p}, false); err != nil {
			return fmt.Errorf("smsc: InjectMO to %s, part %d of %d: %w", systemID, seq, len(parts), err)
		}
	}
	s.log.Info("smsc injected MO", "system_id", systemID, "parts", len(parts), "sent", len(seqs))
	return nil
}

// moPart builds the deliver_sm of part seq.
func moPart(src, dst pdu.Address, enc data.Encoding, parts [][]byte, seq int, ref uint16, o MOOptions) (*pdu.DeliverSM, error) {
	p := pdu.NewDeliverSM().(*pdu.DeliverSM)
	p.SourceAddr, p.DestAddr = src, dst
	body := parts[seq-1]
	udh := len(parts) > 1 && o.Concat != ConcatSAR
	if o.PackedGSM7 && enc == data.GSM7BIT {
		text, err := data.GSM7BIT.Decode(body)
		if err != nil {
			return nil, err
		}
		if udh && o.Concat == ConcatUDH8 {
			// gosmpp packs for a 6-octet UDH: one fill bit first (48 bits + 1).
			segs, err := data.GSM7BITPACKED.(data.Splitter).EncodeSplit(text, 134)
			if err != nil || len(segs) != 1 {
				return nil, fmt.Errorf("pack with a UDH: %d segments, %v", len(segs), err)
			}
			body = segs[0]
		} else if body, err = data.GSM7BITPACKED.Encode(text); err != nil { // 7-octet UDH or none: no fill bits
			return nil, err
		}
	}
	var err error
	if p.Message, err = pdu.NewBinaryShortMessageWithEncoding(body, enc); err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		return p, nil
	}
	total := byte(len(parts))
	switch o.Concat {
	case ConcatUDH8:
		p.EsmClass |= data.SM_UDH_GSM
		p.Message.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(total, byte(seq), byte(ref))})
	case ConcatUDH16:
		p.EsmClass |= data.SM_UDH_GSM
		p.Message.SetUDH(pdu.UDH{pdu.InfoElement{ID: data.UDH_CONCAT_MSG_16_BIT_REF,
			Data: []byte{byte(ref >> 8), byte(ref), total, byte(seq)}}})
	case ConcatSAR:
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarMsgRefNum, Data: binary.BigEndian.AppendUint16(nil, ref)})
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarTotalSegments, Data: []byte{total}})
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagSarSegmentSeqnum, Data: []byte{byte(seq)}})
	}
	return p, nil
}

// splitMO encodes text and cuts it into parts of at most perGSM septets or
// perUCS2 octets (one part if it fits 160 or 140), never between an escape and the
// character it escapes, nor inside a UTF-16 surrogate pair.
func splitMO(text string, perGSM, perUCS2 int) (data.Encoding, [][]byte) {
	enc, single, per := data.GSM7BIT, 160, perGSM
	if len(data.ValidateGSM7String(text)) > 0 {
		enc, single, per = data.UCS2, 140, perUCS2
	}
	b, err := enc.Encode(text)
	if err != nil { // not reached: the alphabet was checked above
		b = []byte(strings.ToValidUTF8(text, "?"))
	}
	if len(b) <= single {
		return enc, [][]byte{b}
	}
	var parts [][]byte
	for len(b) > 0 {
		n := min(per, len(b))
		if n < len(b) {
			if enc == data.GSM7BIT && b[n-1] == 0x1B {
				n--
			}
			if enc == data.UCS2 && b[n-2]&0xFC == 0xD8 { // high surrogate last
				n -= 2
			}
		}
		parts = append(parts, b[:n])
		b = b[n:]
	}
	return enc, parts
}
