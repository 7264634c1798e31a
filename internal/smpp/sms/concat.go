package sms

import (
	"encoding/binary"
	"fmt"

	"github.com/linxGnu/gosmpp/data"
)

// SAR TLVs of a deliver_sm (SMPP 3.4 §5.3.2.22-24): concatenation without a UDH.
const (
	TagSARMsgRefNum     uint16 = data.OPT_PAR_SAR_MSG_REF_NUM // 0x020C, 16-bit reference
	TagSARTotalSegments uint16 = data.OPT_PAR_SAR_TOT_SEG     // 0x020E, one octet
	TagSARSegmentSeqnum uint16 = data.OPT_PAR_SAR_SEG_SNUM    // 0x020F, one octet, from 1
)

// Concat.Kind values.
const (
	concatKindUDH8  = "udh8"
	concatKindUDH16 = "udh16"
	concatKindSAR   = "sar"
)

// Concat says which part of which concatenated message a short message is.
type Concat struct {
	// Kind is how the sender marked it: "udh8" (IEI 0x00), "udh16" (IEI 0x08) or
	// "sar" (the sar_ TLVs). References of different kinds are different messages.
	Kind      string
	Reference uint16
	Total     int // parts of the message, 2..255
	Seq       int // this part, 1..Total
}

// Ref is the reference with its kind, such as "udh8:17": what tells a sender's
// concatenated messages apart.
func (c Concat) Ref() string { return fmt.Sprintf("%s:%d", c.Kind, c.Reference) }

// ConcatOf reads the concatenation of a part: the UDH's concatenation element when
// there is one, else the sar_ TLVs (all three present, with a sequence within the
// total). A "message" of one part is no concatenation: nil.
func ConcatOf(udh *UDH, tlvs map[uint16][]byte) *Concat {
	var c *Concat
	switch {
	case udh != nil && udh.Concat:
		kind := concatKindUDH8
		if udh.Ref16 {
			kind = concatKindUDH16
		}
		c = &Concat{Kind: kind, Reference: udh.Reference, Total: int(udh.Total), Seq: int(udh.Seq)}
	default:
		ref, total, seq := tlvs[TagSARMsgRefNum], tlvs[TagSARTotalSegments], tlvs[TagSARSegmentSeqnum]
		if len(ref) != 2 || len(total) != 1 || len(seq) != 1 || total[0] == 0 || seq[0] == 0 || seq[0] > total[0] {
			return nil
		}
		c = &Concat{Kind: concatKindSAR, Reference: binary.BigEndian.Uint16(ref), Total: int(total[0]), Seq: int(seq[0])}
	}
	if c.Total < 2 {
		return nil
	}
	return c
}

// Received is one received short message, decoded.
type Received struct {
	Text string
	UDH  *UDH // nil without one
	// Body is the user data after the UDH in the form DecodeText reads: for GSM-7,
	// one septet per octet (unpacked, fill bits dropped). The bodies of a
	// concatenated message's parts, joined in Seq order, are its whole text.
	Body []byte
}

// DecodePart is Decode for an SMSC that may deliver GSM-7 packed: with packedGSM7
// a GSM-7 short_message is read as packed septets, counted from the start of the
// user data, so the fill bits after a UDH (TS 23.040 §9.2.3.24) are skipped. The
// body is returned even when the text does not decode (err is then set).
func DecodePart(dataCoding, esmClass byte, shortMessage []byte, packedGSM7 bool) (Received, error) {
	var p Received
	body := shortMessage
	hdr := 0
	if esmClass&esmUDHI != 0 {
		udh, err := parseUDH(shortMessage)
		if err != nil {
			return Received{Body: shortMessage}, err
		}
		p.UDH, hdr = udh, len(udh.Raw)
		body = shortMessage[hdr:]
	}
	if packedGSM7 && codingOf(dataCoding) == codingGSM7 {
		body = UnpackGSM7(shortMessage, hdr)
	}
	p.Body = body
	var err error
	p.Text, err = DecodeText(dataCoding, body)
	return p, err
}

// DecodeText reads a body (no UDH; GSM-7 unpacked) in dataCoding, as Decode does.
func DecodeText(dataCoding byte, body []byte) (string, error) { return decodeText(dataCoding, body) }

// UnpackGSM7 returns the septets of packed GSM 7-bit user data, one per octet,
// after a header of headerOctets octets (the UDH, UDHL included, or 0): septets
// count from the start of the user data, so the header's fill bits are skipped.
// When the last septet is one of 7 spare bits (the length is a multiple of 7
// octets) and it is <CR> (TS 23.038 §6.1.2.3.1's padding) or zero (what many
// senders pad with), it is dropped.
func UnpackGSM7(ud []byte, headerOctets int) []byte {
	total := len(ud) * 8 / 7
	skip := (headerOctets*8 + 6) / 7
	if skip >= total {
		return nil
	}
	out := make([]byte, 0, total-skip)
	for i := skip; i < total; i++ {
		bit := i * 7
		at, shift := bit/8, bit%8
		v := uint16(ud[at]) >> shift
		if shift > 1 && at+1 < len(ud) {
			v |= uint16(ud[at+1]) << (8 - shift)
		}
		out = append(out, byte(v&0x7F))
	}
	if len(ud)%7 == 0 {
		if last := out[len(out)-1]; last == '\r' || last == 0 {
			out = out[:len(out)-1]
		}
	}
	return out
}

// JoinParts decodes a concatenated message from its parts' bodies, in Seq order,
// with their data codings. Bodies of one coding are joined before decoding, so a
// character split between parts (a surrogate pair, a GSM-7 escape) still decodes;
// parts of mixed codings are decoded one by one.
func JoinParts(dataCodings []byte, bodies [][]byte) (string, error) {
	same := true
	for _, dc := range dataCodings {
		same = same && codingOf(dc) == codingOf(dataCodings[0])
	}
	if same && len(dataCodings) > 0 {
		var all []byte
		for _, b := range bodies {
			all = append(all, b...)
		}
		return decodeText(dataCodings[0], all)
	}
	var text string
	for i, b := range bodies {
		s, err := decodeText(dataCodings[i], b)
		if err != nil {
			return "", fmt.Errorf("part %d: %w", i+1, err)
		}
		text += s
	}
	return text, nil
}
