package smsgw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/client"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

const waitLimit = 10 * time.Second

func TestMain(m *testing.M) {
	dialMin, dialMax = 20*time.Millisecond, 200*time.Millisecond
	rebindMin, rebindMax = 10*time.Millisecond, 100*time.Millisecond
	DownGrace = 2 * time.Second
	ratePause = 20 * time.Millisecond
	timeoutRetry = 100 * time.Millisecond
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	if os.Getenv("SMPP_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// recorder is an Events that remembers everything.
type recorder struct {
	mu        sync.Mutex
	delivered []Outcome
	failed    []Outcome
	inbound   []Inbound
	carriers  []string
	changed   chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Delivered(_ context.Context, o Outcome) error {
	r.mu.Lock()
	r.delivered = append(r.delivered, o)
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *recorder) Failed(_ context.Context, o Outcome) error {
	r.mu.Lock()
	r.failed = append(r.failed, o)
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *recorder) Inbound(_ context.Context, m Inbound, carrier string) error {
	r.mu.Lock()
	r.inbound = append(r.inbound, m)
	r.carriers = append(r.carriers, carrier)
	r.mu.Unlock()
	r.poke()
	return nil
}

// waitFor polls cond until it holds or waitLimit passes.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func startSMSC(t *testing.T, cfg smsc.Config) *smsc.Server {
	t.Helper()
	if cfg.Accounts == nil {
		cfg.Accounts = map[string]string{"acme": "secret"}
	}
	srv, err := smsc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

type carrierSpec struct {
	name, addr string
	priority   int
	binds      int
	bind       string // default transceiver
	// receiptTimeout overrides smpp.receipt_timeout after Parse (which allows 1s at
	// least), such as "300ms"; empty keeps the default.
	receiptTimeout string
	packedGSM7     bool // smpp.mo_packed_gsm7
}

func gateway(t *testing.T, ev Events, specs ...carrierSpec) *Gateway {
	t.Helper()
	return gatewayWith(t, ev, nil, specs...)
}

func gatewayWith(t *testing.T, ev Events, opts []Option, specs ...carrierSpec) *Gateway {
	t.Helper()
	var b strings.Builder
	b.WriteString("carriers:\n")
	for _, s := range specs {
		if s.binds == 0 {
			s.binds = 1
		}
		if s.bind == "" {
			s.bind = carrier.BindTransceiver
		}
		fmt.Fprintf(&b, "  - {name: %s, priority: %d, smpp: {address: %q, system_id: acme, password: secret, bind: %s, binds: %d, enquire_link: 1s}, routes: [\"*\"]}\n",
			s.name, s.priority, s.addr, s.bind, s.binds)
	}
	cfg, err := carrier.Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		if s.receiptTimeout != "" {
			cfg.Carriers[i].SMPP.ReceiptTimeout = s.receiptTimeout
		}
		cfg.Carriers[i].SMPP.MOPackedGSM7 = s.packedGSM7
	}
	g, err := New(context.Background(), cfg, ev, testLogger(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

// waitUp waits until carrier name has a bound session.
func waitUp(t *testing.T, g *Gateway, name string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !g.lines[name].up() {
		if time.Now().After(deadline) {
			t.Fatalf("carrier %s never bound", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func send(t *testing.T, g *Gateway, m Message) (Sent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return g.Send(ctx, m)
}

func msg(id, text string) Message {
	return Message{TenantID: "t1", MessageID: id, From: "Catalyst", To: "+447700900123", Text: text}
}

// deadAddr is a loopback address with nothing listening: port 1, which the
// tests' own listeners (port 0) can never be given, unlike a closed ephemeral port.
func deadAddr(t *testing.T) string {
	t.Helper()
	const addr = "127.0.0.1:1"
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Skipf("something listens on %s", addr)
	}
	return addr
}

func TestDeliveredOnceWithEverySMSCID(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 20 * time.Millisecond})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, binds: 2})
	waitUp(t, g, "sandbox")

	one, err := send(t, g, msg("m1", "hello"))
	if err != nil {
		t.Fatalf("Send 1 part: %v", err)
	}
	three, err := send(t, g, msg("m3", strings.Repeat("abcdefghij", 40))) // 400 GSM-7 chars: 3 parts
	if err != nil {
		t.Fatalf("Send 3 parts: %v", err)
	}
	if one.Parts != 1 || len(one.SMSCIDs) != 1 || three.Parts != 3 || len(three.SMSCIDs) != 3 || one.Encoding != "GSM-7" || one.Carrier != "sandbox" {
		t.Fatalf("Sent %+v / %+v", one, three)
	}
	ev.waitFor(t, "two Delivered", func() bool { return len(ev.delivered) == 2 })
	time.Sleep(100 * time.Millisecond) // no duplicates afterwards
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.delivered) != 2 || len(ev.failed) != 0 {
		t.Fatalf("delivered %d failed %d", len(ev.delivered), len(ev.failed))
	}
	byID := map[string]Outcome{}
	for _, o := range ev.delivered {
		byID[o.MessageID] = o
	}
	for id, s := range map[string]Sent{"m1": one, "m3": three} {
		o := byID[id]
		if o.TenantID != "t1" || o.Carrier != "sandbox" || o.Parts != s.Parts || o.State != sms.StateDelivered ||
			strings.Join(o.SMSCIDs, ",") != strings.Join(s.SMSCIDs, ",") {
			t.Errorf("%s: outcome %+v, sent %+v", id, o, s)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || !msgs[1].Complete || msgs[1].Text != strings.Repeat("abcdefghij", 40) {
		t.Errorf("SMSC got %+v", msgs)
	}
}

func TestReceiptBeforeSubmitResponseStillMatches(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{}) // receipt right after the submit_sm_resp
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1})
	waitUp(t, g, "sandbox")
	for i := range 20 {
		if _, err := send(t, g, msg(fmt.Sprint("m", i), strings.Repeat("x", 200))); err != nil {
			t.Fatal(err)
		}
	}
	ev.waitFor(t, "20 Delivered", func() bool { return len(ev.delivered) == 20 })
}

func TestUndeliveredPartFails(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{Outcomes: smsc.Mix{Undelivered: 1}})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1})
	waitUp(t, g, "sandbox")
	s, err := send(t, g, msg("m1", strings.Repeat("y", 300)))
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "Failed", func() bool { return len(ev.failed) == 1 })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	o := ev.failed[0]
	if len(ev.delivered) != 0 || o.State != sms.StateUndeliverable || o.ErrorCode != "001" || o.MessageID != "m1" ||
		strings.Join(o.SMSCIDs, ",") != strings.Join(s.SMSCIDs, ",") {
		t.Errorf("failed %+v, delivered %d", o, len(ev.delivered))
	}
}

