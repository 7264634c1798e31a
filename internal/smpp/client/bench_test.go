package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

type discard struct{}

func (discard) Receipt(context.Context, sms.Receipt) error { return nil }
func (discard) MO(context.Context, MO) error               { return nil }

// BenchmarkSubmit measures one session against the sandbox SMSC over loopback, with
// as many submitting goroutines as the window (receipts flow back meanwhile).
func BenchmarkSubmit(b *testing.B) {
	for _, window := range []int{1, 64} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			srv := startSMSC(b, smsc.Config{})
			cfg := testConfig(srv.Addr())
			cfg.Window = window
			s := dial(b, cfg, discard{})
			req := SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("Hello from the benchmark")}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range window {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := s.Submit(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submit_sm/s")
		})
	}
}
