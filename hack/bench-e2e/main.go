// Command bench-e2e measures the whole SMS pipeline end to end, as `make bench` runs
// it: `catalyst dev` on PostgreSQL and Redis (fused, then --unfused) driven by
// `catalyst loadgen`, the process's CPU and memory sampled from /proc, and the raw
// ceilings the components are bound by (kfake produce+consume, Redis EVALSHA,
// PostgreSQL COPY) measured in the same run. It prints a Markdown table and, with
// -write, replaces the part of BENCHMARKS.md between its markers.
//
//	go run ./hack/bench-e2e [-duration 60s] [-paced 1000] [-modes fused,unfused] [-write BENCHMARKS.md]
//
// With -redis-footprint it instead runs fused flat out once, waits for the drain and
// reports what the run left in Redis per message sent (used_memory, DBSIZE, and
// MEMORY USAGE by key kind). It FLUSHDBs REDIS_URL's database: give it its own.
//
// With -soak 10m it instead runs fused at -soak-rate for that long and reports the
// process's RSS minute by minute (its own markers in BENCHMARKS.md; make bench-soak).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		os.Exit(1)
	}
}

type options struct {
	duration   time.Duration
	paced      int
	modes      []string
	write      string
	components bool
	soak       time.Duration
	soakRate   int
	dbURL      string
	redisURL   string
	footprint  bool
}

func run(ctx context.Context) error {
	var o options
	var modes string
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "length of each loadgen run")
	flag.IntVar(&o.paced, "paced", 1000, "the paced run's rate, msgs/s (0: no paced run)")
	flag.StringVar(&modes, "modes", "fused,unfused", "catalyst dev layouts to measure")
	flag.StringVar(&o.write, "write", "", "replace the table between the markers in this file (BENCHMARKS.md)")
	flag.BoolVar(&o.components, "components", true, "also measure the raw ceilings and components")
	flag.DurationVar(&o.soak, "soak", 0, "instead, one fused run this long at -soak-rate, RSS sampled each minute")
	flag.IntVar(&o.soakRate, "soak-rate", 300, "the soak's rate, msgs/s")
	flag.BoolVar(&o.footprint, "redis-footprint", false, "instead, one fused flat-out run, then what it left in Redis per message "+
		"(empties REDIS_URL's database first: give it one of its own)")
	flag.Parse()
	o.modes = strings.Split(modes, ",")
	o.dbURL = envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	o.redisURL = envOr("REDIS_URL", "redis://127.0.0.1:6379/0")

	work, err := os.MkdirTemp("", "bench-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "catalyst")
	say("building catalyst")
	if err := command(ctx, "go", "build", "-o", bin, "./cmd/catalyst").Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	cfg, err := uncappedConfig(work)
	if err != nil {
		return err
	}
	if o.footprint {
		r, err := measure(ctx, o, bin, cfg, "fused", 0)
		if err != nil {
			return fmt.Errorf("redis footprint: %w", err)
		}
		fmt.Print(renderFootprint(o, r))
		return nil
	}
	if o.soak > 0 {
		o.duration = o.soak
		r, err := measure(ctx, o, bin, cfg, "fused", o.soakRate)
		if err != nil {
			return fmt.Errorf("soak: %w", err)
		}
		table := renderSoak(o, r)
		fmt.Print(table)
		if o.write != "" {
			return replaceBetween(o.write, soakBegin, soakEnd, table)
		}
		return nil
	}
	var rows []row
	for _, mode := range o.modes {
		runs := []int{0}
		if o.paced > 0 {
			runs = append(runs, o.paced)
		}
		for _, rate := range runs {
			r, err := measure(ctx, o, bin, cfg, mode, rate)
			if err != nil {
				return fmt.Errorf("%s at %s: %w", mode, rateName(rate), err)
			}
			rows = append(rows, r)
		}
	}
	var comps []component
	if o.components {
		if comps, err = components(ctx); err != nil {
			return err
		}
	}
	table := render(o, rows, comps)
	fmt.Print(table)
	if o.write != "" {
		return replaceBetweenMarkers(o.write, table)
	}
	return nil
}

