// Package smsgw is the SMS gateway the always-on sms connector pod holds: it keeps
// SMPP sessions bound to every carrier in config/carriers.yaml, sends messages down
// the carrier plan with failover, matches delivery receipts to messages and hands
// outcomes and mobile-originated messages to Events (the connector turns those into
// CloudEvents; this package does no event encoding).
//
// Sending. Send encodes the text (one UDH reference per message), asks the carrier
// plan for the destination and tries the carriers in order. Every part of a message
// goes to one carrier, each part on a bound session of it picked round-robin:
//   - a carrier with no bound session is down: the next one is tried. When every
//     planned carrier is down, Send waits up to DownGrace for one to (re)bind;
//   - errs.Unavailable before any part was accepted: the next carrier is tried;
//   - errs.RateLimited: the same carrier again after a short pause, at most
//     maxRateRetries times before the first part is accepted (then the next
//     carrier), and until ctx ends once a part is accepted;
//   - errs.Unavailable after some parts were accepted: the remaining parts are
//     resubmitted on the same carrier once it has rebound, until ctx ends. A part
//     is never sent to two carriers. (client.Session documents that a resubmit
//     after Unavailable may duplicate that part at the SMSC.)
//   - errs.Unprocessable and errs.Invalid are permanent: returned, no failover;
//   - errs.Timeout (outcome unknown) is returned as is, no failover, since another
//     carrier might deliver the message a second time.
//
// A Send that fails after some parts were accepted says so in its error message,
// with their SMSC ids, and forgets them: receipts for them are then logged as
// unknown.
//
// Receipts. Every accepted part's SMSC id is remembered (per carrier) with its
// message and part. When every part has a final receipt, Events.Delivered is called
// if all were delivered, else Events.Failed with the state and error code of the
// first part (in part order) that was not. A receipt may overtake the
// submit_sm_resp it belongs to, so a receipt for an unknown id is logged,
// acknowledged and kept for earlyTTL in case its part is accepted meanwhile. If
// Events fails, the receipt is answered with an error so that the SMSC resends it.
//
// Receipt deadline. A message whose parts do not all have a final receipt within
// its carrier's receipt_timeout (carrier.Carrier.ReceiptTimeout, default 48h) after
// Send succeeded (an SMSC that restarted and lost it, or never sends receipts) is
// reported once through Events.Failed with State sms.StateExpired and ErrorCode
// ReceiptTimeoutCode, and forgotten: a receipt for it arriving later is logged and
// acknowledged like any receipt for an unknown id, with no second outcome. The
// deadlines are kept in one min-heap that a single goroutine sweeps, stopped by
// Close.
//
// Durability. By default the id → message map and the deadlines live in memory:
// a pod restart forgets every pending receipt. With WithPending, a message whose
// parts are all accepted is moved to a Pending store (internal/postgres keeps it in
// sms_pending): receipts for ids the gateway does not hold in memory are looked up
// there, and the sweeper takes deadlines from it (Expire), so a gateway started
// after a crash completes what an earlier one sent. Parts of a message still being
// sent stay in memory until its last part is accepted. The store hands an outcome
// out and keeps the message until the gateway reported it (Finish): a crash or a
// failed report in between leaves it to the SMSC's resent receipt, or to the
// sweeper timeoutRetry later. Outcomes are thus reported at least once.
//
// Inbound. A mobile-originated message of one part goes to Events.Inbound as it
// comes. The parts of a concatenated one (UDH IEI 0x00 or 0x08, or the sar_ TLVs)
// are kept in an MOParts store (WithMOParts; in memory by default), keyed by
// carrier, sender, recipient, reference and part count, each acknowledged once
// kept; the message goes to Events.Inbound once, whole, when its last part comes,
// or with the parts it has, flagged partial, when its carrier's mo_part_timeout
// passes from its first part (on the WithClock clock). Duplicates and parts resent
// after the message was reported are dropped. Like outcomes, a message is reported
// at least once, with a stable Inbound.ID (see mo.go).
//
// Bind state. Each session reports its binds and losses through
// client.Config.OnState, which the gateway records per session; picking a
// session also asks client.Session.Bound, so that one whose connection was just
// lost is skipped before its callback has run.
package smsgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/client"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// Events receives what the gateway learns; the connector turns these into
// CloudEvents. A returned error makes the SMSC resend the receipt or MO later.
type Events interface {
	Delivered(ctx context.Context, o Outcome) error
	Failed(ctx context.Context, o Outcome) error
	Inbound(ctx context.Context, m Inbound, carrier string) error
}

