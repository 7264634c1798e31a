package client

import (
	"context"
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

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

const respBit = data.GENERIC_NACK // 0x80000000: set in every response's command_id

var (
	errResponseTimeout = errors.New("client: no response in time")
	errUnbound         = errors.New("client: the SMSC unbound")
	errNotSent         = errors.New("client: connection closed before the PDU was sent")
)

// frame is one PDU as read from the wire: its header and the body after it.
type frame struct {
	header pdu.Header
	body   []byte
}

// readFrame reads one PDU, checking command_length before allocating.
func readFrame(r io.Reader) (frame, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	h := pdu.ParseHeader(hdr)
	if h.CommandLength < 16 || h.CommandLength > data.MAX_PDU_LEN {
		return frame{}, fmt.Errorf("client: command_length %d out of range", h.CommandLength)
	}
	f := frame{header: h, body: make([]byte, h.CommandLength-16)}
	if _, err := io.ReadFull(r, f.body); err != nil {
		return frame{}, err
	}
	return f, nil
}

// decode turns a frame into a gosmpp PDU, turning a codec panic into an error.
func (f frame) decode() (p pdu.PDU, err error) {
	if p, err = pdu.CreatePDUFromCmdID(f.header.CommandID); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("client: decoding command 0x%08X: %v", uint32(f.header.CommandID), v)
		}
	}()
	buf := pdu.NewBuffer(make([]byte, 0, 16+len(f.body)))
	f.header.Marshal(buf)
	_, _ = buf.Write(f.body)
	if err := p.Unmarshal(buf); err != nil {
		return nil, err
	}
	return p, nil
}

func marshal(p pdu.PDU) []byte {
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	return buf.Bytes()
}

// call is one request awaiting its response.
type call struct {
	seq     int32
	res     chan result // buffered: resolve never blocks
	timer   *time.Timer
	release func() // frees a window slot; may be nil
}

type result struct {
	f   frame
	err error // errResponseTimeout, or the connection's loss (an errs.Unavailable)
}

// conn is one bound TCP connection: a reader goroutine, a keepalive goroutine and
// the requests awaiting a response on it.
type conn struct {
	s    *Session
	nc   net.Conn
	log  *slog.Logger
	seq  atomic.Int32
	wmu  sync.Mutex // serialises writes
	done chan struct{}

	pmu     sync.Mutex
	pending map[int32]*call
	closed  bool
	err     error
}

func newConn(s *Session, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, log: s.log, done: make(chan struct{}), pending: make(map[int32]*call)}
	c.seq.Store(1) // the bind used 1
	return c
}

func (c *conn) start() {
	go c.readLoop()
	go c.keepalive()
}

func (c *conn) nextSeq() int32 {
	for {
		if n := c.seq.Add(1) & 0x7FFFFFFF; n != 0 {
			return n
		}
	}
}

func (c *conn) cause() error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.err
}

// write sends one encoded PDU; a failure closes the connection.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.ResponseTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.close(fmt.Errorf("client: write: %w", err))
		return err
	}
	return nil
}

// send registers p under a fresh sequence number and writes it. It returns
// errNotSent, with nothing written, when the connection is already closed; any later
// failure (a write error, the connection's loss, no response within
// ResponseTimeout) arrives on the call's channel, which gets exactly one result.
// release runs exactly once when the call resolves, or before send returns an error.
func (c *conn) send(p pdu.PDU, release func()) (*call, error) {
	cl := &call{seq: c.nextSeq(), res: make(chan result, 1), release: release}
	p.SetSequenceNumber(cl.seq)
	b := marshal(p)
	c.pmu.Lock()
	if c.closed {
		c.pmu.Unlock()
		if release != nil {
			release()
		}
		return nil, errNotSent
	}
	c.pending[cl.seq] = cl
	cl.timer = time.AfterFunc(c.s.cfg.ResponseTimeout, func() { c.resolve(cl.seq, result{err: errResponseTimeout}) })
	c.pmu.Unlock()
	_ = c.write(b) // on failure close resolves the call
	return cl, nil
}

// resolve hands r to the call waiting under seq, once; false if there is none.
func (c *conn) resolve(seq int32, r result) bool {
	c.pmu.Lock()
	cl, ok := c.pending[seq]
	delete(c.pending, seq)
	c.pmu.Unlock()
	if !ok {
		return false
	}
	cl.finish(r)
	return true
}

