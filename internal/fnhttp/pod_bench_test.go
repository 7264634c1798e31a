package fnhttp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/functions/deadletter"
	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
)

// BenchmarkPod measures one function pod's capacity as config/scaling.yaml's
// perPodTPS means it: the real Server (what `catalyst function NAME` runs) on a
// loopback port, driven by 64 keep-alive HTTP clients posting binary-mode events.
// The load generator shares the machine's 2 cores with the pod, so the figure is a
// floor for a pod with 2 cores of its own.
//
//	go test -run '^$' -bench BenchmarkPod -benchtime 20000x ./internal/fnhttp/
func BenchmarkPod(b *testing.B) {
	for _, tc := range []struct {
		def fn.Definition
		typ string
		ext map[string]string
	}{
		{echo.Definition(), echo.PingType, nil},
		{deadletter.Definition(), "io.catalyst.message.requested", map[string]string{
			"knativeerrorcode": "503", "knativeerrordest": "http://sink", "knativeerrordata": "c2luayBzYXlzIG5v",
		}},
	} {
		b.Run(tc.def.Name, func(b *testing.B) {
			// Logs are formatted (to io.Discard) so the dead-letter figure includes its log line.
			f, err := tc.def.New(fn.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			srv := fnhttp.NewServer("127.0.0.1:0", fnhttp.Options{Name: tc.def.Name, Function: f, Metrics: fnhttp.NewMetrics(reg)}, reg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			defer func() { cancel(); <-done }()
			url := "http://" + srv.Addr() + "/"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"n":1}`)))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("ce-specversion", "1.0")
						req.Header.Set("ce-id", fmt.Sprint(i))
						req.Header.Set("ce-type", tc.typ)
						req.Header.Set("ce-source", "/bench")
						for k, v := range tc.ext {
							req.Header.Set("ce-"+k, v)
						}
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