// Outcome is the final state of a sent message.
type Outcome struct {
	TenantID, MessageID, Carrier string
	Parts                        int
	SMSCIDs                      []string // per part, in part order
	// State is sms.StateDelivered for Delivered; for Failed, the state of the first
	// part that was not delivered, and ErrorCode its err: code.
	State     sms.State
	ErrorCode string
}

// Message is one message to send.
type Message struct {
	TenantID, MessageID, From, To, Text string
	Flash                               bool
	// Binary, when set, is sent instead of Text as 8-bit data (data_coding 0x04).
	Binary []byte
}

// Sent is an accepted message: every part was accepted by Carrier.
type Sent struct {
	Carrier  string
	Parts    int
	SMSCIDs  []string // per part, in part order
	Encoding string   // "GSM-7" or "UCS-2"
}

// Tuning. Variables so tests can shorten them; set them before New.
var (
	// DownGrace is how long Send waits for a carrier to bind when every carrier of
	// the plan is down.
	DownGrace = 3 * time.Second
	// dialMin and dialMax bound the backoff between initial Dial attempts of a
	// session that has never bound (a bound session rebinds by itself).
	dialMin, dialMax = 200 * time.Millisecond, 30 * time.Second
	// rebindMin and rebindMax go to client.Config (zero: the client's defaults).
	rebindMin, rebindMax time.Duration
	// maxRateRetries bounds RateLimited retries before the first part is accepted.
	maxRateRetries = 5
	// ratePause is the pause after RateLimited (the session itself also slows down).
	ratePause = 100 * time.Millisecond
	// earlyTTL is how long a receipt for an unknown id is kept for a late accept.
	earlyTTL  = 2 * time.Minute
	earlyMax  = 10000
	pollEvery = 20 * time.Millisecond
	// timeoutRetry is the pause before Events.Failed is called again for a timed-out
	// message when it returned an error; timeoutTries bounds the calls.
	timeoutRetry = 30 * time.Second
	timeoutTries = 5
)

// ReceiptTimeoutCode is Outcome.ErrorCode of a message failed because its receipts
// did not all arrive within its carrier's receipt_timeout (State is
// sms.StateExpired).
const ReceiptTimeoutCode = "receipt-timeout"

// Gateway holds the SMPP sessions of every carrier.
type Gateway struct {
	cfg   *carrier.Config
	ev    Events
	log   *slog.Logger
	lines map[string]*line
	ref   atomic.Uint32

	ctx    context.Context // the gateway's life; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // dialers and the sweeper

	timeouts map[string]time.Duration // carrier → receipt_timeout
	wake     chan struct{}            // a deadline earlier than the sweeper's timer was queued
	// storeWritten tells the sweeper the store may have an earlier deadline than it
	// last read (a message moved there, or an outcome left for its redo time).
	storeWritten atomic.Bool
	sweepDone    chan struct{} // closed when the sweeper returns

	mu      sync.Mutex
	pending map[string]partRef // carrier + "\x00" + SMSC id
	early   map[string]earlyReceipt
	due     deadlines // sent messages awaiting receipts, earliest deadline first
	closed  bool

	store Pending // nil: pending receipts only in memory (pending, due)
	// storeGrace is how long a sent message waits in memory for its receipts
	// before it is written to store (WithPendingGrace).
	storeGrace time.Duration

	moState // inbound reassembly (mo.go)
}

// Option configures New.
type Option func(*Gateway)

// WithPending keeps sent messages awaiting receipts, and their deadlines, in p
// (see the package documentation); nil keeps them in memory.
func WithPending(p Pending) Option {
	return func(g *Gateway) { g.store = p }
}

