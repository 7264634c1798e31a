package smsc

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

const waitLimit = 10 * time.Second

// startServer starts a server on a free loopback port, closed when the test ends.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Accounts == nil {
		cfg.Accounts = map[string]string{"acme": "secret", "other": "pw2"}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// client is an ESME built from gosmpp's own client API; it keeps every PDU it gets.
type client struct {
	sess    *gosmpp.Session
	mu      sync.Mutex
	got     []pdu.PDU
	notify  chan struct{}
	rebound chan struct{}
}

func dial(addr, systemID, password string, rebind time.Duration) (*client, error) {
	c := &client{notify: make(chan struct{}), rebound: make(chan struct{}, 8)}
	auth := gosmpp.Auth{SMSC: addr, SystemID: systemID, Password: password, SystemType: ""}
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(gosmpp.NonTLSDialer, auth), gosmpp.Settings{
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 5 * time.Second,
		EnquireLink:  10 * time.Second,
		OnPDU:        func(p pdu.PDU, _ bool) { c.keep(p) },
		OnRebind:     func() { c.rebound <- struct{}{} },
	}, rebind)
	if err != nil {
		return nil, err
	}
	c.sess = sess
	return c, nil
}

func mustDial(t *testing.T, addr, systemID, password string, rebind time.Duration) *client {
	t.Helper()
	c, err := dial(addr, systemID, password, rebind)
	if err != nil {
		t.Fatalf("bind as %s: %v", systemID, err)
	}
	t.Cleanup(func() { _ = c.sess.Close() })
	return c
}

func (c *client) keep(p pdu.PDU) {
	c.mu.Lock()
	c.got = append(c.got, p)
	close(c.notify)
	c.notify = make(chan struct{})
	c.mu.Unlock()
}

// waitFor removes and returns the first PDU received that matches.
func (c *client) waitFor(t *testing.T, what string, match func(pdu.PDU) bool) pdu.PDU {
	t.Helper()
	p := c.await(match)
	if p == nil {
		t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
	}
	return p
}

// await is waitFor for any goroutine: nil after waitLimit.
func (c *client) await(match func(pdu.PDU) bool) pdu.PDU {
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		for i, p := range c.got {
			if match(p) {
				c.got = append(c.got[:i], c.got[i+1:]...)
				c.mu.Unlock()
				return p
			}
		}
		ch := c.notify
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return nil
		}
	}
}

// submit sends sm and returns its submit_sm_resp.
func (c *client) submit(t *testing.T, sm *pdu.SubmitSM) *pdu.SubmitSMResp {
	t.Helper()
	if err := c.sess.Transceiver().Submit(sm); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	seq := sm.GetSequenceNumber()
	return c.waitFor(t, "submit_sm_resp", func(p pdu.PDU) bool {
		r, ok := p.(*pdu.SubmitSMResp)
		return ok && r.SequenceNumber == seq
	}).(*pdu.SubmitSMResp)
}

// receipt waits for the delivery receipt of message id.
func (c *client) receipt(t *testing.T, id string) *pdu.DeliverSM {
	t.Helper()
	return c.waitFor(t, "receipt for "+id, func(p pdu.PDU) bool {
		d, ok := p.(*pdu.DeliverSM)
		if !ok || d.EsmClass&data.SM_SMSC_DLV_RCPT_TYPE == 0 {
			return false
		}
		f, ok := d.OptionalParameters[pdu.TagReceiptedMessageID]
		return ok && f.String() == id
	}).(*pdu.DeliverSM)
}

func newSubmit(t *testing.T, from, to, text string, enc data.Encoding, rd byte) *pdu.SubmitSM {
	t.Helper()
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	var err error
	if sm.SourceAddr, err = pdu.NewAddressWithTonNpiAddr(5, 0, from); err != nil {
		t.Fatal(err)
	}
	if sm.DestAddr, err = pdu.NewAddressWithTonNpiAddr(1, 1, to); err != nil {
		t.Fatal(err)
	}
	if sm.Message, err = pdu.NewShortMessageWithEncoding(text, enc); err != nil {
		t.Fatal(err)
	}
	sm.RegisteredDelivery = rd
	return sm
}

// rawConn speaks SMPP over a bare connection, for what a client library hides.
type rawConn struct {
	t    *testing.T
	conn net.Conn
}

func rawDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawConn{t: t, conn: conn}
}

func (r *rawConn) write(p pdu.PDU) {
	r.t.Helper()
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	r.writeBytes(buf.Bytes())
}

func (r *rawConn) writeBytes(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read returns the next PDU, failing the test on error or after waitLimit.
func (r *rawConn) read() pdu.PDU {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(waitLimit))
	p, err := pdu.Parse(r.conn)
	if err != nil {
		r.t.Fatalf("read pdu: %v", err)
	}
	return p
}

func (r *rawConn) bind(bt pdu.BindingType, systemID, password string) *pdu.BindResp {
	r.t.Helper()
	b := pdu.NewBindRequest(bt)
	b.SystemID, b.Password = systemID, password
	r.write(b)
	resp, ok := r.read().(*pdu.BindResp)
	if !ok {
		r.t.Fatalf("bind answered with something else than a bind response")
	}
	return resp
}
