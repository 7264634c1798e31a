package fnhttp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	firewallfns "github.com/catalyst-cpaas/catalyst/functions/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// firewallChain is the firewall Sequence's phases in order (firewall-release is not
// part of it).
var firewallChain = []string{"firewall-preprocess", "firewall-dpi", "firewall-velocity", "firewall-reputation",
	"firewall-fraud", "firewall-rules", "firewall-decide"}

// firewallTexts are the SMS bodies the firewall benchmarks cycle through: mostly
// clean traffic, with phishing, prize, premium-rate and obfuscated spam mixed in.
var firewallTexts = []string{
	"Your appointment is confirmed for Tuesday at 10:30. Reply to this message to reschedule.",
	"Your verification code is 482913. It expires in 10 minutes.",
	"Hi Sam, running 10 minutes late, see you at the station.",
	"Your parcel from Acme will be delivered today between 14:00 and 16:00.",
	"Thanks for your order #55821. We will text you when it ships.",
	"Reminder: your dentist check-up is tomorrow at 9am. Call us if you can't make it.",
	"Your table for 4 at Luigi's is booked for Friday 19:30.",
	"Flash sale today only at our store: 20% off all shoes. Reply STOP to opt out.",
	"We noticed unusual activity. Please verify account details at http://secure-login.example.com",
	"Congratulations, you have won! Call now to claim your prize.",
	"URGENT! Your mobile number has been awarded a £2000 bonus caller prize. Call 09058094597 from a landline. Box 97N7QP 150ppm",
	"Please v3rify acc0unt now: http://secure-login.example.com",
	"Your package could not be delivered. Pay the redelivery fee at http://parcel-redeliver.example.net",
	"Invest $250 today and earn 40% weekly guaranteed returns, reply YES",
}

// firewallDestinations spreads messages over countries and number ranges.
func firewallDestination(i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("+4479111%05d", i%100000)
	case 1:
		return fmt.Sprintf("+1202555%04d", i%10000)
	case 2:
		return fmt.Sprintf("+49151%07d", i%10000000)
	default:
		return fmt.Sprintf("+336123%05d", i%100000)
	}
}

// firewallRequest is the i-th message of a firewall benchmark: a new sender every 50
// messages, so the message-bombing rule (over 100 a second from one sender) does not
// throttle the whole run.
func firewallRequest(i int) catalog.MessageRequested {
	return catalog.MessageRequested{MessageID: uuid.NewString(), TenantID: "bench", Channel: "sms",
		From: fmt.Sprintf("Sender%d", i/50), To: firewallDestination(i),
		Content: catalog.Content{Type: "text", Text: firewallTexts[i%len(firewallTexts)]}}
}

