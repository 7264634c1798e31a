package sms

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/linxGnu/gosmpp/data"
)

// TLV tags a receipt may carry (SMPP 3.4 §5.3.2).
const (
	TagReceiptedMessageID uint16 = data.OPT_PAR_RECP_MSG_ID // 0x001E, C-string
	TagNetworkErrorCode   uint16 = data.OPT_PAR_NW_ERR_CODE // 0x0423, type + 16-bit code
	TagMessagePayload     uint16 = data.OPT_PAR_MSG_PAYLOAD // 0x0424, text when sm_length is 0
	TagMessageState       uint16 = data.OPT_PAR_MSG_STATE   // 0x0427, one octet
)

// State is a message_state value (SMPP 3.4 §5.2.28); the zero State means none.
type State uint8

// States, numbered as the message_state TLV numbers them.
const (
	StateEnroute       State = data.SM_STATE_EN_ROUTE
	StateDelivered     State = data.SM_STATE_DELIVERED
	StateExpired       State = data.SM_STATE_EXPIRED
	StateDeleted       State = data.SM_STATE_DELETED
	StateUndeliverable State = data.SM_STATE_UNDELIVERABLE
	StateAccepted      State = data.SM_STATE_ACCEPTED
	StateUnknown       State = data.SM_STATE_INVALID // "UNKNOWN" in receipts
	StateRejected      State = data.SM_STATE_REJECTED
)

// statNames are the 7-letter stat: spellings, index = State.
var statNames = [...]string{"", "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"}

func (s State) String() string {
	if int(s) < len(statNames) && s != 0 {
		return statNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Final reports whether no later receipt can change the outcome: SMPP 5.0 marks
// ENROUTE intermediate and UNKNOWN neither (an SMSC in trouble may learn more), so
// both keep the message open. ACCEPTED is final by the spec, though some
// aggregators send ACCEPTD for "reached the carrier" and a DELIVRD later.
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateExpired, StateDeleted, StateUndeliverable, StateAccepted, StateRejected:
		return true
	}
	return false
}

// Receipt is a delivery receipt read from a deliver_sm (esm_class 0x04).
type Receipt struct {
	// MessageID is NormalizeID of the id; match it against NormalizeID of the
	// submit_sm_resp message_id. RawID is the id as received.
	MessageID string
	RawID     string
	State     State
	Final     bool // State.Final(), kept here for callers that store the receipt
	// Stat is the stat: text as received; State is StateUnknown for one not
	// in the spec, such as "FAILED".
	Stat string
	// ErrorCode is err: from the text, or the code of network_error_code in
	// decimal (zero-padded to 3 digits) with its network type in NetworkType.
	ErrorCode   string
	NetworkType byte
	// SubmitDate and DoneDate are the SMSC's local time, which receipts give no zone
	// for; they are read as UTC and are zero when absent or unparseable.
	SubmitDate time.Time
	DoneDate   time.Time
	// Text is the text: field, usually the first 20 characters of the message.
	Text string
}

// receiptKey finds "key:" at the start or after a separator, in any case. The
// date keys come spaced, underscored or joined depending on the SMSC.
var receiptKey = regexp.MustCompile(`(?i)(?:^|[\s,;])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|state|err|error|text):`)

// keyJoiner folds "submit date" and "submit_date" into "submitdate".
var keyJoiner = strings.NewReplacer(" ", "", "_", "")

// ParseReceipt reads the de-facto receipt text (SMPP 3.4 Appendix B) from
// shortMessage, or from message_payload when short_message is empty, and merges
// the receipt TLVs, which win over the text. Fields may come in any order and
// case; only an id and a state are required. A malformed TLV is ignored rather
// than failing the receipt, as the text usually carries the same fact. On error
// the fields found so far are still returned, for logging.
func ParseReceipt(shortMessage []byte, tlvs map[uint16][]byte) (Receipt, error) {
	body := shortMessage
	if len(body) == 0 {
		body = tlvs[TagMessagePayload]
	}
	f := receiptFields(string(body))
	var r Receipt
	found := len(f) > 0

	r.RawID = f["id"]
	if v, ok := tlvs[TagReceiptedMessageID]; ok {
		found = true
		if id, _, _ := strings.Cut(string(v), "\x00"); id != "" {
			r.RawID = id
		}
	}
	r.RawID = strings.ToValidUTF8(r.RawID, "\uFFFD")
	r.MessageID = NormalizeID(r.RawID)

	r.Stat = f["stat"]
	r.State = stateOf(r.Stat)
	if v, ok := tlvs[TagMessageState]; ok {
		found = true
		if len(v) == 1 && State(v[0]) >= StateEnroute && State(v[0]) <= StateRejected {
			r.State = State(v[0])
		}
	}
	r.Final = r.State.Final()

	r.ErrorCode = f["err"]
	if v, ok := tlvs[TagNetworkErrorCode]; ok && len(v) == 3 {
		found = true
		r.NetworkType, r.ErrorCode = v[0], fmt.Sprintf("%03d", uint16(v[1])<<8|uint16(v[2]))
	}
	r.SubmitDate = receiptTime(f["submitdate"])
	r.DoneDate = receiptTime(f["donedate"])
	r.Text = f["text"]

	switch {
	case !found:
		return r, invalid(ErrNotReceipt, "parse receipt")
	case r.MessageID == "":
		return r, invalid(ErrNoReceiptID, "parse receipt")
	case r.State == 0:
		return r, invalid(ErrNoReceiptStatus, "parse receipt %s", r.MessageID)
	}
	return r, nil
}

