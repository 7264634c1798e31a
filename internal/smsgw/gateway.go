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
// there, and the sweeper takes deadlines from it (NextDeadline, Expire), so a
// gateway started after a crash completes what an earlier one sent. Parts of a
// message still being sent stay in memory until its last part is accepted. When
// Events fails for an outcome the store produced, the entry is added back (the
// receipt's part not final again, or the deadline timeoutRetry later); a crash
// between the two loses that outcome.
//
// Bind state. Each session reports its binds and losses through
// client.Config.OnState, which the gateway records per session; picking a
// session also asks client.Session.Bound, so that one whose connection was just
// lost is skipped before its callback has run.
package smsgw

import (
	"container/heap"
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
	Inbound(ctx context.Context, m client.MO, carrier string) error
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

	timeouts  map[string]time.Duration // carrier → receipt_timeout
	wake      chan struct{}            // a deadline earlier than the sweeper's timer was queued
	sweepDone chan struct{}            // closed when the sweeper returns

	mu      sync.Mutex
	pending map[string]partRef // carrier + "\x00" + SMSC id
	early   map[string]earlyReceipt
	due     deadlines // sent messages awaiting receipts, earliest deadline first
	closed  bool

	store Pending // nil: pending receipts only in memory (pending, due)
}

// Option configures New.
type Option func(*Gateway)

// WithPending keeps sent messages awaiting receipts, and their deadlines, in p
// (see the package documentation); nil keeps them in memory.
func WithPending(p Pending) Option {
	return func(g *Gateway) { g.store = p }
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
}

// deadlines is a container/heap of tracked messages by deadline.
type deadlines []*tracked

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	t := x.(*tracked)
	t.index, t.queued = len(*d), true
	*d = append(*d, t)
}
func (d *deadlines) Pop() any {
	old := *d
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	t.index, t.queued = 0, false
	return t
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

		timeouts:  make(map[string]time.Duration, len(cfg.Carriers)),
		wake:      make(chan struct{}, 1),
		sweepDone: make(chan struct{}),
	}
	for _, o := range opts {
		o(g)
	}
	// The sessions outlive New's ctx: they end with Close.
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.wg.Add(1)
	go g.sweep()
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
		Logger: log,
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
				ids: make([]string, len(reqs)), states: make([]sms.State, len(reqs)), codes: make([]string, len(reqs))}
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
	g.finishSend(t)
	return nil
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

// partial forgets a message of which parts [0, accepted) were accepted and returns
// err (keeping its code) saying so.
func (g *Gateway) partial(t *tracked, accepted int, err error) error {
	g.forget(t)
	if accepted == 0 {
		return err
	}
	code := errs.CodeOf(err)
	if code == "" {
		code = errs.Unavailable
	}
	return errs.Wrap(code, err, "smsgw: %d of %d parts accepted by %s (SMSC ids %v), the rest not sent",
		accepted, len(t.ids), t.carrier, t.ids[:accepted])
}

func key(carrier, id string) string { return carrier + "\x00" + id }

// accept remembers an accepted part and applies a receipt that overtook it.
func (g *Gateway) accept(t *tracked, part int, id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t.ids[part] = id
	k := key(t.carrier, id)
	g.pending[k] = partRef{t: t, part: part}
	if e, ok := g.early[k]; ok {
		delete(g.early, k)
		apply(t, part, e.r)
	}
}

func (g *Gateway) forget(t *tracked) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range t.ids {
		if id != "" {
			delete(g.pending, key(t.carrier, id))
		}
	}
}