// DefaultPendingGrace is how long a sent message waits for its receipts in memory
// before it is written to the Pending store: a message whose receipts come within
// it (a fast carrier) costs the store nothing.
const DefaultPendingGrace = 20 * time.Millisecond

// WithPendingGrace sets how long Send waits for a message's receipts before it
// writes the message to the Pending store (0: at once). Send returns only once the
// message is either complete or stored, so a crash never loses one it reported
// sent; the grace trades that much latency per message for the store writes it
// saves.
func WithPendingGrace(d time.Duration) Option {
	return func(g *Gateway) { g.storeGrace = max(d, 0) }
}

// storePoll bounds how long the sweeper waits before asking the Pending store
// for its next deadline again (another gateway may have added an earlier one);
// storeRetry is the pause after a store error; expireBatch bounds one Expire.
var (
	storePoll   = time.Minute
	storeRetry  = time.Second
	expireBatch = 100
)

type partRef struct {
	t    *tracked
	part int
}

type earlyReceipt struct {
	r  sms.Receipt
	at time.Time
}

// tracked is a message whose receipts are awaited.
type tracked struct {
	tenant, msgID, carrier string
	ids                    []string
	states                 []sms.State
	codes                  []string
	finals                 int
	sent                   bool      // every part accepted
	deadline               time.Time // when its receipts are given up (set once sent)
	index                  int       // in Gateway.due, when queued
	queued                 bool      // in Gateway.due
	tries                  int       // Events.Failed calls for a receipt timeout
	// gone is set once the message left memory (completed, expired, or moved to the
	// store); complete is closed once a receipt completed it and its outcome was
	// reported (a Send waiting out the grace may then return). reported is set once
	// its outcome was reported from memory; stored once the store holds it too (it
	// left memory while it was written there), so that whoever reports it from
	// memory finishes the stored copy.
	gone     bool
	complete chan struct{}
	signaled bool
	reported bool
	stored   bool
}

// line is one carrier's sessions.
type line struct {
	name string
	tx   []*slot // sessions that submit (transceivers or transmitters)
	rx   []*slot // receiver-only sessions (transmitter+receiver bind)
	next atomic.Uint64
}

// slot is one session, nil until its first Dial succeeds.
type slot struct {
	bound atomic.Bool // set by the session's OnState
	mu    sync.Mutex
	sess  *client.Session
}

func (s *slot) session() *client.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess
}

// pick returns a bound submitting session, round-robin, or nil when the carrier is down.
func (l *line) pick() *client.Session {
	n := uint64(len(l.tx))
	start := l.next.Add(1)
	for i := uint64(0); i < n; i++ {
		s := l.tx[(start+i)%n]
		if !s.bound.Load() {
			continue
		}
		if sess := s.session(); sess != nil && sess.Bound() {
			return sess
		}
	}
	return nil
}

func (l *line) up() bool {
	for _, s := range l.tx {
		if s.bound.Load() {
			if sess := s.session(); sess != nil && sess.Bound() {
				return true
			}
		}
	}
	return false
}

