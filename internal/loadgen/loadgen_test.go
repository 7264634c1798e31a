package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// lastJSON decodes the last line of out, which --json writes.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	return m
}

func testConfig(api string) Config {
	return Config{API: api, AdminToken: fakeAdmin, Tenants: 3, Count: 300, Concurrency: 16, Seed: 9,
		JSON: true, Drain: 5 * time.Second, PollEvery: 20 * time.Millisecond, TopUp: "500"}
}

// A run against an API that has the stats endpoint: tenants created and topped up
// with the admin token, every send accepted with the tenant's own key, and the JSON
// line carries the client's and the platform's numbers.
func TestRunReportsAcceptanceAndDelivery(t *testing.T) {
	t.Parallel()
	fake, srv := newFakeAPI(t, true)
	var out, errOut bytes.Buffer
	res, err := Run(context.Background(), testConfig(srv.URL), &out, &errOut)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.problems) > 0 {
		t.Fatalf("the API would have refused: %v", fake.problems)
	}
	if len(fake.toppedUp) != 3 {
		t.Errorf("%d tenants topped up, want 3", len(fake.toppedUp))
	}
	for id, amount := range fake.toppedUp {
		if amount != "500" {
			t.Errorf("tenant %s topped up with %s, want 500", id, amount)
		}
		if n := len(fake.got[id]); n != 100 {
			t.Errorf("tenant %s sent %d messages, want 100 (even turns)", id, n)
		}
	}
	failed := res.AcceptedOutcomes[OutcomeUndelivered] + res.AcceptedOutcomes[OutcomeExpired] + res.AcceptedOutcomes[OutcomeRejected]
	if res.Sent != 300 || res.Accepted != 300 || res.Rejected != 0 || res.Errors != 0 ||
		!res.DeliveryKnown || res.Delivered != 300-failed || res.Failed != failed || res.Pending != 0 {
		t.Errorf("result %+v; want 300 sent and accepted, %d delivered, %d failed, none pending", res, 300-failed, failed)
	}
	// Three tenants answer p99 1190, 1290 and 1390 ms: the merge reports the largest.
	if res.Latency.P99 != 1390 || res.Latency.Count != 300-failed || !res.LatencyMerged {
		t.Errorf("latency %+v, merged %v; want p99 1390 over %d delivered, merged", res.Latency, res.LatencyMerged, 300-failed)
	}

	j := lastJSON(t, out.String())
	for _, key := range []string{"sent", "accepted", "delivered", "failed", "delivered_per_sec", "p50_ms", "p95_ms", "p99_ms",
		"rejected", "blocked", "pending", "accepted_per_sec", "accept_p99_ms", "max_ms", "latency_merge"} {
		if _, ok := j[key]; !ok {
			t.Errorf("JSON line has no %s: %v", key, j)
		}
	}
	if j["accepted"] != 300.0 || j["delivered"] != float64(300-failed) || j["p99_ms"] != 1390.0 || j["latency_merge"] != "max of tenants" {
		t.Errorf("JSON line %v", j)
	}
	if d, ok := j["delivered_per_sec"].(float64); !ok || d <= 0 {
		t.Errorf("delivered_per_sec = %v, want a positive rate", j["delivered_per_sec"])
	}
	for _, want := range []string{"accepted", "delivered", "pending", "end to end", "largest of 3 tenants"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary does not mention %q:\n%s", want, out.String())
		}
	}
}

