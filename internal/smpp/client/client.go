// Package client is Catalyst's SMPP 3.4 ESME: one Session is one bind to a carrier's
// SMSC, held by a connector pod for its lifetime.
//
// A Session keeps itself bound: it sends enquire_link every Config.EnquireLink and,
// when the connection is lost, rebinds with exponential backoff and full jitter
// between Config.RebindMin and Config.RebindMax. Submit is safe for concurrent use
// and windowed: up to Config.Window submit_sm are on the wire unacknowledged at once,
// matched to their submit_sm_resp by sequence_number, so throughput is not bounded by
// the round-trip time. A Submit that finds no bound connection waits for the next
// bind (or its ctx); one whose submit_sm was written returns exactly one outcome: the
// message_id, or an *errs.Error whose code says what to do (see Submit).
//
// Bound reports whether the Session is bound right now, and Config.OnState tells
// about every change of that, so a caller can route around a Session that is
// rebinding without submitting into it.
//
// deliver_sm (delivery receipts and mobile-originated messages) go to a Handler, one
// goroutine per PDU (at most Config.Window at once); the Session always answers
// deliver_sm_resp, with ESME_RX_T_APPN when the handler fails so that the SMSC
// delivers it again.
//
// PDUs are built and read with github.com/linxGnu/gosmpp's pdu package, except
// deliver_sm, which is read by this package (deliver.go) so that a malformed UDH
// still reaches the handler as bytes. gosmpp's own session code is not used: its
// Submit takes no context and it does not report the outcome of each submit_sm.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// BindType is the kind of bind a Session asks for.
type BindType uint8

const (
	// Transceiver submits and receives on one connection (the default).
	Transceiver BindType = iota
	// Transmitter only submits; deliver_sm never arrives.
	Transmitter
	// Receiver only receives; Submit fails with errs.Invalid.
	Receiver
)

func (b BindType) String() string {
	switch b {
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	default:
		return "transceiver"
	}
}

func (b BindType) gosmpp() pdu.BindingType {
	switch b {
	case Transmitter:
		return pdu.Transmitter
	case Receiver:
		return pdu.Receiver
	default:
		return pdu.Transceiver
	}
}

// Defaults applied by Dial to zero Config fields.
const (
	DefaultWindow          = 64
	DefaultEnquireLink     = 30 * time.Second
	DefaultResponseTimeout = 10 * time.Second
	DefaultRebindMin       = 500 * time.Millisecond
	DefaultRebindMax       = 30 * time.Second
	DefaultThrottlePause   = time.Second
	DefaultThrottleCool    = 30 * time.Second
)

// Config configures a Session. Addr and SystemID are required.
type Config struct {
	// Addr is the SMSC's host:port.
	Addr string
	// SystemID, Password (at most 8 octets) and SystemType go into the bind.
	SystemID, Password, SystemType string
	// Bind is the bind kind; default Transceiver.
	Bind BindType
	// Window is how many submit_sm may await their submit_sm_resp at once; default 64.
	// Submit blocks while the window is full. Ask the carrier: many allow 10–100.
	Window int
	// Throughput caps submit_sm per second (a token bucket with a burst of one
	// second's worth, at least 1); 0 means no cap.
	Throughput int
	// ThrottlePause is how long every Submit waits after the SMSC answered
	// ESME_RTHROTTLED or ESME_RMSGQFUL; default 1s. With Throughput set, the rate is
	// also halved (down to 1/s) for ThrottleCool (default 30s) after each such answer.
	ThrottlePause, ThrottleCool time.Duration
	// EnquireLink is the keepalive interval; default 30s. A keepalive without an
	// answer within ResponseTimeout drops the connection, which then rebinds.
	EnquireLink time.Duration
	// ResponseTimeout bounds the wait for any response (bind_resp, submit_sm_resp,
	// enquire_link_resp, unbind_resp); default 10s.
	ResponseTimeout time.Duration
	// RebindMin and RebindMax bound the backoff between bind attempts after a
	// connection loss: attempt n waits a uniformly random time in
	// [0, min(RebindMax, RebindMin·2ⁿ)] (full jitter), at least RebindMin/2.
	// Defaults 500ms and 30s.
	RebindMin, RebindMax time.Duration
	// PackedGSM7 reads mobile-originated GSM-7 short messages (data_coding 0) as
	// packed septets, for SMSCs that deliver them as on the air interface rather
	// than one septet per octet as SMPP asks (ask the carrier).
	PackedGSM7 bool
	// Logger receives connection events; default discards.
	Logger *slog.Logger
	// OnState, if set, is called with true when the Session becomes bound (the
	// bind of Dial, then every rebind) and with false when it stops being bound
	// (a lost connection, then Close). Calls alternate, starting with true, and
	// the last one is false; each reports what Bound then returns, unless the
	// state has changed again since. They are made one at a time from the
	// Session's own goroutine, the one that rebinds: the first one once Dial has
	// bound (it may run before Dial has returned the Session to its caller), the
	// last one before Close returns. OnState must therefore return quickly
	// (record the state, signal a channel without blocking) and must not call
	// Close; while it runs, the Session does not notice a lost connection nor
	// rebind.
	OnState func(bound bool)
}

