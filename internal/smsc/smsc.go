// Package smsc is the sandbox SMSC: a real SMPP 3.4 server for tests, demos and load.
//
// It accepts bind_transmitter, bind_receiver and bind_transceiver for the accounts in
// Config, answers submit_sm with a unique message_id, records every accepted submit_sm
// (Submitted) and reassembles concatenated ones (Messages), sends delivery receipts and
// injected mobile-originated messages as deliver_sm to a receiver or transceiver session
// of the same system_id, and injects faults (Throttle, DropConnections). With
// Config.MagicNumbers the destination picks the outcome (UNDELIV, EXPIRED, or refused at
// submit_sm), so that load can be shaped message by message. PDUs are parsed
// and built with github.com/linxGnu/gosmpp's pdu package; this package has no codec.
//
// Message ids are 16 lowercase hex digits: a 64-bit number that starts at the server's
// start time in Unix nanoseconds and counts up by one per accepted submit_sm. They are
// unique within a server and across restarts unless a run accepts more messages than
// nanoseconds pass between two starts. Config.DecimalReceiptIDs writes the same number
// in decimal in the receipt text (the TLV keeps the hex form), as some real SMSCs do.
//
// Every session has its own read and write goroutines; a client may keep many requests
// in flight (responses are queued, never waited for), and a deliver_sm waits for its
// deliver_sm_resp on its own goroutine.
package smsc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/data"
)

// Config configures a Server. Only Accounts is required.
type Config struct {
	// Addr is the TCP listen address; default "127.0.0.1:0" (a free port; see Addr()).
	Addr string
	// SystemID is the SMSC's system_id in bind responses; default "catalyst-smsc".
	SystemID string
	// Accounts maps system_id to password. A bind with an unknown system_id gets
	// ESME_RBINDFAIL, a wrong password ESME_RINVPASWD.
	Accounts map[string]string
	// ReceiptDelay is how long after an accepted submit_sm its delivery receipt is sent
	// when registered_delivery asks for one (1: always, 2: on failure only). Zero sends it
	// right after the submit_sm_resp.
	ReceiptDelay time.Duration
	// Outcomes weighs the receipt outcomes; the zero Mix delivers everything.
	Outcomes Mix
	// MagicNumbers chooses the outcome by destination, ahead of Outcomes: a destination
	// whose digits end in 0000666 (MagicUndelivered) gets an UNDELIV receipt, 0000777
	// (MagicExpired) an EXPIRED one, and 0000888 (MagicRejected) is refused at submit_sm
	// with ESME_RINVDSTADR (MagicRejectStatus), a permanent error; every other
	// destination keeps the Outcomes draw. Off by default; catalyst dev and smsc-sim
	// turn it on so that a load generator picks each message's outcome.
	MagicNumbers bool
	// Seed seeds the outcome draw: the same Seed (0 included), Outcomes and order of
	// accepted submit_sm give the same outcomes on every run.
	Seed int64
	// ResponseTimeout is how long a deliver_sm waits for its deliver_sm_resp before it is
	// sent once more (and then given up); default 5s.
	ResponseTimeout time.Duration
	// RedeliverAfter is the pause before a receipt is sent again when the ESME
	// answered it with a temporary error (ESME_RX_T_APPN, ESME_RTHROTTLED,
	// ESME_RSYSERR) or not at all, as carriers' SMSCs retry; default 2s.
	// RedeliverTries bounds those sends (default 10; negative: never again).
	RedeliverAfter time.Duration
	RedeliverTries int
	// DecimalReceiptIDs writes the id in the receipt text in decimal instead of hex.
	DecimalReceiptIDs bool
	// Keep bounds the submissions (and messages) Submitted and Messages remember:
	// past it the older half is forgotten, so a sandbox under load for hours holds
	// bounded memory. Default DefaultKeep.
	Keep int
	// Logger receives session events; default discards.
	Logger *slog.Logger
}

// Mix weighs the stat of delivery receipts: DELIVRD, UNDELIV and EXPIRED are drawn with
// probability proportional to their weight. All zero means all DELIVRD.
type Mix struct {
	Delivered, Undelivered, Expired int
}

// outcome is what a receipt reports.
type outcome struct {
	stat  string // stat: in the receipt text
	state byte   // message_state TLV
	err   string // err: in the receipt text
	dlvrd string // dlvrd: in the receipt text
}

var (
	delivered   = outcome{stat: "DELIVRD", state: 2, err: "000", dlvrd: "001"}
	undelivered = outcome{stat: "UNDELIV", state: 5, err: "001", dlvrd: "000"}
	expired     = outcome{stat: "EXPIRED", state: 3, err: "000", dlvrd: "000"}
)

func (m Mix) pick(r *rand.Rand) outcome {
	total := m.Delivered + m.Undelivered + m.Expired
	if total == 0 {
		return delivered
	}
	switch n := r.IntN(total); {
	case n < m.Delivered:
		return delivered
	case n < m.Delivered+m.Undelivered:
		return undelivered
	default:
		return expired
	}
}

// Errors returned by InjectMO and Start.
var (
	ErrNoReceiver = errors.New("smsc: no receiver or transceiver session is bound for that system_id")
	ErrClosed     = errors.New("smsc: server closed")
	ErrNoResponse = errors.New("smsc: no deliver_sm_resp, also after one resend")
)

// StatusError is a non-zero command_status an ESME answered a deliver_sm with.
type StatusError struct{ Status data.CommandStatusType }

func (e *StatusError) Error() string {
	return fmt.Sprintf("smsc: deliver_sm answered with %s (0x%02X)", e.Status, uint32(e.Status))
}

