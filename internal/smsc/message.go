package smsc

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// Submitted is one accepted submit_sm.
type Submitted struct {
	ID                 string // message_id given in the submit_sm_resp
	SystemID           string // account that submitted it
	Source, Dest       string
	EsmClass           byte
	DataCoding         byte
	RegisteredDelivery byte
	// Bytes is the user data: short_message, or message_payload when sm_length is 0,
	// without its UDH.
	Bytes []byte
	// Ref, Total and Seq come from a concatenation UDH (IEI 0x00 with an 8-bit ref, IEI
	// 0x08 with a 16-bit ref) or the sar_ TLVs; all zero for a single-part message. Seq
	// counts from 1.
	Ref        uint16
	Total, Seq uint8
	// Stat is the outcome this part's receipt reports (DELIVRD, UNDELIV or EXPIRED),
	// drawn (or, with Config.MagicNumbers, read from the destination) whether or not a
	// receipt was asked for.
	Stat string
	At   time.Time

	src, dst pdu.Address // with TON/NPI, for the receipt's addresses
}

// Reassembled is one logical message: a single submit_sm, or the parts of a
// concatenated one joined in sequence order.
type Reassembled struct {
	SystemID     string
	Source, Dest string
	Ref          uint16
	Total        int      // parts expected; 1 for a single-part message
	IDs          []string // message_id of each part by sequence number; "" while missing
	DataCoding   byte
	Bytes        []byte // user data of every part that arrived, in order, without UDH
	Text         string // Bytes decoded, when DataCoding is a text alphabet (GSM 7-bit, IA5, Latin-1, UCS-2)
	Complete     bool   // every part arrived
}

// concat is the concatenation info of one part.
type concat struct {
	ref        uint16
	total, seq uint8
}

// userData returns a submit_sm's user data without UDH and its concatenation info.
func userData(p *pdu.SubmitSM) ([]byte, concat) {
	b, _ := p.Message.GetMessageData()
	udh := p.Message.UDH()
	if f, ok := p.OptionalParameters[pdu.TagMessagePayload]; ok && len(b) == 0 && len(udh) == 0 {
		b = f.Data
		var h pdu.UDH
		if p.EsmClass&data.SM_UDH_GSM != 0 && len(b) > 0 {
			if _, err := h.UnmarshalBinary(b); err == nil && int(b[0])+1 <= len(b) {
				udh, b = h, b[int(b[0])+1:]
			}
		}
	}
	var c concat
	if ie, ok := udh.FindInfoElement(data.UDH_CONCAT_MSG_8_BIT_REF); ok && len(ie.Data) == 3 {
		c = concat{ref: uint16(ie.Data[0]), total: ie.Data[1], seq: ie.Data[2]}
	} else if ie, ok := udh.FindInfoElement(data.UDH_CONCAT_MSG_16_BIT_REF); ok && len(ie.Data) == 4 {
		c = concat{ref: binary.BigEndian.Uint16(ie.Data), total: ie.Data[2], seq: ie.Data[3]}
	} else {
		ref, rok := p.OptionalParameters[pdu.TagSarMsgRefNum]
		tot, tok := p.OptionalParameters[pdu.TagSarTotalSegments]
		seq, sok := p.OptionalParameters[pdu.TagSarSegmentSeqnum]
		if rok && tok && sok && len(ref.Data) == 2 && len(tot.Data) == 1 && len(seq.Data) == 1 {
			c = concat{ref: binary.BigEndian.Uint16(ref.Data), total: tot.Data[0], seq: seq.Data[0]}
		}
	}
	if c.total == 0 || c.seq == 0 || c.seq > c.total {
		c = concat{} // not a usable concatenation: treat the part as a message of its own
	}
	return b, c
}

// dataCoding returns the submit_sm's data_coding byte. gosmpp keeps only the Encoding
// it maps the byte to and has none for many values (0x10, 0x18, 0xF0, …), so the byte is
// read from the body at the offset the fields gosmpp decoded before it add up to.
func dataCoding(p *pdu.SubmitSM, body []byte) byte {
	off := len(p.ServiceType) + 1 +
		2 + len(p.SourceAddr.Address()) + 1 +
		2 + len(p.DestAddr.Address()) + 1 +
		3 + len(p.ScheduleDeliveryTime) + 1 + len(p.ValidityPeriod) + 1 + 2
	if off < len(body) {
		return body[off]
	}
	if enc := p.Message.Encoding(); enc != nil {
		return enc.DataCoding()
	}
	return 0
}