func TestFailsOverFromADownCarrier(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	start := time.Now()
	g := gateway(t, ev,
		carrierSpec{name: "down", addr: deadAddr(t), priority: 1},
		carrierSpec{name: "up", addr: srv.Addr(), priority: 2})
	if d := time.Since(start); d > time.Second {
		t.Errorf("New blocked %v on a down carrier", d)
	}
	waitUp(t, g, "up")
	for i := range 3 {
		s, err := send(t, g, msg(fmt.Sprint("m", i), "via the second"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Carrier != "up" {
			t.Errorf("sent via %s", s.Carrier)
		}
	}
	ev.waitFor(t, "3 Delivered", func() bool { return len(ev.delivered) == 3 })
}

func TestAllCarriersDownIsUnavailable(t *testing.T) {
	t.Parallel()
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "down", addr: deadAddr(t), priority: 1})
	start := time.Now()
	_, err := send(t, g, msg("m1", "nobody"))
	if errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("Send: %v", err)
	}
	if d := time.Since(start); d < DownGrace || d > DownGrace+time.Second {
		t.Errorf("gave up after %v, want about %v", d, DownGrace)
	}
}

func TestDroppedConnectionsRebindAndSendsContinue(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ReceiptDelay: 10 * time.Millisecond})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, binds: 2})
	waitUp(t, g, "sandbox")

	const workers, each = 4, 25
	type result struct {
		s   Sent
		err error
	}
	results := make(chan result, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				text := "short"
				if i%3 == 0 {
					text = strings.Repeat("z", 320) // 3 parts
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				s, err := g.Send(ctx, msg(fmt.Sprintf("w%d-%d", w, i), text))
				cancel()
				results <- result{s, err}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	srv.DropConnections()
	time.Sleep(150 * time.Millisecond)
	srv.DropConnections()
	wg.Wait()
	close(results)
	ok, failed := 0, 0
	for r := range results {
		if r.err != nil {
			failed++
			t.Logf("send failed: %v", r.err)
			continue
		}
		ok++
	}
	if ok+failed != workers*each {
		t.Fatalf("%d results for %d sends", ok+failed, workers*each)
	}
	if ok < workers*each/2 {
		t.Errorf("only %d of %d sends succeeded", ok, workers*each)
	}
	// After the rebind, sending works.
	waitUp(t, g, "sandbox")
	if _, err := send(t, g, msg("after", "after the rebind")); err != nil {
		t.Fatalf("send after rebind: %v", err)
	}
	ok++
	ev.waitFor(t, fmt.Sprintf("%d outcomes", ok), func() bool { return len(ev.delivered)+len(ev.failed) >= ok })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.failed) != 0 || len(ev.delivered) != ok {
		t.Errorf("delivered %d failed %d, want %d delivered", len(ev.delivered), len(ev.failed), ok)
	}
}