func (c Config) withDefaults() (Config, error) {
	var problems []error
	if c.Addr == "" {
		problems = append(problems, errors.New("client: Config.Addr is required"))
	}
	if c.SystemID == "" {
		problems = append(problems, errors.New("client: Config.SystemID is required"))
	}
	if len(c.SystemID) > 15 {
		problems = append(problems, fmt.Errorf("client: Config.SystemID: %d octets, at most 15", len(c.SystemID)))
	}
	if len(c.Password) > 8 {
		problems = append(problems, fmt.Errorf("client: Config.Password: %d octets, at most 8", len(c.Password)))
	}
	if c.Bind > Receiver {
		problems = append(problems, fmt.Errorf("client: Config.Bind: unknown bind type %d", c.Bind))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Window", int64(c.Window)}, {"Throughput", int64(c.Throughput)},
		{"ThrottlePause", int64(c.ThrottlePause)}, {"ThrottleCool", int64(c.ThrottleCool)},
		{"EnquireLink", int64(c.EnquireLink)}, {"ResponseTimeout", int64(c.ResponseTimeout)},
		{"RebindMin", int64(c.RebindMin)}, {"RebindMax", int64(c.RebindMax)},
	} {
		if f.v < 0 {
			problems = append(problems, fmt.Errorf("client: Config.%s is negative", f.name))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return c, errs.Wrap(errs.Invalid, err, "client: invalid config")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	def(&c.ThrottlePause, DefaultThrottlePause)
	def(&c.ThrottleCool, DefaultThrottleCool)
	def(&c.EnquireLink, DefaultEnquireLink)
	def(&c.ResponseTimeout, DefaultResponseTimeout)
	def(&c.RebindMin, DefaultRebindMin)
	def(&c.RebindMax, DefaultRebindMax)
	if c.RebindMax < c.RebindMin {
		c.RebindMax = c.RebindMin
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Handler receives deliver_sm. Each call runs on its own goroutine with the
// Session's context (cancelled by Close). Returning nil acknowledges the PDU with
// ESME_ROK; an error answers ESME_RX_T_APPN so the SMSC delivers it again later, so
// a handler must tolerate duplicates either way.
type Handler interface {
	// Receipt gets a delivery receipt; r.MessageID is normalised like
	// SubmitResult.ID, so the two compare equal.
	Receipt(ctx context.Context, r sms.Receipt) error
	// MO gets one mobile-originated part; concatenated parts arrive one by one,
	// each with its Concat.
	MO(ctx context.Context, m MO) error
}

// MO is one mobile-originated deliver_sm.
type MO struct {
	// From and To are the addresses; a TON 1 (international) number gets a leading
	// '+' if it lacks one.
	From, To string
	// Text is the decoded payload (sms.Decode); empty when DecodeErr is set.
	Text       string
	DataCoding byte
	EsmClass   byte
	// UDH is the parsed user data header, nil without one.
	UDH *sms.UDH
	// Payload is the short_message (or message_payload) as received, UDH included.
	Payload []byte
	// Body is the user data after the UDH in the form sms.DecodeText reads (GSM-7
	// unpacked): a concatenated message's text is its parts' bodies joined.
	Body []byte
	// Concat is the part's place in a concatenated message (from its UDH, or the
	// sar_ TLVs), nil for a message of one part.
	Concat *sms.Concat
	// DecodeErr is why Text could not be decoded (an unsupported data_coding, a
	// malformed UDH); the part is still delivered so nothing is lost.
	DecodeErr error
}

// Session is one bound connection to an SMSC, kept bound until Close.
type Session struct {
	cfg     Config
	h       Handler
	log     *slog.Logger
	window  chan struct{} // a slot per unacknowledged submit_sm
	limit   *limiter
	handler chan struct{} // a slot per running handler call

	ctx    context.Context // the session's life; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the run loop
	hwg    sync.WaitGroup // running handler calls

	mu      sync.Mutex
	cur     *conn         // bound connection, nil while rebinding
	ready   chan struct{} // closed when cur is set or the session closes
	closing bool
	done    chan struct{} // closed when the run loop has ended
}

// Bound reports whether the Session holds a bound connection that Submit can use
// now: true from Dial until the connection is lost, false while rebinding, true
// again once rebound, and false for good after Close. A Submit may still find
// the connection lost after Bound said true (and then waits for a rebind or
// fails with errs.Unavailable, as documented there). For a Receiver bind it
// reports the bind, though Submit is not allowed there. Config.OnState reports
// the same changes without polling.
func (s *Session) Bound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.cur == nil {
		return false
	}
	select {
	case <-s.cur.done: // lost; the run loop has not seen it yet
		return false
	default:
		return true
	}
}

// notify reports a bind state change to Config.OnState. Only the run loop calls it.
func (s *Session) notify(bound bool) {
	if s.cfg.OnState != nil {
		s.cfg.OnState(bound)
	}
}

// Dial connects to cfg.Addr and binds. It fails with errs.Invalid for a bad Config,
// errs.Unauthenticated when the SMSC refuses the credentials (ESME_RINVPASWD,
// ESME_RINVSYSID, ESME_RBINDFAIL), and errs.Unavailable when it cannot connect or
// gets no bind_resp; Dial does not retry. Once bound, a background loop keeps the
// Session bound until Close. h may be nil for a Transmitter.
func Dial(ctx context.Context, cfg Config, h Handler) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if h == nil && cfg.Bind != Transmitter {
		return nil, errs.E(errs.Invalid, "client: a %s bind needs a Handler", cfg.Bind)
	}
	s := &Session{
		cfg:     cfg,
		h:       h,
		log:     cfg.Logger.With("smsc", cfg.Addr, "system_id", cfg.SystemID),
		window:  make(chan struct{}, cfg.Window),
		limit:   newLimiter(cfg.Throughput, cfg.ThrottlePause, cfg.ThrottleCool),
		handler: make(chan struct{}, cfg.Window),
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c, err := s.bind(ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.setConn(c) // cannot be closing yet: s is not returned
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.done)
		s.run(c)
	}()
	return s, nil
}

// run watches the bound connection and rebinds when it is lost, until Close. It
// makes every Config.OnState call: true for the bind of Dial and each rebind,
// false for each loss and, if bound then, at Close.
func (s *Session) run(c *conn) {
	s.notify(true)
	bound := true
	defer func() {
		if bound {
			s.notify(false)
		}
	}()
	for {
		select {
		case <-c.done:
		case <-s.ctx.Done():
			return
		}
		if s.isClosing() {
			return // Close unbound it: not a lost connection
		}
		s.clearConn(c)
		bound = false
		s.notify(false)
		s.log.Warn("smpp connection lost; rebinding", "err", c.cause())
		var err error
		if c, err = s.rebind(); err != nil {
			return // closing
		}
		if !s.setConn(c) {
			return // Close ran meanwhile and closed c
		}
		bound = true
		s.notify(true)
		s.log.Info("smpp rebound")
	}
}

// rebind binds again with backoff and jitter until it succeeds or the session closes.
func (s *Session) rebind() (*conn, error) {
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(s.backoff(attempt))
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return nil, s.ctx.Err()
		}
		c, err := s.bind(s.ctx)
		if err == nil {
			return c, nil
		}
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		s.log.Warn("smpp bind failed", "attempt", attempt+1, "err", err)
	}
}