// Server is a sandbox SMSC. Create it with New, then Start it.
type Server struct {
	cfg      Config
	log      *slog.Logger
	idBase   uint64
	nextID   atomic.Uint64
	nextRef  atomic.Uint32 // UDH reference of injected concatenated MOs
	throttle atomic.Int64

	ctx    context.Context // done when the server closes: stops receipts and deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	ln        net.Listener
	stopCtx   func() bool
	started   bool
	closed    bool
	sessions  map[*session]struct{}
	queued    map[string][]*delivery // receipts waiting for a receiver of that system_id
	rng       *rand.Rand
	submitted []Submitted
	messages  assembler
}

// New validates cfg, fills in defaults and returns a server that is not yet listening.
func New(cfg Config) (*Server, error) {
	var errs []error
	if len(cfg.Accounts) == 0 {
		errs = append(errs, errors.New("smsc: Config.Accounts: at least one system_id is required"))
	}
	for _, w := range []struct {
		field string
		v     int
	}{{"Delivered", cfg.Outcomes.Delivered}, {"Undelivered", cfg.Outcomes.Undelivered}, {"Expired", cfg.Outcomes.Expired}} {
		if w.v < 0 {
			errs = append(errs, fmt.Errorf("smsc: Config.Outcomes.%s: weight %d is negative", w.field, w.v))
		}
	}
	if cfg.ReceiptDelay < 0 {
		errs = append(errs, fmt.Errorf("smsc: Config.ReceiptDelay: %v is negative", cfg.ReceiptDelay))
	}
	if cfg.ResponseTimeout < 0 {
		errs = append(errs, fmt.Errorf("smsc: Config.ResponseTimeout: %v is negative", cfg.ResponseTimeout))
	}
	if cfg.RedeliverAfter < 0 {
		errs = append(errs, fmt.Errorf("smsc: Config.RedeliverAfter: %v is negative", cfg.RedeliverAfter))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SystemID == "" {
		cfg.SystemID = "catalyst-smsc"
	}
	if cfg.ResponseTimeout == 0 {
		cfg.ResponseTimeout = 5 * time.Second
	}
	if cfg.RedeliverAfter == 0 {
		cfg.RedeliverAfter = 2 * time.Second
	}
	if cfg.RedeliverTries == 0 {
		cfg.RedeliverTries = 10
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: make(map[*session]struct{}),
		queued:   make(map[string][]*delivery),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed5eed)),
		messages: assembler{open: make(map[concatKey]int)},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start listens on Config.Addr and serves until Close or until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return errors.New("smsc: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smsc: listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln, s.started = ln, true
	s.idBase = uint64(time.Now().UnixNano())
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.accept(ln)
	}()
	s.log.Info("smsc listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on, once started ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

func (s *Server) accept(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // e.g. out of file descriptors under load: back off, go on
			s.log.Error("smsc accept", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-s.ctx.Done():
				return
			}
		}
		c := newSession(s, conn)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.sessions[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go func() { defer s.wg.Done(); c.readLoop() }()
		go func() { defer s.wg.Done(); c.writeLoop() }()
	}
}

// Close stops listening, sends unbind to every session and waits up to a second for
// the unbind_resp, then closes every connection, drops pending receipts and returns
// once every goroutine of the server has ended. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln, stop, sessions := s.ln, s.stopCtx, s.sessionList()
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	if stop != nil {
		stop()
	}
	for _, c := range sessions {
		c.unbind()
	}
	grace := time.After(time.Second)
	for _, c := range sessions {
		select {
		case <-c.done:
		case <-grace:
		}
	}
	s.cancel()
	for _, c := range sessions {
		c.close()
	}
	s.wg.Wait()
	return err
}

// spawn runs f on a goroutine Close waits for; it reports false once the server closed.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *Server) sessionList() []*session {
	out := make([]*session, 0, len(s.sessions))
	for c := range s.sessions {
		out = append(out, c)
	}
	return out
}

// Throttle answers the next n submit_sm (on any session) with ESME_RTHROTTLED (0x58).
func (s *Server) Throttle(n int) { s.throttle.Store(int64(n)) }

func (s *Server) takeThrottle() bool {
	for {
		n := s.throttle.Load()
		if n <= 0 {
			return false
		}
		if s.throttle.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// DropConnections closes every session's connection at once, without unbind, as a
// crash would. Receipts not yet acknowledged wait for the account to bind again.
func (s *Server) DropConnections() {
	s.mu.Lock()
	sessions := s.sessionList()
	s.mu.Unlock()
	for _, c := range sessions {
		_ = c.conn.Close()
	}
	s.log.Info("smsc dropped connections", "sessions", len(sessions))
}

// authenticate checks a bind's credentials.
func (s *Server) authenticate(systemID, password string) data.CommandStatusType {
	want, ok := s.cfg.Accounts[systemID]
	switch {
	case !ok:
		return data.ESME_RBINDFAIL
	case subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1:
		return data.ESME_RINVPASWD
	}
	return data.ESME_ROK
}

func (s *Server) newID() string {
	return fmt.Sprintf("%016x", s.idBase+s.nextID.Add(1))
}

// DefaultKeep is Config.Keep's default.
const DefaultKeep = 10_000

// Submitted returns the accepted submit_sm (the last Config.Keep at most), in the
// order accepted.
func (s *Server) Submitted() []Submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Submitted, len(s.submitted))
	copy(out, s.submitted)
	return out
}

// Messages returns the messages accepted (those of the remembered submissions), in
// the order of their first part:
// single-part messages as they are, concatenated ones (UDH IEI 0x00 or 0x08, or sar_
// TLVs) reassembled per (system_id, source, dest, ref). Complete tells whether every
// part has arrived.
func (s *Server) Messages() []Reassembled {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages.snapshot()
}
