package smsc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

const (
	writeTimeout = 10 * time.Second
	outQueue     = 256 // encoded PDUs waiting for the writer
)

var errSessionClosed = errors.New("smsc: session closed")

// frame is one encoded PDU for the writer; last closes the connection after it.
type frame struct {
	b    []byte
	last bool
}

// session is one ESME connection. Its bind state (bound, bindType, systemID) is guarded
// by the server's mutex, so that picking a receiver and queueing are atomic with binds.
type session struct {
	srv        *Server
	conn       net.Conn
	log        *slog.Logger
	out        chan frame
	done       chan struct{}
	closeOnce  sync.Once
	seq        atomic.Int32
	lastQueued atomic.Bool // a frame that closes the connection is queued

	bound    bool
	bindType pdu.BindingType
	systemID string

	pmu     sync.Mutex
	pending map[int32]chan pdu.PDU // our requests awaiting a response, by sequence number
}

func newSession(s *Server, conn net.Conn) *session {
	return &session{
		srv:     s,
		conn:    conn,
		log:     s.log.With("remote", conn.RemoteAddr().String()),
		out:     make(chan frame, outQueue),
		done:    make(chan struct{}),
		pending: make(map[int32]chan pdu.PDU),
	}
}

// frameError is a PDU that could not be decoded; status is what to answer it with.
type frameError struct {
	header pdu.Header
	status data.CommandStatusType
	fatal  bool // the stream cannot be trusted any more
	err    error
}

func (e *frameError) Error() string {
	return fmt.Sprintf("command 0x%08X seq %d: %v", uint32(e.header.CommandID), e.header.SequenceNumber, e.err)
}

// readPDU reads one PDU with gosmpp's codec. It checks command_length before allocating,
// answers unknown command ids with a frameError, and turns a codec panic into an error.
// body is the PDU without its header.
func readPDU(r io.Reader) (p pdu.PDU, body []byte, err error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, err
	}
	h := pdu.ParseHeader(hdr)
	if h.CommandLength < 16 || h.CommandLength > data.MAX_PDU_LEN {
		return nil, nil, &frameError{header: h, status: data.ESME_RINVCMDLEN, fatal: true,
			err: fmt.Errorf("command_length %d out of range", h.CommandLength)}
	}
	body = make([]byte, h.CommandLength-16)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, nil, err
	}
	if p, err = pdu.CreatePDUFromCmdID(h.CommandID); err != nil {
		return nil, body, &frameError{header: h, status: data.ESME_RINVCMDID, err: err}
	}
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, &frameError{header: h, status: data.ESME_RINVCMDLEN, err: fmt.Errorf("decoder panic: %v", v)}
		}
	}()
	buf := pdu.NewBuffer(make([]byte, 0, h.CommandLength))
	_, _ = buf.Write(hdr[:])
	_, _ = buf.Write(body)
	if err := p.Unmarshal(buf); err != nil {
		return p, body, &frameError{header: h, status: data.ESME_RINVCMDLEN, err: err}
	}
	return p, body, nil
}

func (c *session) readLoop() {
	defer func() {
		if c.lastQueued.Load() { // let the writer send the final PDU, then it closes
			t := time.NewTimer(writeTimeout)
			defer t.Stop()
			select {
			case <-c.done:
			case <-t.C:
			}
		}
		c.close()
	}()
	for {
		p, body, err := readPDU(c.conn)
		var fe *frameError
		switch {
		case errors.As(err, &fe):
			c.log.Warn("smsc bad pdu", "err", fe)
			c.reject(p, fe)
			if fe.fatal {
				return
			}
			continue
		case err != nil:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Info("smsc session read", "err", err)
			}
			return
		}
		if !c.handle(p, body) {
			return
		}
	}
}