// firewallEngine is a firewall engine over the shipped configuration (settings,
// rules, patterns, content model) and in-memory stores.
func firewallEngine(b *testing.B) *screening.Engine {
	const dir = "../../config"
	settings, err := screening.LoadSettings(dir)
	if err != nil {
		b.Fatal(err)
	}
	set, err := rules.Load(filepath.Join(dir, screening.RulesFile))
	if err != nil {
		b.Fatal(err)
	}
	patterns, err := dpi.LoadPatterns(filepath.Join(dir, screening.PatternsFile))
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.Load(filepath.Join(dir, settings.Model.File))
	if err != nil {
		b.Fatal(err)
	}
	db := inmem.New()
	e, err := screening.New(screening.Config{Settings: settings, Rules: screening.StaticRules{Set: set}, Patterns: patterns, Model: m,
		Velocity: velocity.NewMemory(), Reputation: db.FirewallReputation(), Reviews: db.FirewallReviews(), Audit: db.FirewallAudit()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return e
}

// firewallFunctions builds every firewall function over one engine, by name.
func firewallFunctions(b *testing.B, deps fn.Deps) map[string]fn.Function {
	fns := map[string]fn.Function{}
	for _, d := range firewallfns.Definitions() {
		f, err := d.New(deps)
		if err != nil {
			b.Fatal(err)
		}
		if c, ok := f.(interface{ Close() error }); ok {
			b.Cleanup(func() { _ = c.Close() })
		}
		fns[d.Name] = f
	}
	return fns
}

// firewallCase is BenchmarkPod's case for one firewall function: an engine on
// in-memory stores over the shipped config, and events that reach the phase as the
// Sequence would hand them over (the earlier phases run in-process to build each).
func firewallCase(name string) podCase {
	var def fn.Definition
	for _, d := range firewallfns.Definitions() {
		if d.Name == name {
			def = d
		}
	}
	c := podCase{def: def}
	c.setup = func(b *testing.B) (fn.Deps, func(b *testing.B, i int) event.Event) {
		deps := fn.Deps{Logger: slog.New(slog.DiscardHandler), Firewall: firewallEngine(b), Emitter: discardEmitter{}}
		if name == "firewall-release" {
			// It acknowledges whatever it is sent; the sweep is not per event.
			return deps, func(b *testing.B, i int) event.Event {
				m := firewallRequest(i)
				e, err := screening.NewEvent(time.Now(), catalog.MessageScreenedType, m.MessageID+"/screened/decided", catalog.MessageScreened{
					MessageRef: catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"},
					Decision:   catalog.DecisionPass, Phase: "decide", Explanation: "clean", Message: m,
				}, m, catalog.DecisionPass)
				if err != nil {
					b.Fatal(err)
				}
				return *e
			}
		}
		fns := firewallFunctions(b, deps)
		return deps, func(b *testing.B, i int) event.Event {
			m := firewallRequest(i)
			e := benchEvent(b, catalog.MessageRequestedType, m, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"})
			for _, phase := range firewallChain {
				if phase == name {
					return e
				}
				out, err := fns[phase].Handle(context.Background(), e)
				if err != nil || out == nil {
					b.Fatalf("%s: %v %v", phase, out, err)
				}
				e = *out
			}
			b.Fatalf("no firewall phase %s", name)
			return e
		}
	}
	return c
}

// BenchmarkChainHTTP measures the firewall run as the Sequence runs it: seven
// function servers (one per phase) on loopback ports, each message taking seven
// HTTP round trips in order, the reply of one phase being the request of the next
// (binary mode), driven by 64 workers. The load generator and all seven servers
// share the machine's cores.
//
//	go test -run '^$' -bench BenchmarkChainHTTP -benchtime 20000x ./internal/fnhttp/
func BenchmarkChainHTTP(b *testing.B) {
	deps := fn.Deps{Logger: slog.New(slog.DiscardHandler), Firewall: firewallEngine(b), Emitter: discardEmitter{}}
	fns := firewallFunctions(b, deps)
	urls := make([]string, len(firewallChain))
	for i, name := range firewallChain {
		reg := prometheus.NewRegistry()
		srv := fnhttp.NewServer("127.0.0.1:0", fnhttp.Options{Name: name, Function: fns[name], Metrics: fnhttp.NewMetrics(reg)}, reg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		b.Cleanup(func() { cancel(); <-done })
		urls[i] = "http://" + srv.Addr() + "/"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	first := make([]event.Event, b.N+1)
	for i := 1; i <= b.N; i++ {
		m := firewallRequest(i)
		first[i] = benchEvent(b, catalog.MessageRequestedType, m, catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"})
	}
	var next atomic.Int64
	var decisions [4]atomic.Int64 // pass, block, hold, throttle
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				e := &first[i]
				for _, url := range urls {
					var err error
					if e, err = roundTrip(client, url, e); err != nil {
						b.Error(err)
						return
					}
				}
				if e.Type() != catalog.MessageScreenedType {
					b.Errorf("chain ended with %s", e.Type())
					return
				}
				switch e.Extensions()[catalog.ExtDecision] {
				case catalog.DecisionPass:
					decisions[0].Add(1)
				case catalog.DecisionBlock:
					decisions[1].Add(1)
				case catalog.DecisionHold:
					decisions[2].Add(1)
				case catalog.DecisionThrottle:
					decisions[3].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	total := decisions[0].Load() + decisions[1].Load() + decisions[2].Load() + decisions[3].Load()
	if total != int64(b.N) {
		b.Fatalf("%d decisions for %d messages", total, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(100*float64(decisions[0].Load())/float64(b.N), "%pass")
}

// roundTrip posts e to one function server and returns its reply event.
func roundTrip(client *http.Client, url string, e *event.Event) (*event.Event, error) {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		return nil, err
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(e), req); err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: status %d: %s", url, resp.StatusCode, body)
	}
	reply, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpResponse(resp))
	if err != nil {
		return nil, fmt.Errorf("%s: reply: %w", url, err)
	}
	return reply, nil
}