// row is one loadgen run and what the platform process used meanwhile.
type row struct {
	mode     string
	rate     int
	summary  summary
	cpuSec   float64 // process CPU seconds over the run (send and drain)
	wallSec  float64
	rssStart int64 // KiB
	rssMax   int64
	rssEnd   int64
	rssEach  []int64 // KiB at each full minute of the run
	// footprint is what the run left in Redis (-redis-footprint).
	footprint footprint
}

// summary is what the report needs of loadgen's --json line.
type summary struct {
	Accepted        int64   `json:"accepted"`
	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	Delivered       int64   `json:"delivered"`
	Failed          int64   `json:"failed"`
	Pending         int64   `json:"pending"`
	DeliveredPerSec float64 `json:"delivered_per_sec"`
	P50             float64 `json:"p50_ms"`
	P95             float64 `json:"p95_ms"`
	P99             float64 `json:"p99_ms"`
	AcceptP99       float64 `json:"accept_p99_ms"`
}

// measure starts catalyst dev in mode on a database of its own, runs loadgen flat
// out (rate 0) or paced, samples the process, and stops it.
func measure(ctx context.Context, o options, bin, cfg, mode string, rate int) (row, error) {
	r := row{mode: mode, rate: rate}
	db := fmt.Sprintf("catalyst_bench_%d", time.Now().UnixNano())
	dbURL, drop, err := createDatabase(ctx, o.dbURL, db)
	if err != nil {
		return r, err
	}
	defer drop()
	defer cleanRedis(o.redisURL, db+":")
	if o.footprint {
		if _, err := prepareFootprint(ctx, o.redisURL); err != nil {
			return r, err
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return r, err
	}
	api := fmt.Sprintf("127.0.0.1:%d", ports[0])
	args := []string{"dev", "--config", cfg, "--api-addr", api, "--ingress-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--smsc-addr", fmt.Sprintf("127.0.0.1:%d", ports[2]), "--smsc-receipt-delay", "0"}
	if mode == "unfused" {
		args = append(args, "--unfused")
	}
	const token = "cat_admin_bench_e2e"
	dev := exec.CommandContext(ctx, bin, args...)
	dev.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "REDIS_URL="+o.redisURL, "CATALYST_ADMIN_TOKEN="+token,
		"CATALYST_REDIS_PREFIX="+db+":", "CATALYST_LOG_LEVEL=error")
	out, err := dev.StdoutPipe()
	if err != nil {
		return r, err
	}
	dev.Stderr = os.Stderr
	say("%s: starting catalyst dev (%s)", mode, strings.Join(args[1:], " "))
	if err := dev.Start(); err != nil {
		return r, err
	}
	defer func() { _ = dev.Process.Signal(os.Interrupt); _ = dev.Wait() }()
	if err := waitReady(out, 60*time.Second); err != nil {
		return r, err
	}
	var baseline int64
	if o.footprint { // with the platform's connections open, as they are at the end
		if baseline, err = prepareFootprint(ctx, o.redisURL); err != nil {
			return r, err
		}
	}
	pid := dev.Process.Pid
	cpu0, _ := procCPU(pid)
	r.rssStart, _ = procRSS(pid)
	sampling, stopSampling := context.WithCancel(ctx)
	type sampled struct {
		peak int64
		each []int64
	}
	maxRSS := make(chan sampled, 1)
	go func() { p, e := sampleRSS(sampling, pid); maxRSS <- sampled{p, e} }()
	start := time.Now()
	lg := []string{"loadgen", "--api", "http://" + api, "--admin-token", token, "--duration", o.duration.String(),
		"--concurrency", "128", "--json", "--drain", "60s"}
	if o.soak > 0 {
		// Each stats read aggregates the whole run: at 1s it became half a core of
		// PostgreSQL by minute five, the measuring loading what it measures.
		lg = append(lg, "--poll", "10s")
	}
	if rate > 0 {
		lg = append(lg, "--rate", strconv.Itoa(rate))
	}
	say("%s: catalyst %s", mode, strings.Join(lg, " "))
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, lg...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	runErr := cmd.Run()
	r.wallSec = time.Since(start).Seconds()
	cpu1, _ := procCPU(pid)
	stopSampling()
	got := <-maxRSS
	r.rssMax, r.rssEach = got.peak, got.each
	r.rssEnd, _ = procRSS(pid)
	r.cpuSec = cpu1 - cpu0
	if runErr != nil {
		return r, fmt.Errorf("loadgen: %w", runErr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r.summary); err != nil {
		return r, fmt.Errorf("loadgen's last line is not its JSON summary: %w", err)
	}
	if o.footprint {
		if r.footprint, err = takeFootprint(ctx, o.redisURL, baseline); err != nil {
			return r, fmt.Errorf("redis footprint: %w", err)
		}
	}
	return r, nil
}

func waitReady(out interface{ Read([]byte) (int, error) }, limit time.Duration) error {
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "catalyst dev: ready") {
				ready <- nil
				for sc.Scan() { // keep draining so the process never blocks on stdout
				}
				return
			}
		}
		ready <- errors.New("catalyst dev exited before it was ready")
	}()
	select {
	case err := <-ready:
		return err
	case <-time.After(limit):
		return fmt.Errorf("catalyst dev not ready within %s", limit)
	}
}