func TestThrottledSendIsRetried(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1})
	waitUp(t, g, "sandbox")
	srv.Throttle(2)
	s, err := send(t, g, msg("m1", strings.Repeat("q", 200)))
	if err != nil || s.Parts != 2 {
		t.Fatalf("Send: %+v %v", s, err)
	}
	ev.waitFor(t, "Delivered", func() bool { return len(ev.delivered) == 1 })
}

// rejectingSMSC binds anyone and answers every submit_sm with ESME_RINVDSTADR.
func rejectingSMSC(t *testing.T) string {
	return fakeSMSC(t, func(int) (data.CommandStatusType, bool) { return data.ESME_RINVDSTADR, false })
}

// fakeSMSC binds anyone and answers the nth submit_sm (from 1, over every
// connection) as onSubmit says: with a status, or by dropping the connection.
func fakeSMSC(t *testing.T, onSubmit func(n int) (st data.CommandStatusType, drop bool)) string {
	t.Helper()
	var mu sync.Mutex
	n, ids := 0, 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go func() { <-t.Context().Done(); _ = c.Close() }()
				for {
					p, err := pdu.Parse(c)
					if err != nil {
						return
					}
					var resp pdu.PDU
					switch p := p.(type) {
					case *pdu.BindRequest:
						resp = p.GetResponse()
					case *pdu.SubmitSM:
						mu.Lock()
						n++
						st, drop := onSubmit(n)
						ids++
						id := fmt.Sprintf("%x", 0xF000+ids)
						mu.Unlock()
						if drop {
							return
						}
						r := p.GetResponse().(*pdu.SubmitSMResp)
						r.CommandStatus = st
						if st == data.ESME_ROK {
							r.MessageID = id
						}
						resp = r
					case *pdu.EnquireLink, *pdu.Unbind:
						resp = p.GetResponse()
					default:
						continue
					}
					buf := pdu.NewBuffer(nil)
					resp.Marshal(buf)
					if _, err := c.Write(buf.Bytes()); err != nil {
						return
					}
					if _, ok := p.(*pdu.Unbind); ok {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestUnprocessableDoesNotFailOver(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	g := gateway(t, ev,
		carrierSpec{name: "rejects", addr: rejectingSMSC(t), priority: 1},
		carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 2})
	waitUp(t, g, "rejects")
	waitUp(t, g, "sandbox")
	_, err := send(t, g, msg("m1", "to a bad number"))
	var se *client.StatusError
	if errs.CodeOf(err) != errs.Unprocessable || !errors.As(err, &se) || se.Status != data.ESME_RINVDSTADR {
		t.Fatalf("Send: %v", err)
	}
	// An address the client refuses is Invalid before any carrier is tried.
	m := msg("m2", "national number")
	m.To = "07700900123"
	if _, err := send(t, g, m); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("Send to %s: %v", m.To, err)
	}
	if n := len(srv.Submitted()); n != 0 {
		t.Errorf("failed over: the second carrier got %d submit_sm", n)
	}
}

func TestMOReachesInbound(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1})
	waitUp(t, g, "sandbox")
	if err := srv.InjectMO("acme", "+447700900999", "+447700900000", "STOP"); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "Inbound", func() bool { return len(ev.inbound) == 1 })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if m := ev.inbound[0]; m.Text != "STOP" || m.From != "+447700900999" || ev.carriers[0] != "sandbox" {
		t.Errorf("inbound %+v via %s", m, ev.carriers[0])
	}
}

func TestUnknownReceiptIsAcknowledged(t *testing.T) {
	t.Parallel()
	g := &Gateway{log: slog.New(slog.NewTextHandler(io.Discard, nil)), pending: map[string]partRef{}, early: map[string]earlyReceipt{}}
	h := &handler{g: g, carrier: "x"}
	if err := h.Receipt(context.Background(), sms.Receipt{MessageID: "abc", State: sms.StateDelivered, Final: true}); err != nil {
		t.Fatal(err)
	}
	if len(g.early) != 1 {
		t.Errorf("early receipts %d", len(g.early))
	}
}

