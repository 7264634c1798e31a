package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// component is one benchmark figure: a component's own rate, or a raw ceiling.
type component struct {
	name, what string
	value      float64
	unit       string
	ceiling    bool
}

// benches are the component and ceiling benchmarks, each the median of three runs.
var benches = []struct {
	pkg, bench, benchtime, metric, name, what string
	ceiling                                   bool
}{
	{"./internal/broker/", "BenchmarkKafkaCeiling$", "50000x", "events/s", "kfake produce+consume", "raw ceiling: records produced to and consumed from the embedded Kafka, no HTTP, no decoding", true},
	{"./internal/broker/", "BenchmarkPipeline$", "50000x", "events/s", "broker pipeline", "ingress → Kafka → trigger → in-process function → reply → broker", false},
	{"./internal/wallet/", "BenchmarkRedisEvalSha$", "3s", "evalsha/s", "Redis EVALSHA", "raw ceiling: EVALSHA of `return 1`", true},
	{"./internal/wallet/", "BenchmarkRedisReserveCommit$", "3s", "reserve+commit/s", "wallet reserve+commit", "billing's two Lua scripts on Redis", false},
	{"./internal/postgres/", "BenchmarkPostgresCopyRaw/plain$", "3s", "rows/s", "PostgreSQL COPY", "raw ceiling: COPY of ledger rows into plain tables", true},
	{"./internal/postgres/", "BenchmarkLedgerBatcherParallel$", "3s", "rows/s", "ledger batcher", "the ledger's batched postings (partitioned, idempotent)", false},
	{"./internal/screening/", "BenchmarkScreenFused/patterns=1000$", "200000x", "decisions/s", "firewall, fused", "all seven phases in process, 1,000 DPI patterns", false},
}

func components(ctx context.Context) ([]component, error) {
	var out []component
	for _, b := range benches {
		say("benchmark %s %s", b.pkg, b.bench)
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", b.bench, "-benchtime", b.benchtime, "-count", "3", b.pkg)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			// One component's failure must not lose the rest of the run's figures.
			say("%s %s failed: %v", b.pkg, b.bench, err)
			out = append(out, component{name: b.name, what: b.what + " — **did not complete in this run**: " + err.Error(), ceiling: b.ceiling})
			continue
		}
		var vals []float64
		sc := bufio.NewScanner(&stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			for i := 1; i < len(f); i++ {
				if f[i] == b.metric {
					if v, err := strconv.ParseFloat(f[i-1], 64); err == nil {
						vals = append(vals, v)
					}
				}
			}
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("%s %s printed no %s", b.pkg, b.bench, b.metric)
		}
		sort.Float64s(vals)
		out = append(out, component{name: b.name, what: b.what, value: vals[len(vals)/2], unit: b.metric, ceiling: b.ceiling})
	}
	return out, nil
}

const (
	beginMarker = "<!-- bench-e2e:begin (make bench regenerates this part) -->"
	endMarker   = "<!-- bench-e2e:end -->"
)

func render(o options, rows []row, comps []component) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", beginMarker)
	fmt.Fprintf(&b, "Measured %s on %s: `catalyst dev` on PostgreSQL and Redis (local, the same cores), "+
		"embedded Kafka, sandbox SMSC without receipt delay and carriers uncapped, driven by `catalyst loadgen` "+
		"(4 tenants, 128 requests in flight, %s per run; the shapes and outcomes of its defaults). "+
		"Command: `make bench` (this part: `go run ./hack/bench-e2e -write BENCHMARKS.md`).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), o.duration)
	b.WriteString("| layout | load | accepted/s | delivered/s | p50 / p95 / p99 ms (accept → delivered) | pending after drain | CPU cores used | CPU s per 1,000 msgs | RSS start → peak → end |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		s := r.summary
		cores := r.cpuSec / r.wallSec
		per1000 := 0.0
		if n := s.Delivered + s.Failed; n > 0 {
			per1000 = r.cpuSec / float64(n) * 1000
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f / %.0f / %.0f | %d | %.2f | %.2f | %s → %s → %s |\n",
			r.mode, rateName(r.rate), s.AcceptedPerSec, s.DeliveredPerSec, s.P50, s.P95, s.P99, s.Pending,
			cores, per1000, mib(r.rssStart), mib(r.rssMax), mib(r.rssEnd))
	}
	if len(comps) > 0 {
		b.WriteString("\nComponents and the raw ceilings they are bound by, same run (median of 3):\n\n")
		b.WriteString("| | figure | what |\n| --- | --- | --- |\n")
		for _, c := range comps {
			name := c.name
			if c.ceiling {
				name = "**" + name + "** (ceiling)"
			}
			figure := "—"
			if c.unit != "" {
				figure = fmt.Sprintf("%.0f %s", c.value, c.unit)
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", name, figure, c.what)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", endMarker)
	return b.String()
}

func mib(kib int64) string { return fmt.Sprintf("%d MiB", kib/1024) }

// replaceBetweenMarkers puts table in place of the marked part of file.
func replaceBetweenMarkers(file, table string) error {
	return replaceBetween(file, beginMarker, endMarker, table)
}

// replaceBetween puts table (which starts with begin and ends with end) in place of
// file's part from begin to end.
func replaceBetween(file, begin, end, table string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q part to replace", file, begin, end)
	}
	s = s[:i] + strings.TrimSuffix(table, "\n") + s[j+len(end):]
	return os.WriteFile(file, []byte(s), 0o644)
}

const (
	soakBegin = "<!-- bench-soak:begin (make bench-soak regenerates this part) -->"
	soakEnd   = "<!-- bench-soak:end -->"
)

// renderSoak reports a soak run: its figures, RSS minute by minute, and the RSS
// growth after the first minute (the warm-up: caches, pools, Kafka segments).
func renderSoak(o options, r row) string {
	var b strings.Builder
	s := r.summary
	fmt.Fprintf(&b, "%s\n\n", soakBegin)
	fmt.Fprintf(&b, "Measured %s on %s: `catalyst dev` fused on PostgreSQL and Redis, embedded Kafka, "+
		"sandbox SMSC without receipt delay, `catalyst loadgen --rate %d` for %s. Command: `make bench-soak` "+
		"(`go run ./hack/bench-e2e -soak %s -soak-rate %d -write BENCHMARKS.md`).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), o.soakRate, o.soak, o.soak, o.soakRate)
	fmt.Fprintf(&b, "| accepted/s | delivered/s | p50 / p95 / p99 ms | pending after drain | CPU cores used |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| %.0f | %.0f | %.0f / %.0f / %.0f | %d | %.2f |\n\n", s.AcceptedPerSec, s.DeliveredPerSec, s.P50, s.P95, s.P99,
		s.Pending, r.cpuSec/r.wallSec)
	b.WriteString("RSS at the end of each minute (MiB):")
	for i, v := range r.rssEach {
		fmt.Fprintf(&b, " %d: %d", i+1, v/1024)
		if i < len(r.rssEach)-1 {
			b.WriteString(",")
		}
	}
	b.WriteString(".\n")
	if n := len(r.rssEach); n >= 3 {
		first, last := r.rssEach[0], r.rssEach[n-1]
		fmt.Fprintf(&b, "\nFrom minute 1 to minute %d RSS moved by %+d MiB (%+.1f %%); peak %s.\n",
			n, (last-first)/1024, float64(last-first)/float64(first)*100, mib(r.rssMax))
	}
	fmt.Fprintf(&b, "\n%s\n", soakEnd)
	return b.String()
}