// decodeText decodes user data in a text alphabet; ok is false for binary or unknown
// data codings and for bytes invalid in their alphabet.
func decodeText(dc byte, b []byte) (string, bool) {
	var enc data.Encoding
	switch {
	case dc == data.GSM7BITCoding:
		enc = data.GSM7BIT
	case dc == data.ASCIICoding:
		enc = data.ASCII
	case dc == data.LATIN1Coding:
		enc = data.LATIN1
	case dc == data.UCS2Coding:
		enc = data.UCS2
	case dc&0xF0 == 0x10 && (dc>>2)&3 == 0, dc&0xF4 == 0xF0: // with message class, GSM 7-bit
		enc = data.GSM7BIT
	case dc&0xF0 == 0x10 && (dc>>2)&3 == 2: // with message class, UCS-2
		enc = data.UCS2
	default:
		return "", false
	}
	if len(b) == 0 {
		return "", true
	}
	s, err := enc.Decode(b)
	return s, err == nil
}

// record assigns an id and an outcome to an accepted submit_sm and records it.
func (s *Server) record(systemID string, p *pdu.SubmitSM, body []byte) (Submitted, outcome) {
	b, c := userData(p)
	sub := Submitted{
		ID:                 s.newID(),
		SystemID:           systemID,
		Source:             p.SourceAddr.Address(),
		Dest:               p.DestAddr.Address(),
		EsmClass:           p.EsmClass,
		DataCoding:         dataCoding(p, body),
		RegisteredDelivery: p.RegisteredDelivery,
		Bytes:              b,
		Ref:                c.ref,
		Total:              c.total,
		Seq:                c.seq,
		At:                 time.Now(),
		src:                p.SourceAddr,
		dst:                p.DestAddr,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, forced := outcome{}, false
	if s.cfg.MagicNumbers {
		oc, forced = magicOf(sub.Dest).outcome()
	}
	if !forced {
		oc = s.cfg.Outcomes.pick(s.rng)
	}
	sub.Stat = oc.stat
	s.submitted = append(s.submitted, sub)
	s.messages.add(sub)
	if keep := s.cfg.Keep; len(s.submitted) > keep {
		s.submitted = slices.Clone(s.submitted[len(s.submitted)-keep/2:])
		s.messages.forgetOldest(len(s.messages.msgs) - keep/2)
	}
	return sub, oc
}

type concatKey struct {
	systemID, source, dest string
	ref                    uint16
}

// assembler joins parts; open maps a key to the index of its incomplete message.
type assembler struct {
	msgs []*group
	open map[concatKey]int
}

type group struct {
	Reassembled
	parts [][]byte
}

func (a *assembler) add(sub Submitted) {
	if sub.Total == 0 {
		g := &group{Reassembled: Reassembled{SystemID: sub.SystemID, Source: sub.Source, Dest: sub.Dest,
			Total: 1, IDs: []string{sub.ID}, DataCoding: sub.DataCoding}, parts: [][]byte{sub.Bytes}}
		a.msgs = append(a.msgs, g)
		return
	}
	k := concatKey{sub.SystemID, sub.Source, sub.Dest, sub.Ref}
	i, ok := a.open[k]
	// A new message under a key in use (the ref wrapped around, or a retry sent a part
	// again) starts afresh.
	if !ok || a.msgs[i].Total != int(sub.Total) || a.msgs[i].IDs[sub.Seq-1] != "" {
		g := &group{Reassembled: Reassembled{SystemID: sub.SystemID, Source: sub.Source, Dest: sub.Dest,
			Ref: sub.Ref, Total: int(sub.Total), IDs: make([]string, sub.Total), DataCoding: sub.DataCoding},
			parts: make([][]byte, sub.Total)}
		a.msgs = append(a.msgs, g)
		i = len(a.msgs) - 1
		a.open[k] = i
	}
	g := a.msgs[i]
	g.IDs[sub.Seq-1] = sub.ID
	g.parts[sub.Seq-1] = sub.Bytes
	for _, id := range g.IDs {
		if id == "" {
			return
		}
	}
	delete(a.open, k)
}

// forgetOldest drops the n oldest messages (and their open keys).
func (a *assembler) forgetOldest(n int) {
	if n <= 0 {
		return
	}
	n = min(n, len(a.msgs))
	a.msgs = slices.Clone(a.msgs[n:])
	for k, i := range a.open {
		if i < n {
			delete(a.open, k)
		} else {
			a.open[k] = i - n
		}
	}
}

func (a *assembler) snapshot() []Reassembled {
	out := make([]Reassembled, 0, len(a.msgs))
	for _, g := range a.msgs {
		r := g.Reassembled
		r.IDs = append([]string(nil), g.IDs...)
		r.Bytes = nil
		r.Complete = true
		for i, p := range g.parts {
			if g.IDs[i] == "" {
				r.Complete = false
			}
			r.Bytes = append(r.Bytes, p...)
		}
		r.Text, _ = decodeText(r.DataCoding, r.Bytes)
		out = append(out, r)
	}
	return out
}