// backoff is the wait before bind attempt n (from 0): full jitter over an
// exponentially growing ceiling, never below RebindMin/2.
func (s *Session) backoff(n int) time.Duration {
	ceil := s.cfg.RebindMin
	for i := 0; i < n && ceil < s.cfg.RebindMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, s.cfg.RebindMax)
	floor := s.cfg.RebindMin / 2
	if ceil <= floor {
		return floor
	}
	return floor + rand.N(ceil-floor+1)
}

// setConn makes c the bound connection; when the session is closing it closes c
// instead and returns false.
func (s *Session) setConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		c.close(errSessionClosed)
		return false
	}
	s.cur = c
	close(s.ready)
	return true
}

func (s *Session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Session) clearConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == c {
		s.cur = nil
		s.ready = make(chan struct{})
	}
}

// bound returns the bound connection, waiting for a rebind if there is none.
func (s *Session) bound(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		c, ready, closing := s.cur, s.ready, s.closing
		s.mu.Unlock()
		switch {
		case closing:
			return nil, errs.Wrap(errs.Unavailable, errSessionClosed, "client: submit_sm not sent")
		case c != nil:
			return c, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "client: no bound connection to %s", s.cfg.Addr)
		}
	}
}

var errSessionClosed = errors.New("client: session closed")