// reject answers an undecodable PDU: a request this SMSC serves with its own response
// carrying the error, anything else (an unknown command id, a broken header, another
// request) with generic_nack. A malformed response is not answered.
func (c *session) reject(p pdu.PDU, fe *frameError) {
	var resp pdu.PDU
	switch {
	case p == nil:
		resp = pdu.NewGenericNack()
	case !p.CanResponse():
		return
	default:
		switch p.(type) {
		case *pdu.BindRequest, *pdu.SubmitSM, *pdu.DeliverSM, *pdu.EnquireLink, *pdu.Unbind:
			resp = p.GetResponse()
		default:
			resp = pdu.NewGenericNack()
		}
	}
	resp.SetSequenceNumber(fe.header.SequenceNumber)
	setStatus(resp, fe.status)
	_ = c.sendLast(resp, fe.fatal)
}

// setStatus sets a response's command_status (gosmpp's header is embedded by value).
func setStatus(p pdu.PDU, st data.CommandStatusType) {
	switch r := p.(type) {
	case *pdu.BindResp:
		r.CommandStatus = st
	case *pdu.SubmitSMResp:
		r.CommandStatus = st
	case *pdu.GenericNack:
		r.CommandStatus = st
	case *pdu.DeliverSMResp:
		r.CommandStatus = st
	case *pdu.UnbindResp:
		r.CommandStatus = st
	case *pdu.EnquireLinkResp:
		r.CommandStatus = st
	}
}

// handle answers one decoded PDU; false ends the session.
func (c *session) handle(p pdu.PDU, body []byte) bool {
	switch p := p.(type) {
	case *pdu.BindRequest:
		c.onBind(p)
	case *pdu.EnquireLink:
		_ = c.send(p.GetResponse())
	case *pdu.Unbind:
		_ = c.sendLast(p.GetResponse(), true)
		return false
	case *pdu.SubmitSM:
		c.onSubmit(p, body)
	case *pdu.UnbindResp:
		return false // the answer to our unbind on Close
	case *pdu.DeliverSMResp, *pdu.EnquireLinkResp, *pdu.GenericNack:
		c.onResponse(p)
	default:
		if p.CanResponse() { // a request this SMSC does not offer (query_sm, data_sm, …)
			nack := pdu.NewGenericNack()
			nack.SetSequenceNumber(p.GetSequenceNumber())
			setStatus(nack, data.ESME_RINVCMDID)
			_ = c.send(nack)
		}
	}
	return true
}

func (c *session) onBind(p *pdu.BindRequest) {
	resp := p.GetResponse().(*pdu.BindResp)
	resp.SystemID = c.srv.cfg.SystemID
	s := c.srv
	s.mu.Lock()
	status := data.ESME_RALYBND
	if !c.bound {
		status = s.authenticate(p.SystemID, p.Password)
	}
	var flush []*delivery
	if status == data.ESME_ROK {
		c.bound, c.bindType, c.systemID = true, p.BindingType, p.SystemID
		if c.canReceive() {
			flush = s.queued[p.SystemID]
			delete(s.queued, p.SystemID)
		}
	}
	s.mu.Unlock()
	resp.CommandStatus = status
	if status != data.ESME_ROK && p.BindingType != pdu.Transceiver {
		// SMPP 3.4 §4.1: no body on a failed bind response. gosmpp's client reads
		// system_id of a failed bind_transceiver_resp, so that one keeps it.
		h := resp.Header
		h.CommandLength = 16
		buf := pdu.NewBuffer(nil)
		h.Marshal(buf)
		_ = c.enqueue(frame{b: buf.Bytes()})
	} else {
		_ = c.send(resp)
	}
	c.log.Info("smsc bind", "system_id", p.SystemID, "type", bindName(p.BindingType), "status", status.String())
	for _, d := range flush {
		if !s.spawn(func() { s.deliverLogged(d) }) {
			return
		}
	}
}

func bindName(t pdu.BindingType) string {
	switch t {
	case pdu.Receiver:
		return "receiver"
	case pdu.Transmitter:
		return "transmitter"
	default:
		return "transceiver"
	}
}

// canReceive and canTransmit read bind state: call with the server's mutex held.
func (c *session) canReceive() bool {
	return c.bound && (c.bindType == pdu.Receiver || c.bindType == pdu.Transceiver)
}

func (c *session) canTransmit() bool {
	return c.bound && (c.bindType == pdu.Transmitter || c.bindType == pdu.Transceiver)
}