// finishSend marks every part accepted; if every receipt is already in, the
// outcome is reported now, else the message's receipt deadline is queued.
func (g *Gateway) finishSend(t *tracked) {
	g.mu.Lock()
	t.sent = true
	timeout, ok := g.timeouts[t.carrier]
	if !ok || timeout <= 0 {
		timeout = carrier.DefaultReceiptTimeout
	}
	t.deadline = time.Now().Add(timeout)
	o, done := g.completeLocked(t)
	if !done {
		if g.store == nil || !g.storeLocked(t) {
			g.queueLocked(t)
		}
	}
	g.mu.Unlock()
	if done {
		if err := g.report(g.ctx, o); err != nil {
			g.log.Error("smsgw: outcome event failed; lost", "message_id", t.msgID, "err", err)
		}
	}
}

// storeLocked moves a sent message to the Pending store and reports whether it
// did; when the store fails, t stays in memory. g.mu is held throughout, so that a
// receipt not found in memory is found in the store.
func (g *Gateway) storeLocked(t *tracked) bool {
	e := PendingEntry{Carrier: t.carrier, TenantID: t.tenant, MessageID: t.msgID,
		SMSCIDs: append([]string(nil), t.ids...), States: append([]sms.State(nil), t.states...),
		Codes: append([]string(nil), t.codes...), Deadline: t.deadline}
	if err := g.store.Add(g.ctx, e); err != nil {
		g.log.Error("smsgw: pending store failed; receipts for this message kept in memory only",
			"carrier", t.carrier, "message_id", t.msgID, "err", err)
		return false
	}
	for _, id := range t.ids {
		delete(g.pending, key(t.carrier, id))
	}
	select { // the sweeper re-reads the store's next deadline
	case g.wake <- struct{}{}:
	default:
	}
	return true
}

// apply records a final receipt for a part; later receipts for it are ignored.
func apply(t *tracked, part int, r sms.Receipt) bool {
	if !r.Final || t.states[part] != 0 {
		return false
	}
	t.states[part], t.codes[part] = r.State, r.ErrorCode
	t.finals++
	return true
}

// completeLocked removes a message whose parts are all accepted and final and
// returns its outcome.
func (g *Gateway) completeLocked(t *tracked) (Outcome, bool) {
	if !t.sent || t.finals < len(t.ids) {
		return Outcome{}, false
	}
	for _, id := range t.ids {
		delete(g.pending, key(t.carrier, id))
	}
	g.unqueueLocked(t)
	o := Outcome{TenantID: t.tenant, MessageID: t.msgID, Carrier: t.carrier, Parts: len(t.ids),
		SMSCIDs: append([]string(nil), t.ids...), State: sms.StateDelivered}
	for i, st := range t.states {
		if st != sms.StateDelivered {
			o.State, o.ErrorCode = st, t.codes[i]
			break
		}
	}
	return o, true
}

func (g *Gateway) report(ctx context.Context, o Outcome) error {
	if o.State == sms.StateDelivered {
		return g.ev.Delivered(ctx, o)
	}
	return g.ev.Failed(ctx, o)
}

// handler is one carrier's client.Handler.
type handler struct {
	g       *Gateway
	carrier string
}

