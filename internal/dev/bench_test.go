package dev

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/api"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// BenchmarkSendMessage drives the whole platform in one process (catalyst dev, embedded
// Kafka; in-memory stores or PostgreSQL): 64 keep-alive clients POST /api/v1/messages (SMS, text).
// It reports accepted/s (every 202: validated, emitted, stored in Kafka) and
// recorded/s (until the message-record function has recorded every message).
//
//	go test -run '^$' -bench BenchmarkSendMessage -benchtime 20000x ./internal/dev/
func BenchmarkSendMessage(b *testing.B) {
	b.Run("in-memory", func(b *testing.B) { benchmarkSend(b, "") })
	b.Run("postgres", func(b *testing.B) { benchmarkSend(b, testenv.Postgres(b)) })
}

func benchmarkSend(b *testing.B, databaseURL string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1_000_000} // measure the pipeline, not the limiter's policy
	p, err := Start(ctx, Config{RepoDir: "../..", IngressAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", AdminToken: "bench", DatabaseURL: databaseURL,
		Limits: api.Limits{Tenant: unlimited, Destination: unlimited, PrefixDigits: 4}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	api := p.APIURL()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	key := benchTenant(b, client, api)
	before := recorded(b, client, api)
	body := []byte(`{"channel":"sms","to":"+447911123456","content":{"type":"text","text":"hello from the benchmark"}}`)

	b.ResetTimer()
	start := time.Now()
	postAll(b, client, api+"/api/v1/messages", key, body)
	if b.Failed() {
		return // a request failed: the messages will never all be recorded
	}
	acceptedIn := time.Since(start)
	for recorded(b, client, api)-before < float64(b.N) {
		if time.Since(start) > 5*time.Minute {
			b.Fatal("messages not recorded within 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	recordedIn := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/acceptedIn.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/recordedIn.Seconds(), "recorded/s")
}

func benchTenant(b *testing.B, client *http.Client, api string) string {
	req, _ := http.NewRequest(http.MethodPost, api+"/api/v2/tenants", strings.NewReader(`{"name":"bench","email":"bench@example.com","currency":"EUR"}`))
	req.Header.Set("Authorization", "Bearer bench")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var t struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.APIKey == "" {
		b.Fatalf("create tenant: %d %v", resp.StatusCode, err)
	}
	// Billing declines what the balance cannot cover: fund every message of the run.
	req, _ = http.NewRequest(http.MethodPost, api+"/api/v2/balances/"+t.TenantID+"/topup", strings.NewReader(`{"amount":"1000000"}`))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Idempotency-Key", "bench-funds")
	top, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	top.Body.Close()
	if top.StatusCode != http.StatusCreated {
		b.Fatalf("top-up: %d", top.StatusCode)
	}
	return t.APIKey
}

// recorded reads how many events the message-record trigger has delivered.
func recorded(b *testing.B, client *http.Client, api string) float64 {
	resp, err := client.Get(api + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	const series = `catalyst_broker_deliveries_total{result="delivered",subscription="Trigger/catalyst/message-record"} `
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// BenchmarkSMSEndToEnd drives the SMS path of the whole platform in one process
// (in-memory stores, embedded Kafka, the sandbox SMSC with its 1s receipt delay):
// 64 keep-alive clients POST /api/v1/sms/send (1-part text). It reports accepted/s
// (every 202) and delivered/s (API to delivered: until the message-record trigger
// has been delivered requested + sent + delivered for every message). The
// carriers.yaml case uses config/ as is (sandbox: 2 binds × 500 submit_sm/s, so at
// most ~1,000 SMS/s); uncapped uses a copy of config/ with every throughput 0.
//
//	go test -run '^$' -bench BenchmarkSMSEndToEnd -benchtime 5000x ./internal/dev/
func BenchmarkSMSEndToEnd(b *testing.B) {
	b.Run("carriers.yaml", func(b *testing.B) { benchmarkSMSEndToEnd(b, "") })
	b.Run("uncapped", func(b *testing.B) { benchmarkSMSEndToEnd(b, uncappedConfig(b, 0, 0)) })
	for _, c := range []struct{ sessions, window int }{{1, 1}, {1, 64}, {4, 64}} {
		b.Run(fmt.Sprintf("uncapped/sessions=%d/window=%d", c.sessions, c.window), func(b *testing.B) {
			benchmarkSMSEndToEnd(b, uncappedConfig(b, c.sessions, c.window))
		})
	}
}

// uncappedConfig copies every file of ../../config to a temporary directory, with
// every carrier's throughput in carriers.yaml set to 0 (unlimited) and, when
// non-zero, its binds and window replaced.
func uncappedConfig(b *testing.B, sessions, window int) string {
	dir := b.TempDir()
	entries, err := os.ReadDir("../../config")
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("../../config", e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if e.Name() == "carriers.yaml" {
			re := regexp.MustCompile(`(?m)^(\s*throughput:\s*)\d+`)
			if !re.Match(raw) {
				b.Fatal("config/carriers.yaml sets no throughput to lift")
			}
			raw = re.ReplaceAll(raw, []byte("${1}0"))
			for key, v := range map[string]int{"binds": sessions, "window": window} {
				if v > 0 {
					raw = regexp.MustCompile(`(?m)^(\s*`+key+`:\s*)\d+`).ReplaceAll(raw, []byte(fmt.Sprintf("${1}%d", v)))
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func benchmarkSMSEndToEnd(b *testing.B, configDir string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1_000_000} // measure the pipeline, not the limiter's policy
	p, err := Start(ctx, Config{RepoDir: "../..", ConfigDir: configDir, IngressAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", SMSCAddr: "127.0.0.1:0",
		AdminToken: "bench", Limits: api.Limits{Tenant: unlimited, Destination: unlimited, PrefixDigits: 4}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	api := p.APIURL()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	key := benchTenant(b, client, api)
	before := recorded(b, client, api)
	// A sender id per 50 messages and destinations spread over many numbers: the
	// firewall's message-bombing rule throttles a sender over 100 messages/s, which
	// one sender for the whole run would be (the benchmark would then measure the
	// throttle's 60 s wait).
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"from":"Bench%d","to":"+4479111%05d","message":"Your table is booked for Friday at 19:30. See you then!"}`, i/50, i%100000)
	}

	b.ResetTimer()
	start := time.Now()
	postEach(b, client, api+"/api/v1/sms/send", key, bodies)
	if b.Failed() {
		return // a request failed: the messages will never all be delivered
	}
	acceptedIn := time.Since(start)
	want := 3 * float64(b.N) // requested, sent and delivered per message
	for {
		got := recorded(b, client, api) - before
		if got >= want {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("message-record got %.0f of %.0f events within 5 minutes", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deliveredIn := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/acceptedIn.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/deliveredIn.Seconds(), "delivered/s")
}

// postAll POSTs body b.N times from 64 keep-alive clients, failing the benchmark on any
// answer but 202.
func postAll(b *testing.B, client *http.Client, url, key string, body []byte) {
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body
	}
	postEach(b, client, url, key, bodies)
}

// postEach POSTs every body once from 64 keep-alive clients, failing the benchmark on
// any answer but 202.
func postEach(b *testing.B, client *http.Client, url, key string, bodies [][]byte) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(len(bodies)); i = next.Add(1) {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i-1]))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
}
