package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// SubmitRequest is one submit_sm: one part of a message.
type SubmitRequest struct {
	// From and To are the source and destination addresses; their form picks the
	// TON/NPI (see Address).
	From, To string
	// DataCoding, EsmClass and ShortMessage come from sms.Encode: the Message's
	// DataCoding, and a Part's EsmClass and ShortMessage() (UDH included).
	DataCoding   byte
	EsmClass     byte
	ShortMessage []byte
	// NoReceipt clears registered_delivery; by default a receipt is requested.
	NoReceipt bool
}

// Requests turns an encoded message into one SubmitRequest per part, in order.
func Requests(from, to string, m sms.Message) []SubmitRequest {
	out := make([]SubmitRequest, len(m.Parts))
	for i, p := range m.Parts {
		out[i] = SubmitRequest{From: from, To: to, DataCoding: m.DataCoding, EsmClass: p.EsmClass, ShortMessage: p.ShortMessage()}
	}
	return out
}

// SubmitResult is an accepted submit_sm.
type SubmitResult struct {
	// ID is sms.NormalizeID of the message_id: it equals the MessageID of the part's
	// delivery receipt. RawID is the message_id as the SMSC gave it.
	ID, RawID string
}

// StatusError is a non-zero command_status the SMSC answered a request with. Submit
// wraps it in an *errs.Error; find it with errors.As.
type StatusError struct {
	Command string // "submit_sm", "bind"
	Status  data.CommandStatusType
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %s (0x%02X)", e.Command, e.Status, uint32(e.Status))
}

// Submit sends one submit_sm with registered_delivery 1 and waits for its
// submit_sm_resp. It blocks while Window submit_sm are unacknowledged, on the
// Throughput limit and while the session rebinds, each up to ctx. Outcomes:
//   - the message_id, normalised, in SubmitResult.ID;
//   - errs.RateLimited for ESME_RTHROTTLED (0x58) and ESME_RMSGQFUL (0x14), after
//     the session has slowed down (Config.ThrottlePause): resubmit;
//   - errs.Unavailable when the connection was lost before the response, the
//     session closed, no bind came up before ctx ended, or for a transient status
//     (ESME_RSYSERR 0x08, ESME_RINVBNDSTS 0x04, ESME_RSUBMITFAIL 0x45,
//     ESME_RX_T_APPN 0x64): resubmit — the SMSC may have taken the message, so a
//     resubmit may duplicate it;
//   - errs.Timeout when no response came within ResponseTimeout, or ctx ended
//     after the PDU was written: the outcome is unknown;
//   - errs.Unprocessable for every other status (ESME_RINVDSTADR 0x0B, …), the
//     status named in the message and kept as a *StatusError: do not resubmit;
//   - errs.Invalid for a request that cannot be encoded (bad address, > 254 octets).
//
// A window slot stays taken until the response arrives (or the connection drops)
// even if ctx ends first, so the SMSC never sees more than Window outstanding.
func (s *Session) Submit(ctx context.Context, r SubmitRequest) (SubmitResult, error) {
	if s.cfg.Bind == Receiver {
		return SubmitResult{}, errs.E(errs.Invalid, "client: a receiver bind cannot submit")
	}
	p, err := submitPDU(r)
	if err != nil {
		return SubmitResult{}, err
	}
	select { // a window slot
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return SubmitResult{}, errs.Wrap(errs.Timeout, ctx.Err(), "client: window of %d full", s.cfg.Window)
	}
	release := func() { <-s.window }
	if err := s.limit.wait(ctx); err != nil {
		release()
		return SubmitResult{}, errs.Wrap(errs.Timeout, err, "client: waiting for the throughput limit")
	}
	var cl *call
	for {
		c, err := s.bound(ctx)
		if err != nil {
			release()
			return SubmitResult{}, err
		}
		if cl, err = c.send(p, release); err == nil {
			break
		}
		// errNotSent: the connection closed under us before the write (release ran);
		// nothing reached the SMSC, so wait for the next bind.
		select {
		case s.window <- struct{}{}:
		case <-ctx.Done():
			return SubmitResult{}, errs.Wrap(errs.Timeout, ctx.Err(), "client: window of %d full", s.cfg.Window)
		}
	}
	select {
	case res := <-cl.res:
		return s.submitOutcome(res)
	case <-ctx.Done():
		return SubmitResult{}, errs.Wrap(errs.Timeout, ctx.Err(), "client: submit_sm sent, outcome unknown")
	}
}

