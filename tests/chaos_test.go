package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// The chaos test: the whole SMS pipeline under load while it is hurt — catalyst dev
// killed (SIGKILL) twice, Redis restarted empty, PostgreSQL refusing this database's
// connections for a few seconds (its sessions killed), the SMSC killed and restarted
// (its connections dropped, the receipts it owed lost) — then every accepted message
// must reach a terminal state, `catalyst billing verify` must be clean, and no
// message may be committed twice in the ledger.
//
// Kafka is a kfake cluster in the test process (it survives the platform's crashes);
// PostgreSQL is the machine's, in a database of the test's own; Redis is a
// redis-server the test starts, so restarting it hurts nobody else. `make test`
// runs a short form (one seed, a 15 s load); `make test-chaos` (CATALYST_CHAOS=1)
// three seeds with a 45 s load each. The platform runs with static consumer-group
// membership (CATALYST_INSTANCE_ID), as a restarted pod should: with dynamic
// membership a SIGKILLed member kept its partitions in kfake and Triggers stalled.
// CATALYST_CHAOS_FAULTS=<part of a fault's name> runs only the matching faults.
func TestChaos(t *testing.T) {
	if os.Getenv("CATALYST_CHAOS") == "" {
		chaos(t, 1, 15*time.Second)
		return
	}
	seeds := []uint64{1, 2, 3}
	load := 45 * time.Second
	if v := os.Getenv("CATALYST_CHAOS_SEEDS"); v != "" {
		seeds = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			if err != nil {
				t.Fatalf("CATALYST_CHAOS_SEEDS=%q: %v", v, err)
			}
			seeds = append(seeds, n)
		}
	}
	if v := os.Getenv("CATALYST_CHAOS_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CATALYST_CHAOS_LOAD=%q: %v", v, err)
		}
		load = d
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { chaos(t, seed, load) })
	}
}

func chaos(t *testing.T, seed uint64, load time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	redisAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	redisSrv := startRedis(t, redisAddr)
	dbURL := testenv.Postgres(t)
	smscAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	smsc := startSMSC(t, smscAddr)
	cfg := carriersAt(t, smscAddr, "15s") // a receipt the SMSC's crash took fails the message by then
	seeds := newKafka(t)
	apiAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	env := []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=" + dbURL, "REDIS_URL=redis://" + redisAddr + "/0",
		"KAFKA_BROKERS=" + strings.Join(seeds, ","), "CATALYST_INSTANCE_ID=chaos"}
	args := []string{"--smsc-addr", "", "--config", cfg, "--api-addr", apiAddr}
	dev := startDev(t, env, args...)
	devs := []*devProcess{dev} // every run of the platform, for the post-mortem

	// The load runs beside the faults.
	type result struct {
		line loadgenLine
		raw  string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cmd := exec.Command(binary, "loadgen", "--api", "http://"+apiAddr, "--tenants", "2", "--rate", "100",
			"--duration", load.String(), "--drain", "90s", "--seed", strconv.FormatUint(seed, 10), "--json")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CATALYST_ADMIN_TOKEN="+adminToken)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var r result
		r.raw, r.err = stdout.String()+stderr.String(), err
		lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &r.line); jerr != nil && err == nil {
			r.err = jerr
		}
		done <- r
	}()

	// The faults, in an order and at times the seed picks, inside the load.
	faults := []struct {
		name string
		do   func()
	}{
		{"kill catalyst dev", func() { dev.Kill(t); dev = startDev(t, env, args...); devs = append(devs, dev) }},
		{"kill catalyst dev again", func() { dev.Kill(t); dev = startDev(t, env, args...); devs = append(devs, dev) }},
		{"restart Redis (empty)", func() { redisSrv = restartRedis(t, redisSrv, redisAddr) }},
		{"PostgreSQL away for 3s", func() { postgresOutage(t, dbURL, 3*time.Second) }},
		{"kill the SMSC", func() { _ = smsc.Process.Kill(); _ = smsc.Wait(); smsc = startSMSC(t, smscAddr) }},
	}
	if only := os.Getenv("CATALYST_CHAOS_FAULTS"); only != "" { // to chase one fault's bug
		var kept []struct {
			name string
			do   func()
		}
		for _, f := range faults {
			if strings.Contains(f.name, only) {
				kept = append(kept, f)
			}
		}
		faults = kept
	}
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	step := load / time.Duration(len(faults)+1)
	for _, f := range faults {
		time.Sleep(step/2 + time.Duration(rng.Int64N(int64(step))))
		t.Logf("seed %d: %s", seed, f.name)
		f.do()
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("loadgen: %v\n%s", r.err, r.raw)
	}
	t.Logf("loadgen: sent %d, accepted %d, errors %d (requests to a dead platform)", r.line.Sent, r.line.Accepted, r.line.Errors)
	if r.line.Accepted == 0 {
		t.Fatalf("nothing accepted\n%s", r.raw)
	}

	// Every message any tenant has (accepted ones at least; a request whose answer
	// the crash lost may have been accepted too) reaches a terminal state.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var total, open int64
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status NOT IN ('delivered', 'read', 'failed', 'blocked'))
			FROM messages`).Scan(&total, &open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := conn.Query(ctx, `SELECT m.status, m.id::text, string_agg(e.type, ' → ' ORDER BY e.seq)
				FROM messages m JOIN message_events e ON e.tenant_id = m.tenant_id AND e.message_id = m.id
				WHERE m.status NOT IN ('delivered', 'read', 'failed', 'blocked') GROUP BY m.status, m.id LIMIT 10`)
			var stuck []string
			for rows.Next() {
				var st, id, hist string
				_ = rows.Scan(&st, &id, &hist)
				t.Logf("not terminal: %s %s: %s", id, st, hist)
				stuck = append(stuck, id)
			}
			rows.Close()
			postMortem(t, devs, stuck)
			logGroups(t, seeds)
			t.Fatalf("%d of %d messages not terminal 2 minutes after the load", open, total)
		}
	}
	if total < r.line.Accepted {
		t.Errorf("%d messages recorded, fewer than the %d accepted: some were lost", total, r.line.Accepted)
	}
	var twice int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT reservation FROM ledger_transactions
		WHERE kind = 'commit' GROUP BY tenant_id, reservation HAVING count(*) > 1) d`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice > 0 {
		t.Errorf("%d messages committed (charged) more than once", twice)
	}
	billingVerify(t, env)
	t.Logf("seed %d: %d messages, all terminal; billing verify clean", seed, total)
}