// New starts, in the background, SMPP.Binds sessions per carrier (twice that, a
// transmitter and a receiver each, for the transmitter+receiver bind). It never
// waits for a bind: a carrier whose sessions are not bound yet counts as down.
// Sessions that fail to bind are retried with backoff until Close.
func New(ctx context.Context, cfg *carrier.Config, ev Events, log *slog.Logger, opts ...Option) (*Gateway, error) {
	if cfg == nil || len(cfg.Carriers) == 0 {
		return nil, errs.E(errs.Invalid, "smsgw: no carriers configured")
	}
	if ev == nil {
		return nil, errs.E(errs.Invalid, "smsgw: Events is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg: cfg, ev: ev, log: log,
		lines:   make(map[string]*line, len(cfg.Carriers)),
		pending: make(map[string]partRef),
		early:   make(map[string]earlyReceipt),

		storeGrace: DefaultPendingGrace,

		timeouts:  make(map[string]time.Duration, len(cfg.Carriers)),
		wake:      make(chan struct{}, 1),
		sweepDone: make(chan struct{}),
		moState: moState{parts: NewMemMOParts(), now: time.Now,
			moTimeouts: make(map[string]time.Duration, len(cfg.Carriers)), moWake: make(chan struct{}, 1)},
	}
	for _, o := range opts {
		o(g)
	}
	// The sessions outlive New's ctx: they end with Close.
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, cr := range cfg.Carriers {
		g.moTimeouts[cr.Name] = cr.MOPartTimeout()
	}
	g.wg.Add(2)
	go g.sweep()
	go g.sweepMO()
	for _, cr := range cfg.Carriers {
		g.timeouts[cr.Name] = cr.ReceiptTimeout()
		l := &line{name: cr.Name}
		g.lines[cr.Name] = l
		h := &handler{g: g, carrier: cr.Name}
		for range cr.SMPP.Binds {
			if cr.SMPP.Bind == carrier.BindTransmitterAndReceiver {
				tx, rx := &slot{}, &slot{}
				l.tx, l.rx = append(l.tx, tx), append(l.rx, rx)
				g.dial(cr, client.Transmitter, nil, tx)
				g.dial(cr, client.Receiver, h, rx)
				continue
			}
			s := &slot{}
			l.tx = append(l.tx, s)
			g.dial(cr, client.Transceiver, h, s)
		}
	}
	return g, nil
}

// dial binds one session in the background, retrying until it binds or Close.
func (g *Gateway) dial(cr carrier.Carrier, bind client.BindType, h client.Handler, s *slot) {
	log := g.log.With("carrier", cr.Name, "bind", bind.String())
	ccfg := client.Config{
		Addr: cr.SMPP.Address, SystemID: cr.SMPP.SystemID, Password: cr.SMPP.Password,
		SystemType: cr.SMPP.SystemType, Bind: bind, Window: cr.SMPP.Window,
		Throughput: cr.SMPP.Throughput, EnquireLink: cr.KeepAlive(),
		RebindMin: rebindMin, RebindMax: rebindMax,
		PackedGSM7: cr.SMPP.MOPackedGSM7,
		Logger:     log,
		// Called from the session's goroutine: only records the state.
		OnState: s.bound.Store,
	}
	var hh client.Handler
	if h != nil {
		hh = h
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		wait := dialMin
		for attempt := 1; ; attempt++ {
			sess, err := client.Dial(g.ctx, ccfg, hh)
			if err == nil {
				s.mu.Lock()
				s.sess = sess
				s.mu.Unlock()
				if g.ctx.Err() != nil { // Close ran meanwhile and did not see it
					_ = sess.Close(context.Background())
				}
				return
			}
			if errs.CodeOf(err) == errs.Invalid {
				log.Error("smsgw: carrier session config invalid; not binding", "err", err)
				return
			}
			log.Warn("smsgw: bind failed; carrier down until it binds", "attempt", attempt, "err", err)
			t := time.NewTimer(wait/2 + rand.N(wait/2+1))
			select {
			case <-t.C:
			case <-g.ctx.Done():
				t.Stop()
				return
			}
			wait = min(2*wait, dialMax)
		}
	}()
}

// Send submits every part of m on one carrier (see the package documentation for
// failover and retries) and returns once all parts were accepted. Errors are
// *errs.Error: Invalid or TooLarge for a message that cannot be encoded or
// addressed, Unprocessable when no carrier routes To or the SMSC rejected it,
// Unavailable when no carrier could take it, Timeout when the outcome is unknown.
func (g *Gateway) Send(ctx context.Context, m Message) (Sent, error) {
	if _, err := client.Address(m.From); err != nil {
		return Sent{}, errs.Wrap(errs.Invalid, err, "smsgw: from")
	}
	if _, err := client.Address(m.To); err != nil {
		return Sent{}, errs.Wrap(errs.Invalid, err, "smsgw: to")
	}
	enc, err := sms.Encode(m.Text, sms.Options{Reference: byte(g.ref.Add(1)), Flash: m.Flash, Binary: m.Binary})
	if err != nil {
		return Sent{}, err
	}
	reqs := client.Requests(m.From, m.To, enc)
	plan := g.cfg.Plan(m.To)
	if len(plan) == 0 {
		return Sent{}, errs.E(errs.Unprocessable, "smsgw: no carrier routes %s", m.To)
	}
	var downSince time.Time
	var last error
	for {
		if g.ctx.Err() != nil {
			return Sent{}, errs.E(errs.Unavailable, "smsgw: gateway closed")
		}
		for _, cr := range plan {
			l := g.lines[cr.Name]
			if l == nil || !l.up() {
				continue
			}
			t := &tracked{tenant: m.TenantID, msgID: m.MessageID, carrier: cr.Name,
				ids: make([]string, len(reqs)), states: make([]sms.State, len(reqs)), codes: make([]string, len(reqs)),
				complete: make(chan struct{})}
			err := g.sendOn(ctx, l, t, reqs)
			if errors.Is(err, errFailover) {
				g.log.Warn("smsgw: carrier unavailable; failing over", "carrier", cr.Name, "message_id", m.MessageID, "err", errors.Unwrap(err))
				last = err
				continue
			}
			if err != nil {
				return Sent{}, err
			}
			return Sent{Carrier: cr.Name, Parts: len(reqs), SMSCIDs: append([]string(nil), t.ids...), Encoding: enc.Alphabet.String()}, nil
		}
		if downSince.IsZero() {
			downSince = time.Now()
		}
		if time.Since(downSince) >= DownGrace || sleep(ctx, pollEvery) != nil {
			if last != nil {
				return Sent{}, errs.Wrap(errs.Unavailable, last, "smsgw: no carrier for %s took the message", m.To)
			}
			return Sent{}, errs.E(errs.Unavailable, "smsgw: no carrier for %s is bound", m.To)
		}
	}
}

// failover wraps why a carrier took no part of a message.
type failover struct{ err error }

func (f *failover) Error() string { return "carrier down: " + f.err.Error() }
func (f *failover) Unwrap() error { return f.err }
func (f *failover) Is(target error) bool {
	return target == errFailover
}

var errFailover = errors.New("smsgw: fail over")

// sendOn submits every part on carrier l. It returns a *failover when no part was
// accepted and the next carrier should be tried, nil when every part was accepted.
func (g *Gateway) sendOn(ctx context.Context, l *line, t *tracked, reqs []client.SubmitRequest) error {
	rateTries := 0
	for i := 0; i < len(reqs); {
		sess := l.pick()
		if sess == nil {
			if i == 0 {
				return &failover{errs.E(errs.Unavailable, "no bound session")}
			}
			if err := g.waitCtx(ctx); err != nil {
				return g.partial(t, i, errs.Wrap(errs.Unavailable, err, "waiting for %s to rebind", l.name))
			}
			continue
		}
		res, err := sess.Submit(ctx, reqs[i])
		if err == nil {
			g.accept(t, i, res.ID)
			i++
			rateTries = 0
			continue
		}
		switch errs.CodeOf(err) {
		case errs.RateLimited:
			rateTries++
			if i == 0 && rateTries > maxRateRetries {
				return &failover{err}
			}
			if werr := sleep(ctx, ratePause); werr != nil {
				return g.partial(t, i, err)
			}
		case errs.Unavailable:
			if i == 0 {
				return &failover{err}
			}
			if werr := g.waitCtx(ctx); werr != nil {
				return g.partial(t, i, err)
			}
		default: // Unprocessable, Invalid: permanent; Timeout: unknown
			return g.partial(t, i, err)
		}
	}
	return g.finishSend(ctx, t)
}

// waitCtx pauses before a retry on the same carrier.
func (g *Gateway) waitCtx(ctx context.Context) error {
	if g.ctx.Err() != nil {
		return errors.New("gateway closed")
	}
	return sleep(ctx, pollEvery)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close unbinds every session, stops binding and stops the receipt-deadline
// sweeper. Sends in flight end with errs.Unavailable. Pending receipts are
// forgotten, except those in the WithPending store.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
	var all []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, l := range g.lines {
		for _, s := range append(append([]*slot(nil), l.tx...), l.rx...) {
			sess := s.session()
			if sess == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Close makes the session's last OnState call, false.
				if err := sess.Close(ctx); err != nil {
					emu.Lock()
					all = append(all, fmt.Errorf("smsgw: close %s: %w", l.name, err))
					emu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return errors.Join(all...)
}
