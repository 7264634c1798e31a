package smsc

import (
	"strings"

	"github.com/linxGnu/gosmpp/data"
)

// Magic destination suffixes (Config.MagicNumbers): a destination address whose
// digits end in one of these gets that outcome whatever the Mix says. Any number of
// digits may come before the suffix, so a load generator can spread such messages over
// many valid numbers (+44 7700 0000666, +49 171 0000777, …).
const (
	// MagicUndelivered gets an UNDELIV receipt (message_state 5, err 001).
	MagicUndelivered = "0000666"
	// MagicExpired gets an EXPIRED receipt (message_state 3).
	MagicExpired = "0000777"
	// MagicRejected is refused at submit_sm with MagicRejectStatus: no message_id, no
	// receipt, nothing recorded in Submitted.
	MagicRejected = "0000888"
)

// MagicRejectStatus is the command_status a MagicRejected destination's submit_sm
// is answered with: ESME_RINVDSTADR (0x0B), a permanent refusal. The platform's SMPP
// client maps it to errs.Unprocessable, so the SMS connector replies message.failed
// (stage send) instead of retrying. ESME_RSUBMITFAIL (0x45) would not do: the client
// treats it as transient (errs.Unavailable) and the message is resubmitted.
const MagicRejectStatus = data.ESME_RINVDSTADR

// magic is what a destination's digits ask for under Config.MagicNumbers.
type magic int

const (
	magicNone magic = iota
	magicUndelivered
	magicExpired
	magicRejected
)

// magicOf reads the magic suffix of addr's digits; characters other than digits
// (a leading '+', spaces) are ignored.
func magicOf(addr string) magic {
	var b strings.Builder
	b.Grow(len(addr))
	for _, r := range addr {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case strings.HasSuffix(d, MagicUndelivered):
		return magicUndelivered
	case strings.HasSuffix(d, MagicExpired):
		return magicExpired
	case strings.HasSuffix(d, MagicRejected):
		return magicRejected
	}
	return magicNone
}

// outcome is the receipt outcome a magic destination forces; ok is false when the
// destination is not magic or is refused at submit_sm (the Mix decides, or nothing).
func (m magic) outcome() (outcome, bool) {
	switch m {
	case magicUndelivered:
		return undelivered, true
	case magicExpired:
		return expired, true
	}
	return outcome{}, false
}