func (c *session) onSubmit(p *pdu.SubmitSM, body []byte) {
	resp := p.GetResponse().(*pdu.SubmitSMResp)
	s := c.srv
	s.mu.Lock()
	ok, systemID := c.canTransmit(), c.systemID
	s.mu.Unlock()
	var sub Submitted
	var oc outcome
	switch {
	case !ok:
		resp.CommandStatus = data.ESME_RINVBNDSTS
	case p.DestAddr.Address() == "":
		resp.CommandStatus = data.ESME_RINVDSTADR
	case s.cfg.MagicNumbers && magicOf(p.DestAddr.Address()) == magicRejected:
		resp.CommandStatus = MagicRejectStatus
	case s.takeThrottle():
		resp.CommandStatus = data.ESME_RTHROTTLED
	default:
		sub, oc = s.record(systemID, p, body)
		resp.MessageID = sub.ID
	}
	_ = c.send(resp)
	if resp.CommandStatus == data.ESME_ROK && wantsReceipt(p.RegisteredDelivery, oc) {
		s.scheduleReceipt(sub, oc)
	}
}

// send encodes p and queues it for the writer.
func (c *session) send(p pdu.PDU) error { return c.sendLast(p, false) }

func (c *session) sendLast(p pdu.PDU, last bool) error {
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	return c.enqueue(frame{b: buf.Bytes(), last: last})
}

func (c *session) enqueue(f frame) error {
	select {
	case c.out <- f:
		if f.last {
			c.lastQueued.Store(true)
		}
		return nil
	case <-c.done:
		return errSessionClosed
	}
}

func (c *session) writeLoop() {
	for {
		select {
		case f := <-c.out:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := c.conn.Write(f.b); err != nil || f.last {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// close ends the session once: it leaves the server's map first, so that no delivery
// picks it afterwards, then wakes every waiter and closes the connection.
func (c *session) close() {
	c.closeOnce.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.sessions, c)
		c.srv.mu.Unlock()
		close(c.done)
		_ = c.conn.Close()
	})
}

// unbind asks the ESME to unbind (Close); an unbound session is closed at once.
func (c *session) unbind() {
	c.srv.mu.Lock()
	bound := c.bound
	c.srv.mu.Unlock()
	if !bound {
		c.close()
		return
	}
	u := pdu.NewUnbind()
	u.SetSequenceNumber(c.nextSeq())
	_ = c.send(u)
}

func (c *session) nextSeq() int32 {
	for {
		if n := c.seq.Add(1) & 0x7FFFFFFF; n != 0 {
			return n
		}
	}
}

func (c *session) onResponse(p pdu.PDU) {
	c.pmu.Lock()
	ch, ok := c.pending[p.GetSequenceNumber()]
	c.pmu.Unlock()
	if !ok {
		c.log.Debug("smsc unexpected response", "seq", p.GetSequenceNumber())
		return
	}
	select {
	case ch <- p:
	default:
	}
}

// request sends p and waits for its response: after timeout it sends p once more under
// a new sequence number (a late answer to either counts) and then gives up.
func (c *session) request(p pdu.PDU, timeout time.Duration) error {
	resp := make(chan pdu.PDU, 2)
	var seqs []int32
	defer func() {
		c.pmu.Lock()
		for _, n := range seqs {
			delete(c.pending, n)
		}
		c.pmu.Unlock()
	}()
	for attempt := range 2 {
		seq := c.nextSeq()
		p.SetSequenceNumber(seq)
		c.pmu.Lock()
		c.pending[seq] = resp
		c.pmu.Unlock()
		seqs = append(seqs, seq)
		if err := c.send(p); err != nil {
			return err
		}
		t := time.NewTimer(timeout)
		select {
		case r := <-resp:
			t.Stop()
			if st := r.GetHeader().CommandStatus; st != data.ESME_ROK {
				return &StatusError{Status: st}
			}
			return nil
		case <-t.C:
			c.log.Warn("smsc no response to deliver_sm", "seq", seq, "attempt", attempt+1)
		case <-c.done:
			t.Stop()
			return errSessionClosed
		case <-c.srv.ctx.Done():
			t.Stop()
			return ErrClosed
		}
	}
	return ErrNoResponse
}
