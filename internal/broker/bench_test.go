package broker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// Benchmarks of the broker plane on an embedded Kafka. Each reports events/s; compare
// the pipeline with the raw Kafka ceiling measured in the same run:
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/broker/
const benchClients = 64

const echoTrigger = `
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: echo-ping
spec:
  broker: default
  filters:
    - exact: {type: io.catalyst.diagnostics.ping}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: echo}
`

// postPings posts n pings to url from benchClients concurrent HTTP clients (binary
// mode, keep-alive), failing the benchmark on any status but 202.
func postPings(b *testing.B, url string, n int) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"n":1}`)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+testenv.PlatformToken)
				req.Header.Set("ce-specversion", "1.0")
				req.Header.Set("ce-id", fmt.Sprintf("ping-%d", i))
				req.Header.Set("ce-type", echo.PingType)
				req.Header.Set("ce-source", "/bench")
				req.Header.Set("ce-tenantid", "bench")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("ingress answered %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// countRecords consumes topic from the start and returns once want records whose
// ce_type header is typ have been seen.
func countRecords(b *testing.B, seeds []string, topic, typ string, want int) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seen := 0
	for seen < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("saw %d of %d %s records", seen, want, typ)
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "ce_type" && string(h.Value) == typ {
					seen++
				}
			}
		})
	}
}

// BenchmarkPipeline: HTTP ingress → Kafka → the echo-ping trigger → the echo
// function in-process → its reply produced back into the broker topic. The clock
// stops when the last pong is in Kafka.
func BenchmarkPipeline(b *testing.B) {
	h := startRuntime(b, echoTrigger)
	topic := BrokerTopic(keyOf("catalyst", "default"))
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); countRecords(b, h.rt.kafka.Seeds(), topic, echo.PongType, b.N) }()
	postPings(b, h.ingress.URL+"/catalyst/default", b.N)
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkIngress: HTTP ingress → Kafka only (no trigger).
func BenchmarkIngress(b *testing.B) {
	h := startRuntime(b, "")
	b.ResetTimer()
	start := time.Now()
	postPings(b, h.ingress.URL+"/catalyst/default", b.N)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkKafkaCeiling is the raw ceiling for the pipeline: the same number of
// records of the same size produced synchronously by benchClients goroutines to an
// embedded Kafka topic of the same partition count, and consumed back, with no HTTP,
// CloudEvents decoding or dispatch.
func BenchmarkKafkaCeiling(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(10, "ceiling"))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer producer.Close()
	e := testenv.NewEvent("x", echo.PingType, map[string]string{"tenantid": "bench"})
	template, err := toRecord("ceiling", &e)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); countRecords(b, cluster.ListenAddrs(), "ceiling", echo.PingType, b.N) }()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				r := *template
				r.Key = []byte(fmt.Sprint(next.Load()))
				if err := producer.ProduceSync(context.Background(), &r).FirstErr(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