func (cl *call) finish(r result) {
	cl.timer.Stop()
	if cl.release != nil {
		cl.release()
	}
	cl.res <- r
}

// close ends the connection once and fails every pending call with
// errs.Unavailable: the SMSC may or may not have got those PDUs.
func (c *conn) close(cause error) {
	c.pmu.Lock()
	if c.closed {
		c.pmu.Unlock()
		return
	}
	c.closed, c.err = true, cause
	pending := c.pending
	c.pending = nil
	c.pmu.Unlock()
	close(c.done)
	_ = c.nc.Close()
	lost := errs.Wrap(errs.Unavailable, cause, "client: connection to %s lost before the response", c.s.cfg.Addr)
	for _, cl := range pending {
		cl.finish(result{err: lost})
	}
}

func (c *conn) readLoop() {
	for {
		f, err := readFrame(c.nc)
		if err != nil {
			c.close(fmt.Errorf("client: read: %w", err))
			return
		}
		h := f.header
		switch {
		case h.CommandID == data.GENERIC_NACK && h.SequenceNumber == 0:
			c.log.Warn("smpp generic_nack without sequence", "status", h.CommandStatus.String())
		case h.CommandID&respBit != 0:
			if !c.resolve(h.SequenceNumber, result{f: f}) {
				c.log.Debug("smpp response to no pending request", "command_id", fmt.Sprintf("0x%08X", uint32(h.CommandID)), "seq", h.SequenceNumber)
			}
		case h.CommandID == data.ENQUIRE_LINK:
			_ = c.respond(pdu.NewEnquireLinkResp(), h.SequenceNumber, data.ESME_ROK)
		case h.CommandID == data.UNBIND:
			_ = c.respond(pdu.NewUnbindResp(), h.SequenceNumber, data.ESME_ROK)
			c.close(errUnbound)
			return
		case h.CommandID == data.DELIVER_SM:
			if !c.s.startHandler(c.done) {
				continue // closing: no answer, so the SMSC delivers it again
			}
			go func() {
				defer c.s.endHandler()
				st := c.s.onDeliver(f)
				_ = c.respond(pdu.NewDeliverSMResp(), h.SequenceNumber, st)
			}()
		case h.CommandID == data.ALERT_NOTIFICATION || h.CommandID == data.OUTBIND:
			// no response defined
		default:
			_ = c.respond(pdu.NewGenericNack(), h.SequenceNumber, data.ESME_RINVCMDID)
		}
	}
}

// respond writes a response PDU with seq and status.
func (c *conn) respond(p pdu.PDU, seq int32, st data.CommandStatusType) error {
	p.SetSequenceNumber(seq)
	switch r := p.(type) {
	case *pdu.DeliverSMResp:
		r.CommandStatus = st
	case *pdu.GenericNack:
		r.CommandStatus = st
	case *pdu.EnquireLinkResp:
		r.CommandStatus = st
	case *pdu.UnbindResp:
		r.CommandStatus = st
	}
	return c.write(marshal(p))
}

// keepalive sends enquire_link every EnquireLink; no answer in time drops the
// connection.
func (c *conn) keepalive() {
	t := time.NewTicker(c.s.cfg.EnquireLink)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		cl, err := c.send(pdu.NewEnquireLink(), nil)
		if err != nil {
			return
		}
		select {
		case r := <-cl.res:
			if r.err != nil {
				c.close(fmt.Errorf("client: enquire_link: %w", r.err))
				return
			}
		case <-c.done:
			return
		}
	}
}

// unbind sends unbind and waits for unbind_resp or the connection's end, up to ctx
// or ResponseTimeout.
func (c *conn) unbind(ctx context.Context) error {
	cl, err := c.send(pdu.NewUnbind(), nil)
	if err != nil {
		return nil // already gone
	}
	select {
	case r := <-cl.res:
		// A connection that ends after our unbind went out is as good as an
		// unbind_resp: SMSCs close right after answering, and a deliver_sm_resp
		// written meanwhile may fail first.
		if errors.Is(r.err, errResponseTimeout) {
			return fmt.Errorf("client: unbind: %w", r.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: unbind: %w", ctx.Err())
	}
}