// Without the stats endpoint (404) the run still works: delivery is unknown, the
// platform's numbers are null in the JSON, and there is no drain to wait for.
func TestRunWithoutStatsEndpoint(t *testing.T) {
	t.Parallel()
	_, srv := newFakeAPI(t, false)
	cfg := testConfig(srv.URL)
	cfg.Drain = time.Minute
	var out bytes.Buffer
	res, err := Run(context.Background(), cfg, &out, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The drain's own length, not the run's: on a loaded machine the sends alone can
	// take longer than any wall-clock bound a test could set.
	if res.Drain >= cfg.Drain {
		t.Errorf("drained for %v: it waited out a drain it cannot observe", res.Drain)
	}
	if res.Accepted != 300 || res.DeliveryKnown {
		t.Errorf("accepted %d, delivery known %v; want 300 and unknown", res.Accepted, res.DeliveryKnown)
	}
	j := lastJSON(t, out.String())
	for _, key := range []string{"delivered", "failed", "delivered_per_sec", "p50_ms", "p95_ms", "p99_ms"} {
		if v, ok := j[key]; !ok || v != nil {
			t.Errorf("JSON %s = %v (present %v), want null", key, v, ok)
		}
	}
	if j["delivery_known"] != false || j["accepted"] != 300.0 {
		t.Errorf("JSON line %v", j)
	}
	if !strings.Contains(out.String(), "unknown") {
		t.Errorf("summary does not say delivery is unknown:\n%s", out.String())
	}
}

// Refused sends are counted by status with the API's message; a run in which
// nothing is accepted fails.
func TestRunCountsRejections(t *testing.T) {
	t.Parallel()
	t.Run("some", func(t *testing.T) {
		t.Parallel()
		fake, srv := newFakeAPI(t, true)
		fake.reject = 10
		var out bytes.Buffer
		res, err := Run(context.Background(), testConfig(srv.URL), &out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 300 || res.Accepted != 270 || res.Rejected != 30 || res.RejectedByStatus[429] != 30 {
			t.Errorf("sent %d accepted %d rejected %d (%v), want 300, 270, 30 all 429", res.Sent, res.Accepted, res.Rejected, res.RejectedByStatus)
		}
		if !strings.Contains(out.String(), "429×30 (HTTP 429 rate_limited: rate limit of the tenant reached)") {
			t.Errorf("summary does not detail the rejections:\n%s", out.String())
		}
		if j := lastJSON(t, out.String()); j["rejected_by_status"].(map[string]any)["429"] != 30.0 {
			t.Errorf("JSON rejected_by_status = %v", j["rejected_by_status"])
		}
	})
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		fake, srv := newFakeAPI(t, true)
		fake.reject = 1
		cfg := testConfig(srv.URL)
		cfg.Count = 20
		if _, err := Run(context.Background(), cfg, nil, nil); !errors.Is(err, ErrNothingAccepted) {
			t.Errorf("Run with every send refused = %v, want ErrNothingAccepted", err)
		}
	})
	t.Run("transport", func(t *testing.T) {
		t.Parallel()
		_, srv := newFakeAPI(t, true)
		cfg := testConfig(srv.URL)
		cfg.Count, cfg.Drain = 20, 200*time.Millisecond
		cfg = cfg.withDefaults()
		ctx := context.Background()
		api := &apiClient{base: srv.URL, admin: fakeAdmin, http: newHTTPClient(cfg.Concurrency)}
		accounts, err := setup(ctx, api, cfg)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := newPlanner(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv.Close() // setup worked; now every send fails in transport
		r := (&runner{cfg: cfg, api: api, accounts: accounts, errOut: io.Discard, tally: newTally()}).run(ctx, plan)
		if r.Sent != 20 || r.Errors != 20 || r.Accepted != 0 || r.RejectSamples[0] == "" || r.DeliveryKnown {
			t.Errorf("sent %d, errors %d, accepted %d, sample %q, delivery known %v; want 20 transport errors",
				r.Sent, r.Errors, r.Accepted, r.RejectSamples[0], r.DeliveryKnown)
		}
	})
}

// Setup failures end the run before any send, naming the step.
func TestRunSetupFails(t *testing.T) {
	t.Parallel()
	fake, srv := newFakeAPI(t, true)
	cfg := testConfig(srv.URL)
	cfg.AdminToken = "wrong"
	_, err := Run(context.Background(), cfg, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "setup") || !strings.Contains(err.Error(), "HTTP 401 unauthenticated") {
		t.Errorf("Run with a wrong admin token = %v, want a setup error with the 401", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.sends != 0 {
		t.Errorf("%d sends after a failed setup", fake.sends)
	}
}

// Progress: one line every ProgressEvery when not live, rewritten with \r when live.
func TestProgressOutput(t *testing.T) {
	t.Parallel()
	for _, live := range []bool{false, true} {
		_, srv := newFakeAPI(t, true)
		cfg := testConfig(srv.URL)
		cfg.Rate, cfg.Count = 1000, 300 // about 0.3s of sending
		cfg.LiveProgress, cfg.ProgressEvery = live, 50*time.Millisecond
		var errOut bytes.Buffer
		if _, err := Run(context.Background(), cfg, nil, &errOut); err != nil {
			t.Fatal(err)
		}
		s := errOut.String()
		if !strings.Contains(s, "sent ") || !strings.Contains(s, "accepted ") || !strings.Contains(s, "delivered ") {
			t.Errorf("live %v: progress %q lacks counts", live, s)
		}
		if live != strings.Contains(s, "\r") {
			t.Errorf("live %v: progress %q; want \\r only when live", live, s)
		}
	}
}

func TestMergeStats(t *testing.T) {
	t.Parallel()
	var a, b platformStats
	a.Total, a.ByStatus = 10, map[string]int64{"delivered": 6, "read": 1, "failed": 2, "sent": 1}
	a.Latency.Count, a.Latency.P50, a.Latency.P99, a.Latency.Max, a.Latency.Mean = 7, 100, 300, 400, 110
	b.Total, b.ByStatus = 5, map[string]int64{"delivered": 3, "blocked": 1, "accepted": 1}
	b.Latency.Count, b.Latency.P50, b.Latency.P99, b.Latency.Max, b.Latency.Mean = 3, 200, 250, 500, 210
	d := merge([]platformStats{a, b})
	if d.Total != 15 || d.Delivered != 10 || d.Failed != 2 || d.Blocked != 1 || d.Terminal != 13 || d.ByStatus["sent"] != 1 {
		t.Errorf("merged counts %+v", d)
	}
	if l := d.Latency; l.Count != 10 || l.P50 != 200 || l.P99 != 300 || l.Max != 500 || l.Mean != 140 {
		t.Errorf("merged latency %+v; want count 10, p50 200, p99 300, max 500, mean 140", l)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{AdminToken: "t"}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // flags named in the error
	}{
		{"defaults", func(*Config) {}, nil},
		{"no admin token", func(c *Config) { c.AdminToken = "" }, []string{"--admin-token"}},
		{"bad api", func(c *Config) { c.API = "localhost:8080" }, []string{"--api"}},
		{"count and duration", func(c *Config) { c.Count, c.Duration = 5, time.Second }, []string{"--count"}},
		{"negative rate", func(c *Config) { c.Rate = -1 }, []string{"--rate"}},
		{"tenants", func(c *Config) { c.Tenants = -2 }, []string{"--tenants"}},
		{"concurrency", func(c *Config) { c.Concurrency = -1 }, []string{"--concurrency"}},
		{"unknown shape", func(c *Config) { c.Mix = Weights{{"sms", 1}} }, []string{"--mix", `unknown "sms"`}},
		{"zero outcomes", func(c *Config) { c.Outcomes = Weights{{"delivered", 0}} }, []string{"--outcomes", "add up to 0"}},
		{"duplicate outcome", func(c *Config) { c.Outcomes = Weights{{"delivered", 1}, {"delivered", 2}} }, []string{"--outcomes", "twice"}},
		{"topup", func(c *Config) { c.TopUp = "-5" }, []string{"--topup"}},
		{"drain", func(c *Config) { c.Drain = -time.Second }, []string{"--drain"}},
		{"every problem at once", func(c *Config) { c.AdminToken, c.Rate, c.TopUp = "", -1, "x" }, []string{"--admin-token", "--rate", "--topup"}},
	}
	for _, tc := range tests {
		c := good
		tc.edit(&c)
		err := c.withDefaults().Validate()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", tc.name, err, w)
			}
		}
	}
}
