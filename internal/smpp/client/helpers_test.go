package client

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"

	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

const waitLimit = 10 * time.Second

var accounts = map[string]string{"acme": "secret"}

// startSMSC starts the sandbox SMSC on a free loopback port, closed when the test ends.
func startSMSC(t testing.TB, cfg smsc.Config) *smsc.Server {
	t.Helper()
	if cfg.Accounts == nil {
		cfg.Accounts = accounts
	}
	cfg.Logger = testLogger(t, "smsc")
	srv, err := smsc.New(cfg)
	if err != nil {
		t.Fatalf("smsc.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("smsc Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// testConfig is a Config for addr with fast rebinds and throttle pauses.
func testConfig(addr string) Config {
	return Config{
		Addr: addr, SystemID: "acme", Password: "secret",
		ResponseTimeout: 5 * time.Second,
		RebindMin:       10 * time.Millisecond, RebindMax: 100 * time.Millisecond,
		ThrottlePause: 50 * time.Millisecond,
	}
}

// testLogger logs to stderr when SMPP_DEBUG is set, else discards.
func testLogger(t testing.TB, side string) *slog.Logger {
	if os.Getenv("SMPP_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name(), "side", side)
}

// dial binds a session closed when the test ends.
func dial(t testing.TB, cfg Config, h Handler) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t, "esme")
	}
	s, err := Dial(ctx, cfg, h)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// recorder is a Handler that keeps what it gets; fail makes MO calls fail.
type recorder struct {
	mu       sync.Mutex
	receipts map[string]sms.Receipt
	mos      []MO
	fail     error
}

func newRecorder() *recorder { return &recorder{receipts: make(map[string]sms.Receipt)} }

func (r *recorder) Receipt(_ context.Context, rc sms.Receipt) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.receipts[rc.MessageID] = rc
	return nil
}

func (r *recorder) MO(_ context.Context, m MO) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.mos = append(r.mos, m)
	return nil
}

func (r *recorder) receipt(id string) (sms.Receipt, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc, ok := r.receipts[id]
	return rc, ok
}

func (r *recorder) moList() []MO {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]MO(nil), r.mos...)
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// proxy sits between a session and an SMSC and watches the submit_sm traffic: it
// counts submit_sm sent but not yet answered (per connection) and keeps the maximum,
// can delay every submit_sm_resp, and can rewrite the status of the nth one.
type proxy struct {
	ln        net.Listener
	target    string
	respDelay time.Duration
	status    func(n int) data.CommandStatusType // nth submit_sm_resp, from 1; 0 keeps it

	mu       sync.Mutex
	max      int
	resps    int
	accepted int
	conns    []net.Conn
	wg       sync.WaitGroup
}

func startProxy(t testing.TB, target string, respDelay time.Duration, status func(int) data.CommandStatusType) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, respDelay: respDelay, status: status}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.drop()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) maxOutstanding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// drop closes every proxied connection.
func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.accepted++
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		outstanding := new(int)
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.pipe(client, server, outstanding, true) }()
		go func() { defer p.wg.Done(); p.pipe(server, client, outstanding, false) }()
	}
}

func (p *proxy) pipe(from, to net.Conn, outstanding *int, up bool) {
	defer func() { _ = from.Close(); _ = to.Close() }()
	for {
		f, err := readFrame(from)
		if err != nil {
			return
		}
		switch {
		case up && f.header.CommandID == data.SUBMIT_SM:
			p.mu.Lock()
			*outstanding++
			p.max = max(p.max, *outstanding)
			p.mu.Unlock()
		case !up && f.header.CommandID == data.SUBMIT_SM_RESP:
			time.Sleep(p.respDelay)
			p.mu.Lock()
			*outstanding--
			p.resps++
			n := p.resps
			p.mu.Unlock()
			if p.status != nil {
				if st := p.status(n); st != data.ESME_ROK {
					f.header.CommandStatus = st
				}
			}
		}
		if _, err := to.Write(encodeFrame(f)); err != nil {
			return
		}
	}
}

func encodeFrame(f frame) []byte {
	b := make([]byte, 16, 16+len(f.body))
	binary.BigEndian.PutUint32(b, uint32(16+len(f.body)))
	binary.BigEndian.PutUint32(b[4:], uint32(f.header.CommandID))
	binary.BigEndian.PutUint32(b[8:], uint32(f.header.CommandStatus))
	binary.BigEndian.PutUint32(b[12:], uint32(f.header.SequenceNumber))
	return append(b, f.body...)
}

// submitRetrying resubmits on RateLimited and Unavailable, as a connector would.
func submitRetrying(ctx context.Context, s *Session, r SubmitRequest) (SubmitResult, int, error) {
	retries := 0
	for {
		res, err := s.Submit(ctx, r)
		if err == nil || ctx.Err() != nil {
			return res, retries, err
		}
		var se *StatusError
		if !errors.As(err, &se) || (se.Status != data.ESME_RTHROTTLED && se.Status != data.ESME_RMSGQFUL) {
			return res, retries, err
		}
		retries++
	}
}