// bind dials and binds one connection. Auth refusals are errs.Unauthenticated, the
// rest errs.Unavailable.
func (s *Session) bind(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ResponseTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "client: connect to %s", s.cfg.Addr)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	req := pdu.NewBindRequest(s.cfg.Bind.gosmpp())
	req.SystemID, req.Password, req.SystemType = s.cfg.SystemID, s.cfg.Password, s.cfg.SystemType
	req.SetSequenceNumber(1)
	if _, err := nc.Write(marshal(req)); err != nil {
		_ = nc.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "client: send bind to %s", s.cfg.Addr)
	}
	for {
		f, err := readFrame(nc)
		if err != nil {
			_ = nc.Close()
			return nil, errs.Wrap(errs.Unavailable, err, "client: await bind_resp from %s", s.cfg.Addr)
		}
		if f.header.CommandID&data.GENERIC_NACK == 0 || f.header.SequenceNumber != 1 {
			continue // a request before bind_resp: not allowed, ignore it
		}
		st := f.header.CommandStatus
		if st == data.ESME_ROK && f.header.CommandID == req.CommandID|data.GENERIC_NACK {
			break
		}
		_ = nc.Close()
		code := errs.Unavailable
		switch st {
		case data.ESME_RINVPASWD, data.ESME_RINVSYSID, data.ESME_RBINDFAIL:
			code = errs.Unauthenticated
		}
		return nil, errs.Wrap(code, &StatusError{Command: "bind", Status: st}, "client: bind to %s as %q refused", s.cfg.Addr, s.cfg.SystemID)
	}
	if !stop() { // ctx ended just after the bind_resp
		_ = nc.Close()
		return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "client: bind to %s", s.cfg.Addr)
	}
	_ = nc.SetDeadline(time.Time{})
	c := newConn(s, nc)
	c.start()
	s.log.Info("smpp bound", "bind", s.cfg.Bind.String())
	return c, nil
}

// Close unbinds (waiting for unbind_resp up to ctx or ResponseTimeout), closes the
// connection and stops rebinding. Submits still waiting end with errs.Unavailable;
// handler calls get a cancelled context and are waited for up to ctx. Close is safe
// to call more than once.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	c := s.cur
	select {
	case <-s.ready:
	default:
		close(s.ready) // wake Submits waiting for a bind
	}
	s.mu.Unlock()
	var err error
	if c != nil {
		err = c.unbind(ctx)
		c.close(errSessionClosed)
	}
	s.cancel()
	s.wg.Wait()
	handlers := make(chan struct{})
	go func() { s.hwg.Wait(); close(handlers) }()
	select {
	case <-handlers:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}