// startRedis runs a redis-server of the test's own on addr, without persistence.
func startRedis(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command("redis-server", "--bind", host, "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		if os.Getenv("CATALYST_REQUIRE_SERVICES") != "" { // make test: hack/test-services.sh installs it
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server: %v (install redis-server)", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testenv.WaitFor(t, "redis-server listening", func() bool {
		out, err := exec.Command("redis-cli", "-h", host, "-p", port, "ping").Output()
		return err == nil && strings.TrimSpace(string(out)) == "PONG"
	})
	return cmd
}

func restartRedis(t *testing.T, old *exec.Cmd, addr string) *exec.Cmd {
	t.Helper()
	_ = old.Process.Kill()
	_ = old.Wait()
	time.Sleep(time.Second)
	return startRedis(t, addr)
}

// postgresOutage makes the database refuse connections and ends its sessions, for d:
// to the platform, its PostgreSQL went away and came back.
func postgresOutage(t *testing.T, dbURL string, d time.Duration) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	for _, q := range []string{"ALTER DATABASE " + ident + " ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(d)
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
}

// logGroups logs each consumer group's state, members and lag: which Trigger stopped.
func logGroups(t *testing.T, seeds []string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Logf("kafka client: %v", err)
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Logf("list groups: %v", err)
		return
	}
	lags, err := adm.Lag(ctx, listed.Groups()...)
	if err != nil {
		t.Logf("lag: %v", err)
	}
	for _, l := range lags.Sorted() {
		t.Logf("group %s: state %s, %d members, lag %d, errors %v %v", l.Group, l.State, len(l.Members), l.Lag.Total(), l.DescribeErr, l.FetchErr)
	}
}

// postMortem logs, from every run of the platform, the lines that name a stuck
// message or tell of an event given up (dead-lettered, dropped, lost): the whole
// output is long, and CI keeps only its end.
func postMortem(t *testing.T, devs []*devProcess, stuck []string) {
	t.Helper()
	signs := append([]string{"dead-letter", "event dropped", "lost", "delivery failed"}, stuck...)
	for i, d := range devs {
		n := 0
		for _, line := range strings.Split(d.Output(), "\n") {
			for _, s := range signs {
				if strings.Contains(line, s) {
					if n < 40 {
						t.Logf("run %d: %s", i+1, line)
					}
					n++
					break
				}
			}
		}
		if n > 40 {
			t.Logf("run %d: … %d more such lines", i+1, n-40)
		}
	}
}