func (s *Session) submitOutcome(res result) (SubmitResult, error) {
	switch {
	case errors.Is(res.err, errResponseTimeout):
		return SubmitResult{}, errs.Wrap(errs.Timeout, res.err, "client: no submit_sm_resp within %v, outcome unknown", s.cfg.ResponseTimeout)
	case res.err != nil:
		return SubmitResult{}, res.err // errs.Unavailable from conn.close
	}
	h := res.f.header
	if h.CommandStatus == data.ESME_ROK && h.CommandID == data.SUBMIT_SM_RESP {
		p, err := res.f.decode()
		if err != nil {
			return SubmitResult{}, errs.Wrap(errs.Unavailable, err, "client: malformed submit_sm_resp, outcome unknown")
		}
		raw := p.(*pdu.SubmitSMResp).MessageID
		return SubmitResult{ID: sms.NormalizeID(raw), RawID: raw}, nil
	}
	st := h.CommandStatus
	if st == data.ESME_ROK { // generic_nack with status 0: nonsense
		st = data.ESME_RUNKNOWNERR
	}
	se := &StatusError{Command: "submit_sm", Status: st}
	switch st {
	case data.ESME_RTHROTTLED, data.ESME_RMSGQFUL:
		s.limit.penalise()
		s.log.Warn("smpp throttled by the SMSC; slowing down", "status", st.String())
		return SubmitResult{}, errs.Wrap(errs.RateLimited, se, "client: SMSC asks to slow down")
	case data.ESME_RSYSERR, data.ESME_RINVBNDSTS, data.ESME_RSUBMITFAIL, data.ESME_RX_T_APPN:
		return SubmitResult{}, errs.Wrap(errs.Unavailable, se, "client: SMSC failed temporarily")
	}
	return SubmitResult{}, errs.Wrap(errs.Unprocessable, se, "client: SMSC rejected the message with %s", st)
}

func submitPDU(r SubmitRequest) (*pdu.SubmitSM, error) {
	src, err := Address(r.From)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "client: source address")
	}
	dst, err := Address(r.To)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "client: destination address")
	}
	if len(r.ShortMessage) > data.SM_MSG_LEN {
		return nil, errs.E(errs.Invalid, "client: short_message of %d octets, at most %d", len(r.ShortMessage), data.SM_MSG_LEN)
	}
	p := pdu.NewSubmitSM().(*pdu.SubmitSM)
	p.SourceAddr, p.DestAddr = src, dst
	p.EsmClass = r.EsmClass
	p.RegisteredDelivery = 1
	if r.NoReceipt {
		p.RegisteredDelivery = 0
	}
	// The short_message goes as is, UDH included (esm_class carries UDHI); the
	// encoding only supplies the data_coding octet.
	if err := p.Message.SetMessageDataWithEncoding(r.ShortMessage, data.NewCustomEncoding(r.DataCoding, nil)); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "client: short_message")
	}
	return p, nil
}

// Address reads an address and picks its TON/NPI from its form:
//   - "+" and 1–15 digits (E.164): TON 1 (international), NPI 1 (ISDN), sent
//     without the '+';
//   - 3–8 digits: a short code, TON 3 (network specific), NPI 0;
//   - 1–11 characters with a letter, printable ASCII: alphanumeric, TON 5, NPI 0.
//
// Anything else (a national number without '+', say) is an error: say which
// country it belongs to by writing it in E.164.
func Address(a string) (pdu.Address, error) {
	digits := func(s string) bool {
		for _, c := range s {
			if c < '0' || c > '9' {
				return false
			}
		}
		return s != ""
	}
	var ton, npi byte
	addr := a
	switch {
	case a == "":
		return pdu.Address{}, errors.New("empty address")
	case a[0] == '+':
		addr = a[1:]
		if !digits(addr) || len(addr) > 15 {
			return pdu.Address{}, fmt.Errorf("%q is not E.164: '+' then up to 15 digits", a)
		}
		ton, npi = data.GSM_TON_INTERNATIONAL, data.GSM_NPI_E164
	case digits(a):
		if len(a) < 3 || len(a) > 8 {
			return pdu.Address{}, fmt.Errorf("%q: a number of %d digits without '+': write it in E.164 (short codes have 3–8 digits)", a, len(a))
		}
		ton, npi = data.GSM_TON_NETWORK, data.GSM_NPI_UNKNOWN
	default:
		if len(a) > 11 {
			return pdu.Address{}, fmt.Errorf("alphanumeric address %q longer than 11 characters", a)
		}
		for _, c := range a {
			if c < 0x20 || c > 0x7E {
				return pdu.Address{}, fmt.Errorf("alphanumeric address %q: only printable ASCII", a)
			}
		}
		ton, npi = data.GSM_TON_ALPHANUMERIC, data.GSM_NPI_UNKNOWN
	}
	return pdu.NewAddressWithTonNpiAddr(ton, npi, addr)
}
