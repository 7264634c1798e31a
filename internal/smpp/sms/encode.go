package sms

import (
	"bytes"
	"sort"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/linxGnu/gosmpp/data"
)

// Alphabet is the character set a Message is encoded in.
type Alphabet uint8

// Alphabets: Encode picks GSM7 over UCS2 for text; Binary is Options.Binary.
const (
	GSM7 Alphabet = iota + 1
	UCS2
	Binary
)

func (a Alphabet) String() string {
	switch a {
	case GSM7:
		return "GSM-7" // the names channel.SMSParts uses
	case UCS2:
		return "UCS-2"
	case Binary:
		return "binary"
	}
	return "unknown"
}

// data_coding values. The class-0 ("flash") ones are GSM 03.38 data coding schemes
// (bits 7..4 = 0001: general coding with a message class; bits 3..2 the alphabet;
// bits 1..0 = 00, class 0), which SMPP 3.4 passes through for values above 0x0F.
const (
	dcGSM7        = data.GSM7BITCoding     // 0x00, SMSC default alphabet
	dcBinary      = data.BINARY8BIT2Coding // 0x04, 8-bit data
	dcUCS2        = data.UCS2Coding        // 0x08
	dcFlashGSM7   = 0x10
	dcFlashBinary = 0x14
	dcFlashUCS2   = 0x18
)

// esmUDHI is the esm_class bit saying short_message starts with a UDH.
const esmUDHI = data.SM_UDH_GSM // 0x40

// Sizes in octets of short_message content: a single part, and one part after the
// 6-octet concatenation UDH. Unpacked GSM-7 spends one octet per septet, so 160/153
// are septets too; UCS-2's 140/134 octets are 70/67 UTF-16 units.
const (
	gsmSingle, gsmPart     = 160, 153
	octetSingle, octetPart = 140, 134
	maxParts               = 255 // the UDH counts parts in one octet
	udhConcatLen           = 6
)

// Options shapes one message. The zero value sends text, not flash.
type Options struct {
	// Reference goes into the UDH of every part of this message, so the handset
	// joins the right parts. Use a different one per multipart message to the same
	// destination (a per-destination counter is enough); unused for one part.
	Reference byte
	// Flash sets message class 0: the handset shows the message at once and does
	// not store it by default. Not every network delivers class 0.
	Flash bool
	// Binary, when non-nil, is sent as 8-bit data (data_coding 0x04) and the text
	// must be empty. Split at any octet, 140 single / 134 per part.
	Binary []byte
}

// Message is text encoded for submit_sm: one submit_sm per part, all with
// DataCoding.
type Message struct {
	Alphabet   Alphabet
	DataCoding byte
	Parts      []Part
}

// Part is one submit_sm's short_message, split in two so callers that prefer the
// sar_* TLVs or message_payload can drop the UDH.
type Part struct {
	// UDH is `05 00 03 ref total seq`; nil when the message fits one part.
	UDH []byte
	// Payload is the encoded text: unpacked GSM-7 septets, UTF-16BE or raw octets.
	Payload []byte
	// EsmClass is 0x40 (UDHI) when UDH is set, else 0; OR in the messaging mode.
	EsmClass byte
}

// ShortMessage returns the short_message field: UDH followed by Payload.
func (p Part) ShortMessage() []byte {
	sm := make([]byte, 0, len(p.UDH)+len(p.Payload))
	return append(append(sm, p.UDH...), p.Payload...)
}

// Encode picks the densest alphabet for text (GSM-7 when every character is in the
// default alphabet or its extension table, else UCS-2) and splits it into parts,
// never cutting an escape pair or a surrogate pair. It fails on invalid UTF-8, on
// text together with a binary payload, and beyond 255 parts.
func Encode(text string, opts Options) (Message, error) {
	var (
		m     Message
		buf   []byte
		ends  []int // octet offsets where a character ends: the only legal cuts
		limit = [2]int{octetSingle, octetPart}
	)
	switch {
	case opts.Binary != nil:
		if text != "" {
			return Message{}, invalid(ErrTextAndBinary, "encode")
		}
		m.Alphabet, buf = Binary, bytes.Clone(opts.Binary)
	case !utf8.ValidString(text):
		return Message{}, invalid(ErrInvalidUTF8, "encode")
	default:
		var ok bool
		if buf, ends, ok = encodeGSM7(text); ok {
			m.Alphabet, limit = GSM7, [2]int{gsmSingle, gsmPart}
		} else {
			m.Alphabet = UCS2
			buf, ends = encodeUCS2(text)
		}
	}
	m.DataCoding = dataCoding(m.Alphabet, opts.Flash)

	chunks := split(buf, ends, limit[0], limit[1])
	if len(chunks) > maxParts {
		return Message{}, errs.Wrap(errs.TooLarge, ErrTooManyParts, "encode: %d parts", len(chunks))
	}
	m.Parts = make([]Part, len(chunks))
	for i, c := range chunks {
		m.Parts[i].Payload = c
		if len(chunks) > 1 {
			m.Parts[i].UDH = []byte{udhConcatLen - 1, data.UDH_CONCAT_MSG_8_BIT_REF, 3,
				opts.Reference, byte(len(chunks)), byte(i + 1)}
			m.Parts[i].EsmClass = esmUDHI
		}
	}
	return m, nil
}

func dataCoding(a Alphabet, flash bool) byte {
	switch {
	case a == UCS2 && flash:
		return dcFlashUCS2
	case a == UCS2:
		return dcUCS2
	case a == Binary && flash:
		return dcFlashBinary
	case a == Binary:
		return dcBinary
	case flash:
		return dcFlashGSM7
	}
	return dcGSM7
}

// encodeGSM7 returns unpacked septets and character ends, or false when a
// character is outside the default alphabet and its extension table.
func encodeGSM7(text string) ([]byte, []int, bool) {
	buf := make([]byte, 0, len(text))
	ends := make([]int, 0, len(text))
	for _, r := range text {
		var ok bool
		if buf, ok = appendGSM(buf, r); !ok {
			return nil, nil, false
		}
		ends = append(ends, len(buf))
	}
	return buf, ends, true
}

// encodeUCS2 returns UTF-16BE and character ends; a character outside the BMP is a
// surrogate pair, four octets that stay together.
func encodeUCS2(text string) ([]byte, []int) {
	buf := make([]byte, 0, 2*len(text))
	ends := make([]int, 0, len(text))
	for _, r := range text {
		for _, u := range utf16.AppendRune(nil, r) {
			buf = append(buf, byte(u>>8), byte(u))
		}
		ends = append(ends, len(buf))
	}
	return buf, ends
}

// split cuts buf into parts of at most per octets at the last character end that
// fits (any octet when ends is nil), the same greedy rule channel.SMSParts counts
// with; a buf within single stays whole. Parts alias buf.
func split(buf []byte, ends []int, single, per int) [][]byte {
	if len(buf) <= single {
		return [][]byte{buf}
	}
	parts := make([][]byte, 0, len(buf)/per+1)
	for start := 0; start < len(buf); {
		end := min(start+per, len(buf))
		if ends != nil {
			// Largest character end ≤ end; it is > start as no character exceeds 4 octets.
			end = ends[sort.SearchInts(ends, end+1)-1]
		}
		parts = append(parts, buf[start:end:end])
		start = end
	}
	return parts
}
