package smsc

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// delivery is one deliver_sm on its way to a receiver or transceiver of systemID.
type delivery struct {
	systemID string
	p        *pdu.DeliverSM
}

// wantsReceipt reads registered_delivery's SMSC receipt bits: 1 always, 2 on failure
// only, 3 (SMPP 5.0) on success only.
func wantsReceipt(rd byte, oc outcome) bool {
	switch rd & 0x03 {
	case 1:
		return true
	case 2:
		return oc != delivered
	case 3:
		return oc == delivered
	}
	return false
}

func (s *Server) scheduleReceipt(sub Submitted, oc outcome) {
	s.spawn(func() {
		if !s.pause(s.cfg.ReceiptDelay) {
			return
		}
		s.deliverLogged(&delivery{systemID: sub.SystemID, p: s.receiptPDU(sub, oc, time.Now())})
	})
}

// deliverLogged delivers a receipt, sending it again after Config.RedeliverAfter
// while the ESME answers with a temporary error or not at all (up to
// Config.RedeliverTries sends), and logs one it gave up.
func (s *Server) deliverLogged(d *delivery) {
	for try := 1; ; try++ {
		err := s.deliver(d)
		if err == nil || errors.Is(err, ErrClosed) {
			return
		}
		if !temporary(err) || try >= s.cfg.RedeliverTries {
			s.log.Warn("smsc receipt not delivered", "system_id", d.systemID, "tries", try, "err", err)
			return
		}
		s.log.Info("smsc receipt refused for now; sending it again", "system_id", d.systemID, "try", try,
			"after", s.cfg.RedeliverAfter, "err", err)
		if !s.pause(s.cfg.RedeliverAfter) {
			return
		}
	}
}

// pause waits d; false when the server closed first.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// temporary reports whether a deliver_sm failure is worth another try.
func temporary(err error) bool {
	if errors.Is(err, ErrNoResponse) {
		return true
	}
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Status {
	case data.ESME_RX_T_APPN, data.ESME_RTHROTTLED, data.ESME_RSYSERR:
		return true
	}
	return false
}

// deliver sends d to a receiving session of its account, moving to another one if the
// session closes first. With no receiving session bound it queues d until one binds.
func (s *Server) deliver(d *delivery) error {
	return s.send(d, true)
}

func (s *Server) send(d *delivery, queue bool) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		c := s.receiverLocked(d.systemID)
		if c == nil {
			if queue {
				s.queued[d.systemID] = append(s.queued[d.systemID], d)
			}
			s.mu.Unlock()
			if queue {
				return nil
			}
			return ErrNoReceiver
		}
		s.mu.Unlock()
		err := c.request(d.p, s.cfg.ResponseTimeout)
		if !errors.Is(err, errSessionClosed) {
			return err
		}
	}
}

// receiverLocked picks a bound receiver or transceiver of systemID (map order: spread
// at random over several). Call with s.mu held.
func (s *Server) receiverLocked(systemID string) *session {
	for c := range s.sessions {
		if c.canReceive() && c.systemID == systemID {
			return c
		}
	}
	return nil
}

// receiptPDU builds the delivery receipt for sub: a deliver_sm from its destination
// to its source with esm_class 0x04, the receipt text, and the receipted_message_id
// and message_state TLVs (plus network_error_code when undelivered).
func (s *Server) receiptPDU(sub Submitted, oc outcome, done time.Time) *pdu.DeliverSM {
	p := pdu.NewDeliverSM().(*pdu.DeliverSM)
	p.SourceAddr, p.DestAddr = sub.dst, sub.src
	p.EsmClass = data.SM_SMSC_DLV_RCPT_TYPE
	id := sub.ID
	if s.cfg.DecimalReceiptIDs {
		if n, err := strconv.ParseUint(sub.ID, 16, 64); err == nil {
			id = strconv.FormatUint(n, 10)
		}
	}
	text, _ := decodeText(sub.DataCoding, sub.Bytes)
	if text == "" && len(sub.Bytes) > 0 {
		text = string(sub.Bytes)
	}
	body := receiptText(id, sub.At, done, oc, text)
	// receiptText leaves only GSM 7-bit basic characters, so this cannot fail.
	p.Message, _ = pdu.NewShortMessageWithEncoding(body, data.GSM7BIT)
	p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagReceiptedMessageID, Data: append([]byte(sub.ID), 0)})
	p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagMessageStateOption, Data: []byte{oc.state}})
	if oc == undelivered {
		// network type GSM (3), error code 1 (unknown subscriber).
		p.RegisterOptionalParam(pdu.Field{Tag: pdu.TagNetworkErrorCode, Data: []byte{3, 0, 1}})
	}
	return p
}

// receiptText is the de-facto standard receipt body (SMPP 3.4 appendix B). The text
// field is the first 20 characters of the message, anything outside printable ASCII
// and GSM 7-bit's basic table shown as '?'.
func receiptText(id string, submitted, done time.Time, oc outcome, text string) string {
	const layout = "0601021504" // YYMMDDhhmm
	r := []rune(text)
	if len(r) > 20 {
		r = r[:20]
	}
	for i, c := range r {
		if c < 0x20 || c > 0x7E || data.IsEscapeChar(c) || len(data.ValidateGSM7String(string(c))) > 0 {
			r[i] = '?'
		}
	}
	return fmt.Sprintf("id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s text:%s",
		id, oc.dlvrd, submitted.UTC().Format(layout), done.UTC().Format(layout), oc.stat, oc.err, string(r))
}