// createDatabase makes a fresh database beside base's and returns its URL and a drop.
func createDatabase(ctx context.Context, base, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at DATABASE_URL (%s): %w", base, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return u.String(), drop, nil
}

// uncappedConfig copies config/ with every carrier's throughput unlimited: the run
// measures the pipeline, not the sandbox carrier's configured 1,000/s.
func uncappedConfig(work string) (string, error) {
	dir := filepath.Join(work, "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir("config")
	if err != nil {
		return "", err
	}
	throughput := regexp.MustCompile(`(?m)^(\s*throughput:\s*)\d+`)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("config", e.Name()))
		if err != nil {
			return "", err
		}
		if e.Name() == "carriers.yaml" {
			raw = throughput.ReplaceAll(raw, []byte("${1}0"))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// procCPU is a process's user+system CPU seconds (/proc/PID/stat).
func procCPU(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// procRSS is a process's resident set in KiB (/proc/PID/status VmRSS).
func procRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// sampleRSS reads the process's RSS every half second until ctx ends: the peak, and
// the value at each full minute.
func sampleRSS(ctx context.Context, pid int) (peak int64, each []int64) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	for {
		v, err := procRSS(pid)
		if err == nil {
			peak = max(peak, v)
			if m := int(time.Since(start) / time.Minute); m > len(each) {
				each = append(each, v)
			}
		}
		select {
		case <-ctx.Done():
			return peak, each
		case <-t.C:
		}
	}
}

func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func rateName(rate int) string {
	if rate == 0 {
		return "flat out"
	}
	return fmt.Sprintf("%d/s", rate)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-e2e: "+format+"\n", args...)
}

// machine describes where the figures come from.
func machine() string {
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kib, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
				mem = fmt.Sprintf(", %.0f GiB", kib/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d cores%s, %s", runtime.NumCPU(), mem, runtime.Version())
}

// cleanRedis removes a run's keys (its CATALYST_REDIS_PREFIX), so runs do not pile
// up state in the shared Redis.
func cleanRedis(redisURL, prefix string) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := testenv.UnlinkPrefix(ctx, c, prefix); err != nil {
		say("cleaning Redis keys under %s: %v", prefix, err)
	}
}
