package sms

import (
	"unicode/utf16"

	"github.com/linxGnu/gosmpp/data"
)

// UDH is a parsed user data header (3GPP TS 23.040 §9.2.3.24). Its slices alias
// the short_message it came from.
type UDH struct {
	// Raw is the whole header, UDHL octet included; the text starts after it, so
	// short_message[len(Raw):] is the part's payload.
	Raw []byte
	// Elements are the information elements in the order received.
	Elements []InfoElement
	// Concat reports a usable concatenation element (IEI 0x00, or 0x08 with a
	// 16-bit reference); Ref16, Reference, Total and Seq mean something only then.
	Concat    bool
	Ref16     bool
	Reference uint16
	Total     byte
	Seq       byte
}

// InfoElement is one IEI/length/data triple of a UDH.
type InfoElement struct {
	ID   byte
	Data []byte
}

// Decode reads the short_message of a mobile-originated deliver_sm. With UDHI set
// in esmClass it first strips the UDH and returns it parsed. Text comes from
// data_coding: 0 GSM-7 (unpacked), 1 IA5/ASCII, 3 Latin-1, 6 Cyrillic and 7 Hebrew
// (ISO-8859-5/-8), 8 UCS-2, and the GSM 03.38 schemes above 0x0F, with reserved
// schemes read as GSM-7 as TS 23.038 §4 asks. For 8-bit data (2, 4 and 8-bit DCS)
// text holds the raw octets, not necessarily UTF-8. Compressed text and the
// Japanese/Korean codings fail with ErrUnsupported.
//
// To rejoin a concatenated message, join the parts' payloads in Seq order and
// Decode them once with esmClass 0: a sender that split a surrogate pair across
// parts (some do) then still decodes cleanly.
func Decode(dataCoding, esmClass byte, shortMessage []byte) (text string, udh *UDH, err error) {
	body := shortMessage
	if esmClass&esmUDHI != 0 {
		if udh, err = parseUDH(shortMessage); err != nil {
			return "", nil, err
		}
		body = shortMessage[len(udh.Raw):]
	}
	text, err = decodeText(dataCoding, body)
	return text, udh, err
}

// coding is how decodeText reads a payload.
type coding uint8

const (
	codingGSM7 coding = iota
	codingASCII
	codingLatin1
	codingCyrillic
	codingHebrew
	codingUCS2
	codingBinary
	codingUnsupported
)

// codingOf maps data_coding to an alphabet. 0x00-0x0F are SMPP's own values
// (SMPP 3.4 §5.2.19); above that the value is a GSM 03.38 data coding scheme.
func codingOf(dc byte) coding {
	if dc <= 0x0F {
		switch dc {
		case 0x00:
			return codingGSM7
		case 0x01:
			return codingASCII
		case 0x02, 0x04:
			return codingBinary
		case 0x03:
			return codingLatin1
		case 0x06:
			return codingCyrillic
		case 0x07:
			return codingHebrew
		case 0x08:
			return codingUCS2
		}
		return codingUnsupported // JIS, pictogram, music codes, kanji, KS C 5601, reserved
	}
	switch dc >> 4 {
	case 0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7: // general coding, maybe auto-delete
		if dc&0x20 != 0 {
			return codingUnsupported // compressed (TS 23.042)
		}
		return [4]coding{codingGSM7, codingBinary, codingUCS2, codingGSM7}[dc>>2&3]
	case 0xE: // message waiting indication, store, UCS-2
		return codingUCS2
	case 0xF: // data coding/message class: bit 2 picks 8-bit over GSM-7
		if dc&0x04 != 0 {
			return codingBinary
		}
	}
	return codingGSM7 // 0xC/0xD message waiting (GSM-7) and reserved groups
}

func decodeText(dc byte, b []byte) (string, error) {
	switch codingOf(dc) {
	case codingGSM7:
		return decodeGSM7(b)
	case codingASCII:
		for i, c := range b {
			if c > 0x7F {
				return "", invalid(ErrMalformedText, "ia5 octet %#02x at %d", c, i)
			}
		}
		return string(b), nil
	case codingLatin1:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c) // ISO-8859-1 is the first 256 code points
		}
		return string(r), nil
	case codingCyrillic:
		return decodeWith(data.CYRILLIC, dc, b)
	case codingHebrew:
		return decodeWith(data.HEBREW, dc, b)
	case codingUCS2:
		if len(b)%2 != 0 {
			return "", invalid(ErrMalformedText, "ucs-2 payload of %d octets", len(b))
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u)), nil // a lone surrogate becomes U+FFFD
	case codingBinary:
		return string(b), nil
	}
	return "", invalid(ErrUnsupported, "data_coding %#02x", dc)
}

// decodeWith uses gosmpp's x/text charmaps for the single-byte ISO-8859 codings.
func decodeWith(enc data.Encoding, dc byte, b []byte) (string, error) {
	s, err := enc.Decode(b)
	if err != nil {
		return "", invalid(ErrMalformedText, "data_coding %#02x: %v", dc, err)
	}
	return s, nil
}

// parseUDH reads the header at the start of sm, checking every length against the
// octets actually present and keeping elements inside UDHL.
func parseUDH(sm []byte) (*UDH, error) {
	if len(sm) == 0 {
		return nil, invalid(ErrMalformedUDH, "UDHI set on an empty short_message")
	}
	n := 1 + int(sm[0])
	if len(sm) < n {
		return nil, invalid(ErrMalformedUDH, "UDHL %d exceeds %d octets", n-1, len(sm)-1)
	}
	h := &UDH{Raw: sm[:n:n]}
	for ies := sm[1:n]; len(ies) > 0; {
		if len(ies) < 2 || len(ies) < 2+int(ies[1]) {
			return nil, invalid(ErrMalformedUDH, "element at %d overruns UDHL", n-len(ies))
		}
		l := 2 + int(ies[1])
		ie := InfoElement{ID: ies[0], Data: ies[2:l:l]}
		h.Elements = append(h.Elements, ie)
		ies = ies[l:]
		switch {
		case ie.ID == data.UDH_CONCAT_MSG_8_BIT_REF && len(ie.Data) == 3:
			h.setConcat(false, uint16(ie.Data[0]), ie.Data[1], ie.Data[2])
		case ie.ID == data.UDH_CONCAT_MSG_16_BIT_REF && len(ie.Data) == 4:
			h.setConcat(true, uint16(ie.Data[0])<<8|uint16(ie.Data[1]), ie.Data[2], ie.Data[3])
		}
	}
	return h, nil
}

// setConcat keeps the last valid concatenation element; TS 23.040 §9.2.3.24.1 says
// to ignore one whose total or sequence is 0 or whose sequence exceeds the total.
func (h *UDH) setConcat(ref16 bool, ref uint16, total, seq byte) {
	if total == 0 || seq == 0 || seq > total {
		return
	}
	h.Concat, h.Ref16, h.Reference, h.Total, h.Seq = true, ref16, ref, total, seq
}
