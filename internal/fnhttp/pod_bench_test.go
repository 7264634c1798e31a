package fnhttp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/functions/deadletter"
	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/functions/messagerecord"
	"github.com/catalyst-cpaas/catalyst/functions/smssend"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// podCase is one function BenchmarkPod drives.
type podCase struct {
	def fn.Definition
	typ string
	ext map[string]string
	// events, when set, builds the i-th event (before the clock starts) instead of
	// a plain event of typ.
	events func(b *testing.B, i int) event.Event
	// setup, when set, builds the function's dependencies and its events together
	// (the billing functions need the engine their events were priced by).
	setup func(b *testing.B) (fn.Deps, func(b *testing.B, i int) event.Event)
}

// BenchmarkPod measures one function pod's capacity as config/scaling.yaml's
// perPodTPS means it: the real Server (what `catalyst function NAME` runs) on a
// loopback port, driven by 64 keep-alive HTTP clients posting binary-mode events.
// The load generator shares the machine's 2 cores with the pod, so the figure is a
// floor for a pod with 2 cores of its own.
//
//	go test -run '^$' -bench BenchmarkPod -benchtime 20000x ./internal/fnhttp/
func BenchmarkPod(b *testing.B) {
	for _, tc := range []podCase{
		{echo.Definition(), echo.PingType, nil, nil, nil},
		{deadletter.Definition(), "io.catalyst.message.requested", map[string]string{
			"knativeerrorcode": "503", "knativeerrordest": "http://sink", "knativeerrordata": "c2luayBzYXlzIG5v",
		}, nil, nil},
		// Each event creates a message in the in-memory store.
		{messagerecord.Definition(), "", nil, requested, nil},
		// Each event is an SMS submitted over SMPP to a sandbox SMSC (receipts on).
		{smssend.Definition(), "", nil, authorized, nil},
		// Billing: each function on in-memory stores (billingCases).
		billingCase("billing-rate"), billingCase("billing-discount"), billingCase("billing-fees"),
		billingCase("billing-tax"), billingCase("billing-fx"), billingCase("billing-reserve"),
		billingCase("billing-settle"), billingCase("billing-record"), billingCase("billing-thresholds"),
		// Firewall: each phase on in-memory stores over the shipped config (firewallCase).
		firewallCase("firewall-preprocess"), firewallCase("firewall-dpi"), firewallCase("firewall-velocity"), firewallCase("firewall-reputation"),
		firewallCase("firewall-fraud"), firewallCase("firewall-rules"), firewallCase("firewall-decide"), firewallCase("firewall-release"),
	} {
		b.Run(tc.def.Name, func(b *testing.B) {
			// Logs are formatted (to io.Discard) so the dead-letter figure includes its log line.
			db := inmem.New()
			deps := fn.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Messages: db.Messages()}
			if tc.def.Name == smssend.Name {
				deps = smsDeps(b, deps)
			}
			if tc.setup != nil {
				deps, tc.events = tc.setup(b)
			}
			f, err := tc.def.New(deps)
			if err != nil {
				b.Fatal(err)
			}
			if c, ok := f.(interface{ Close() error }); ok {
				defer c.Close()
			}
			reg := prometheus.NewRegistry()
			srv := fnhttp.NewServer("127.0.0.1:0", fnhttp.Options{Name: tc.def.Name, Function: f, Metrics: fnhttp.NewMetrics(reg)}, reg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			defer func() { cancel(); <-done }()
			url := "http://" + srv.Addr() + "/"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var prebuilt []event.Event
			if tc.events != nil {
				prebuilt = make([]event.Event, b.N+1)
				for i := 1; i <= b.N; i++ {
					prebuilt[i] = tc.events(b, i)
				}
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"n":1}`)))
						if prebuilt != nil {
							req, _ = http.NewRequest(http.MethodPost, url, nil)
							if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&prebuilt[i]), req); err != nil {
								b.Error(err)
								return
							}
							goto send
						}
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("ce-specversion", "1.0")
						req.Header.Set("ce-id", fmt.Sprint(i))
						req.Header.Set("ce-type", tc.typ)
						req.Header.Set("ce-source", "/bench")
						for k, v := range tc.ext {
							req.Header.Set("ce-"+k, v)
						}
					send:
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
						resp.Body.Close()
						if resp.StatusCode >= 300 {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer() // the server's drain is not part of the figure
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// authorized builds a valid io.catalyst.billing.authorized for a new SMS.
func authorized(b *testing.B, i int) event.Event {
	req := requested(b, i)
	var m catalog.MessageRequested
	if err := req.DataAs(&m); err != nil {
		b.Fatal(err)
	}
	e, err := catalog.New(catalog.BillingAuthorizedType, "/bench", catalog.BillingAuthorized{
		MessageRef: catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"}, ReservationID: m.MessageID,
		Amount: decimal.RequireFromString("0.015"), Currency: "EUR", Rate: decimal.RequireFromString("0.015"),
		ExpiresAt: time.Now().Add(time.Hour), Message: m,
	}, map[string]string{"tenantid": m.TenantID, "channel": "sms", "messageid": m.MessageID, "partitionkey": m.MessageID})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// requested builds a valid io.catalyst.message.requested for a new message.
func requested(b *testing.B, _ int) event.Event {
	id, _ := uuid.NewV7()
	data := catalog.MessageRequested{MessageID: id.String(), TenantID: "bench", Channel: "sms", To: "+447911123456",
		Content: catalog.Content{Type: "text", Text: "hello"}}
	e, err := catalog.New(catalog.MessageRequestedType, "/bench", data, map[string]string{
		"tenantid": "bench", "channel": "sms", "messageid": data.MessageID, "partitionkey": data.MessageID})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// smsDeps points the SMS connector at a sandbox SMSC over an uncapped copy of the
// repository's carriers, waiting until it is bound.
func smsDeps(b *testing.B, d fn.Deps) fn.Deps {
	srv, err := smsc.New(smsc.Config{Accounts: map[string]string{"catalyst": "secret"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	raw, err := os.ReadFile("../../config/carriers.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	uncapped := strings.Replace(string(raw), "throughput: 500", "throughput: 0", 1)
	if err := os.WriteFile(filepath.Join(dir, "carriers.yaml"), []byte(uncapped), 0o600); err != nil {
		b.Fatal(err)
	}
	d.ConfigDir, d.SandboxSMSC, d.Emitter = dir, srv.Addr(), discardEmitter{}
	return d
}

type discardEmitter struct{}

func (discardEmitter) Emit(context.Context, event.Event) error { return nil }
