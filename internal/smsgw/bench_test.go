package smsgw

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// BenchmarkGatewaySend drives one Gateway against the sandbox SMSC (receipts on,
// ReceiptDelay 0, every message delivered) with 64 concurrent senders of 1-part
// GSM-7 messages, for a few session counts and windows (throughput 0: unlimited).
// It reports sms/s (every Send returned: each submit_sm answered) and delivered/s
// (until Events.Delivered was called b.N times).
//
//	go test -run '^$' -bench BenchmarkGatewaySend -benchtime 5000x ./internal/smsgw/
func BenchmarkGatewaySend(b *testing.B) {
	for _, c := range []struct{ sessions, window int }{{1, 1}, {1, 64}, {4, 64}} {
		b.Run(fmt.Sprintf("sessions=%d/window=%d", c.sessions, c.window), func(b *testing.B) {
			benchmarkGatewaySend(b, c.sessions, c.window)
		})
	}
}

// benchEvents counts outcomes; full is closed once delivered reaches want.
type benchEvents struct {
	delivered, failed atomic.Int64
	want              atomic.Int64
	once              sync.Once
	full              chan struct{}
}

func (e *benchEvents) Delivered(context.Context, Outcome) error {
	if n := e.delivered.Add(1); n >= e.want.Load() && e.want.Load() > 0 {
		e.once.Do(func() { close(e.full) })
	}
	return nil
}

func (e *benchEvents) Failed(context.Context, Outcome) error {
	e.failed.Add(1)
	return nil
}

func (e *benchEvents) Inbound(context.Context, Inbound, string) error { return nil }

func benchmarkGatewaySend(b *testing.B, sessions, window int) {
	srv, err := smsc.New(smsc.Config{Accounts: map[string]string{"acme": "secret"}, ReceiptDelay: 0})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Close() }()

	yaml := fmt.Sprintf("carriers:\n  - {name: bench, priority: 1, smpp: {address: %q, system_id: acme, password: secret, binds: %d, window: %d, throughput: 0}, routes: [\"*\"]}\n",
		srv.Addr(), sessions, window)
	cfg, err := carrier.Parse([]byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	ev := &benchEvents{full: make(chan struct{})}
	g, err := New(context.Background(), cfg, ev, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(ctx)
	}()

	text := "hello from the benchmark" // GSM-7, 1 part
	ctx := context.Background()
	// Warm up: Send waits (DownGrace) for the first bind; then give the other
	// sessions, dialled at the same moment, a moment to bind too.
	const warm = 8
	for i := range warm {
		if _, err := g.Send(ctx, Message{TenantID: "t1", MessageID: "warm-" + strconv.Itoa(i), From: "Catalyst", To: "+447700900123", Text: text}); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for ev.delivered.Load() < warm {
		if time.Now().After(deadline) {
			b.Fatal("warm-up messages not delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ev.want.Store(int64(warm + b.N))

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				m := Message{TenantID: "t1", MessageID: "m-" + strconv.FormatInt(i, 10), From: "Catalyst", To: "+447700900123", Text: text}
				sent, err := g.Send(ctx, m)
				if err != nil {
					b.Error(err)
					return
				}
				if sent.Parts != 1 || sent.Encoding != "GSM-7" {
					b.Errorf("sent %d parts in %s, want 1 in GSM-7", sent.Parts, sent.Encoding)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	sentIn := time.Since(start)
	if ev.delivered.Load() >= ev.want.Load() {
		ev.once.Do(func() { close(ev.full) })
	}
	select {
	case <-ev.full:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d delivered (%d failed) within 2 minutes", ev.delivered.Load()-warm, b.N, ev.failed.Load())
	}
	deliveredIn := time.Since(start)
	b.StopTimer()
	if n := ev.failed.Load(); n > 0 {
		b.Fatalf("%d messages failed", n)
	}
	b.ReportMetric(float64(b.N)/sentIn.Seconds(), "sms/s")
	b.ReportMetric(float64(b.N)/deliveredIn.Seconds(), "delivered/s")
}