// receiptFields returns each key's first value, keyed by canonical name. A value
// is the first word after the colon; text: takes the rest of the message, so keys
// inside the quoted text are not read.
func receiptFields(s string) map[string]string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	locs := receiptKey.FindAllStringSubmatchIndex(s, -1)
	f := make(map[string]string, len(locs))
	for i, loc := range locs {
		key := keyJoiner.Replace(strings.ToLower(s[loc[2]:loc[3]]))
		switch key {
		case "state":
			key = "stat"
		case "error":
			key = "err"
		}
		if key == "text" {
			if _, seen := f[key]; !seen {
				f[key] = s[loc[1]:]
			}
			break
		}
		end := len(s)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if _, seen := f[key]; !seen {
			if words := strings.Fields(s[loc[1]:end]); len(words) > 0 {
				f[key] = words[0]
			} else {
				f[key] = ""
			}
		}
	}
	return f
}

// stateOf maps a stat: value, in any case and in either the 7-letter or the full
// spelling; an unrecognised non-empty one is StateUnknown.
func stateOf(stat string) State {
	switch strings.ToUpper(stat) {
	case "":
		return 0
	case "ENROUTE":
		return StateEnroute
	case "DELIVRD", "DELIVERED":
		return StateDelivered
	case "EXPIRED":
		return StateExpired
	case "DELETED":
		return StateDeleted
	case "UNDELIV", "UNDELIVERABLE":
		return StateUndeliverable
	case "ACCEPTD", "ACCEPTED":
		return StateAccepted
	case "REJECTD", "REJECTED":
		return StateRejected
	}
	return StateUnknown
}

// receiptTime reads YYMMDDhhmm or YYMMDDhhmmss (years 00-68 are 20xx).
func receiptTime(s string) time.Time {
	layout := "0601021504"
	if len(s) == len(layout)+2 {
		layout += "05"
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// NormalizeID makes one SMSC message id comparable with itself when the SMSC
// prints it in hex in one PDU and in decimal in the other, a classic cause of lost
// receipts. After trimming spaces and NULs and lower-casing:
//   - an id of hex digits with at least one of a-f, or with a 0x prefix, is hex
//     and becomes its decimal value ("1A2B" → "6699");
//   - an id of decimal digits loses its leading zeros ("006699" → "6699");
//   - anything else (a UUID, say) is kept as is, lower-cased.
//
// An all-digit id is always read as decimal: if an SMSC's hex ids happen to have
// no letter, no rule can tell, so such ids still match only digit for digit. Ids
// longer than 64 characters (SMPP allows 64) are only lower-cased.
func NormalizeID(id string) string {
	s := strings.ToLower(strings.Trim(id, " \t\r\n\x00"))
	if s == "" || len(s) > 64 {
		return s
	}
	digits, prefixed := s, false
	if rest, ok := strings.CutPrefix(s, "0x"); ok && rest != "" {
		digits, prefixed = rest, true
	}
	decimal, hex := true, true
	for _, c := range digits {
		isDigit := c >= '0' && c <= '9'
		decimal = decimal && isDigit
		hex = hex && (isDigit || c >= 'a' && c <= 'f')
	}
	switch {
	case hex && (prefixed || !decimal):
		n, _ := new(big.Int).SetString(digits, 16) // digits are all hex: cannot fail
		return n.String()
	case decimal:
		if t := strings.TrimLeft(digits, "0"); t != "" {
			return t
		}
		return "0"
	}
	return s
}