func TestTransmitterAndReceiverBinds(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	g := gateway(t, ev, carrierSpec{name: "split", addr: srv.Addr(), priority: 1, binds: 2, bind: carrier.BindTransmitterAndReceiver})
	waitUp(t, g, "split")
	if len(g.lines["split"].tx) != 2 || len(g.lines["split"].rx) != 2 {
		t.Fatalf("sessions tx %d rx %d", len(g.lines["split"].tx), len(g.lines["split"].rx))
	}
	if _, err := send(t, g, msg("m1", "split binds")); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "Delivered", func() bool { return len(ev.delivered) == 1 })
	deadline := time.Now().Add(waitLimit)
	for { // the receivers bind in the background
		err := srv.InjectMO("acme", "+447700900999", "+447700900000", "hi")
		if err == nil {
			break
		}
		if !errors.Is(err, smsc.ErrNoReceiver) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ev.waitFor(t, "Inbound", func() bool { return len(ev.inbound) == 1 })
}

// flaky fails its first Delivered call.
type flaky struct {
	*recorder
	calls int
}

func (f *flaky) Delivered(ctx context.Context, o Outcome) error {
	f.calls++
	if f.calls == 1 {
		return errors.New("broker down")
	}
	return f.recorder.Delivered(ctx, o)
}

func TestFailedEventKeepsTheReceiptForItsResend(t *testing.T) {
	t.Parallel()
	ev := &flaky{recorder: newRecorder()}
	g := &Gateway{ev: ev, log: slog.New(slog.DiscardHandler), pending: map[string]partRef{}, early: map[string]earlyReceipt{}}
	tr := &tracked{msgID: "m1", carrier: "x", ids: make([]string, 2), states: make([]sms.State, 2), codes: make([]string, 2)}
	g.accept(tr, 0, "a")
	g.accept(tr, 1, "b")
	if err := g.finishSend(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	h := &handler{g: g, carrier: "x"}
	ctx := context.Background()
	ok := sms.Receipt{State: sms.StateDelivered, Final: true}
	if err := h.Receipt(ctx, sms.Receipt{MessageID: "a", State: sms.StateEnroute}); err != nil {
		t.Fatal(err)
	}
	ok.MessageID = "a"
	if err := h.Receipt(ctx, ok); err != nil {
		t.Fatal(err)
	}
	ok.MessageID = "b"
	if err := h.Receipt(ctx, ok); err == nil {
		t.Fatal("a failed event was acknowledged")
	}
	if err := h.Receipt(ctx, ok); err != nil { // the SMSC's resend
		t.Fatal(err)
	}
	if err := h.Receipt(ctx, ok); err != nil { // a duplicate: unknown now, acknowledged
		t.Fatal(err)
	}
	if len(ev.delivered) != 1 || strings.Join(ev.delivered[0].SMSCIDs, ",") != "a,b" || len(g.pending) != 0 {
		t.Errorf("delivered %+v, pending %d", ev.delivered, len(g.pending))
	}
}

func TestCarrierLostMidMessageResubmitsTheRestOnIt(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	ev := newRecorder()
	addr := fakeSMSC(t, func(n int) (data.CommandStatusType, bool) { return data.ESME_ROK, n == 2 })
	g := gateway(t, ev,
		carrierSpec{name: "flaky", addr: addr, priority: 1},
		carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 2})
	waitUp(t, g, "flaky")
	waitUp(t, g, "sandbox")
	s, err := send(t, g, msg("m1", strings.Repeat("p", 400)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Carrier != "flaky" || s.Parts != 3 || len(s.SMSCIDs) != 3 || s.SMSCIDs[1] == "" || s.SMSCIDs[2] == "" {
		t.Errorf("Sent %+v", s)
	}
	if n := len(srv.Submitted()); n != 0 {
		t.Errorf("a part went to the second carrier: %d submit_sm", n)
	}
}

func TestReceiptOvertakingItsSubmitResponse(t *testing.T) {
	t.Parallel()
	ev := newRecorder()
	g := &Gateway{ev: ev, log: slog.New(slog.DiscardHandler), pending: map[string]partRef{}, early: map[string]earlyReceipt{}}
	h := &handler{g: g, carrier: "x"}
	if err := h.Receipt(context.Background(), sms.Receipt{MessageID: "a", State: sms.StateExpired, ErrorCode: "042", Final: true}); err != nil {
		t.Fatal(err)
	}
	tr := &tracked{msgID: "m1", carrier: "x", ids: make([]string, 1), states: make([]sms.State, 1), codes: make([]string, 1)}
	g.ctx = context.Background()
	g.accept(tr, 0, "a")
	if err := g.finishSend(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	if len(ev.failed) != 1 || ev.failed[0].State != sms.StateExpired || ev.failed[0].ErrorCode != "042" || len(g.early) != 0 {
		t.Errorf("failed %+v early %d", ev.failed, len(g.early))
	}
}