func (h *handler) Receipt(ctx context.Context, r sms.Receipt) error {
	g := h.g
	k := key(h.carrier, r.MessageID)
	g.mu.Lock()
	ref, ok := g.pending[k]
	if !ok && g.store != nil && r.Final {
		g.mu.Unlock()
		done, known, err := g.store.Receipt(ctx, h.carrier, r.MessageID, r.State, r.ErrorCode)
		if err == nil && !known {
			// Look again, holding g.mu: the message may have moved from memory to
			// the store meanwhile (storeLocked holds g.mu), or be accepted later.
			g.mu.Lock()
			if ref, ok = g.pending[k]; !ok {
				done, known, err = g.store.Receipt(ctx, h.carrier, r.MessageID, r.State, r.ErrorCode)
				if err != nil || known {
					g.mu.Unlock()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("smsgw: pending store: %w", err)
		}
		if known {
			return h.reportStored(ctx, done, r.MessageID)
		}
		// !known: g.mu is held again.
	}
	if !ok {
		g.keepEarlyLocked(k, r)
		g.mu.Unlock()
		g.log.Warn("smsgw: receipt for an unknown (or timed-out) SMSC id; acknowledged", "carrier", h.carrier, "smsc_id", r.MessageID, "stat", r.Stat)
		return nil
	}
	if !apply(ref.t, ref.part, r) {
		g.mu.Unlock()
		return nil // intermediate, or a duplicate
	}
	o, done := g.completeLocked(ref.t)
	g.mu.Unlock()
	if !done {
		return nil
	}
	if err := g.report(ctx, o); err != nil {
		// Put it back as it was before this receipt, so the resent receipt completes it.
		g.mu.Lock()
		t := ref.t
		t.states[ref.part], t.codes[ref.part] = 0, ""
		t.finals--
		for i, id := range t.ids {
			g.pending[key(t.carrier, id)] = partRef{t: t, part: i}
		}
		g.queueLocked(t) // with its original deadline
		g.mu.Unlock()
		return fmt.Errorf("smsgw: outcome event for %s: %w", t.msgID, err)
	}
	return nil
}

// reportStored reports a message the store completed (nil: not complete yet). If
// Events fails, the message goes back to the store with part smscID not final, so
// that the resent receipt completes it.
func (h *handler) reportStored(ctx context.Context, done *PendingEntry, smscID string) error {
	if done == nil {
		return nil
	}
	g := h.g
	if err := g.report(ctx, done.Outcome()); err != nil {
		back := done.normalized()
		for i, id := range back.SMSCIDs {
			if id == smscID {
				back.States[i], back.Codes[i] = 0, ""
			}
		}
		if aerr := g.store.Add(context.WithoutCancel(ctx), back); aerr != nil {
			g.log.Error("smsgw: pending store failed putting back a message; its outcome is lost",
				"message_id", done.MessageID, "err", aerr)
		}
		return fmt.Errorf("smsgw: outcome event for %s: %w", done.MessageID, err)
	}
	return nil
}

// keepEarlyLocked keeps a receipt for an id not (yet) known, in case its
// submit_sm_resp is still on its way.
func (g *Gateway) keepEarlyLocked(k string, r sms.Receipt) {
	now := time.Now()
	if len(g.early) >= earlyMax/2 {
		for ek, e := range g.early {
			if now.Sub(e.at) > earlyTTL {
				delete(g.early, ek)
			}
		}
	}
	if len(g.early) < earlyMax {
		g.early[k] = earlyReceipt{r: r, at: now}
	}
}

// queueLocked queues t's receipt deadline (t.deadline) unless it is queued.
func (g *Gateway) queueLocked(t *tracked) {
	if t.queued {
		return
	}
	heap.Push(&g.due, t)
	if t.index == 0 { // the earliest now: the sweeper's timer may be too late
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// unqueueLocked drops t's receipt deadline, if queued.
func (g *Gateway) unqueueLocked(t *tracked) {
	if t.queued {
		heap.Remove(&g.due, t.index)
	}
}

// sweep is the one goroutine that fails messages whose receipt deadline passed.
// It runs until Close.
func (g *Gateway) sweep() {
	defer g.wg.Done()
	defer close(g.sweepDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var expired []*tracked
		wait := time.Duration(-1) // nothing queued
		g.mu.Lock()
		now := time.Now()
		for len(g.due) > 0 {
			t := g.due[0]
			if d := t.deadline.Sub(now); d > 0 {
				wait = d
				break
			}
			heap.Pop(&g.due)
			for _, id := range t.ids {
				delete(g.pending, key(t.carrier, id))
			}
			expired = append(expired, t)
		}
		g.mu.Unlock()
		for _, t := range expired {
			g.expire(t)
		}
		if len(expired) > 0 {
			continue // expire took time: look again before sleeping
		}
		if g.store != nil {
			more, next := g.sweepStore()
			if more {
				continue
			}
			if wait < 0 || next < wait {
				wait = next
			}
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-g.wake:
			timer.Stop()
		case <-g.ctx.Done():
			return
		}
	}
}

// sweepStore fails the store's messages whose deadline passed. more is true when
// it expired some (look again); else next is how long to wait before the next call.
func (g *Gateway) sweepStore() (more bool, next time.Duration) {
	if g.ctx.Err() != nil {
		return false, storePoll
	}
	es, err := g.store.Expire(g.ctx, time.Now(), expireBatch)
	for _, e := range es { // removed even when err is set
		g.expireStored(e)
	}
	if err != nil {
		if g.ctx.Err() == nil {
			g.log.Error("smsgw: pending store: expire failed; retrying", "err", err)
		}
		return false, storeRetry
	}
	if len(es) > 0 {
		return true, 0
	}
	d, ok, err := g.store.NextDeadline(g.ctx)
	switch {
	case err != nil:
		if g.ctx.Err() == nil {
			g.log.Error("smsgw: pending store: next deadline failed; retrying", "err", err)
		}
		return false, storeRetry
	case !ok:
		return false, storePoll
	}
	return false, min(max(time.Until(d), 0), storePoll)
}

// expireStored is expire for a message the store removed: when Events fails, it
// goes back to the store with its deadline timeoutRetry later.
func (g *Gateway) expireStored(e PendingEntry) {
	o := e.Outcome()
	o.State, o.ErrorCode = sms.StateExpired, ReceiptTimeoutCode
	g.log.Warn("smsgw: no final receipt within the carrier's receipt_timeout; message failed",
		"carrier", e.Carrier, "message_id", e.MessageID, "smsc_ids", e.SMSCIDs)
	e.Tries++
	err := g.ev.Failed(g.ctx, o)
	if err == nil {
		return
	}
	if e.Tries >= timeoutTries {
		g.log.Error("smsgw: receipt-timeout event failed; lost", "message_id", e.MessageID, "tries", e.Tries, "err", err)
		return
	}
	g.log.Error("smsgw: receipt-timeout event failed; retrying", "message_id", e.MessageID, "tries", e.Tries, "err", err)
	e.Deadline = time.Now().Add(timeoutRetry)
	if aerr := g.store.Add(context.WithoutCancel(g.ctx), e); aerr != nil {
		g.log.Error("smsgw: pending store failed putting back a timed-out message; lost", "message_id", e.MessageID, "err", aerr)
	}
}

// expire reports a message, already forgotten by the receipt matching, as failed
// by ReceiptTimeoutCode. When Events fails, it is queued again to be reported
// timeoutRetry later, at most timeoutTries times.
func (g *Gateway) expire(t *tracked) {
	if g.ctx.Err() != nil {
		return // closing: pending receipts are forgotten
	}
	o := Outcome{TenantID: t.tenant, MessageID: t.msgID, Carrier: t.carrier, Parts: len(t.ids),
		SMSCIDs: append([]string(nil), t.ids...), State: sms.StateExpired, ErrorCode: ReceiptTimeoutCode}
	g.log.Warn("smsgw: no final receipt within the carrier's receipt_timeout; message failed",
		"carrier", t.carrier, "message_id", t.msgID, "smsc_ids", t.ids, "receipts", t.finals)
	t.tries++
	err := g.ev.Failed(g.ctx, o)
	if err == nil {
		return
	}
	if t.tries >= timeoutTries || g.ctx.Err() != nil {
		g.log.Error("smsgw: receipt-timeout event failed; lost", "message_id", t.msgID, "tries", t.tries, "err", err)
		return
	}
	g.log.Error("smsgw: receipt-timeout event failed; retrying", "message_id", t.msgID, "tries", t.tries, "err", err)
	g.mu.Lock()
	t.deadline = time.Now().Add(timeoutRetry)
	g.queueLocked(t)
	g.mu.Unlock()
}

func (h *handler) MO(ctx context.Context, m client.MO) error {
	return h.g.ev.Inbound(ctx, m, h.carrier)
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
