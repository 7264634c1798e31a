package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// loadgenLine is the part of `catalyst loadgen --json`'s last line the tests read.
// The platform's numbers are pointers: null when the stats endpoint did not answer.
type loadgenLine struct {
	Sent             int64            `json:"sent"`
	Accepted         int64            `json:"accepted"`
	Rejected         int64            `json:"rejected"`
	Errors           int64            `json:"errors"`
	AcceptedOutcomes map[string]int64 `json:"accepted_outcomes"`
	DeliveryKnown    bool             `json:"delivery_known"`
	Delivered        *int64           `json:"delivered"`
	Failed           *int64           `json:"failed"`
	Blocked          *int64           `json:"blocked"`
	Pending          *int64           `json:"pending"`
	DeliveredPerSec  *float64         `json:"delivered_per_sec"`
	P50              *float64         `json:"p50_ms"`
	P99              *float64         `json:"p99_ms"`
}

// runLoadgen runs the catalyst binary's loadgen against api and decodes its JSON line;
// it fails the test when the command fails.
func runLoadgen(t *testing.T, env []string, args ...string) (loadgenLine, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"loadgen"}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("catalyst loadgen %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	var got loadgenLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("catalyst loadgen: last line is not JSON: %v\n%s", err, stdout.String())
	}
	return got, stdout.String()
}

// `catalyst loadgen` against `catalyst dev` and its sandbox SMSC: every message is
// accepted, and (when the platform has the stats endpoint) every one reaches a
// terminal state within the drain.
func TestLoadgenAgainstDev(t *testing.T) {
	t.Parallel()
	p := startDev(t, []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=", "REDIS_URL="})
	got, out := runLoadgen(t, []string{"CATALYST_ADMIN_TOKEN=" + adminToken},
		"--api", p.APIURL, "--count", "200", "--rate", "200", "--json", "--drain", "20s")
	if got.Sent != 200 || got.Accepted != 200 || got.Rejected != 0 || got.Errors != 0 {
		t.Fatalf("sent %d, accepted %d, rejected %d, errors %d; want 200 sent and accepted\n%s", got.Sent, got.Accepted, got.Rejected, got.Errors, out)
	}
	if !got.DeliveryKnown {
		t.Logf("the platform has no message stats: delivery not checked\n%s", out)
		return
	}
	if *got.Delivered+*got.Failed != 200 || *got.Pending != 0 || *got.Blocked != 0 {
		t.Errorf("delivered %d + failed %d, blocked %d, pending %d; want 200 terminal, none blocked\n%s",
			*got.Delivered, *got.Failed, *got.Blocked, *got.Pending, out)
	}
	if *got.Delivered > 0 && (got.P50 == nil || *got.P50 <= 0 || got.DeliveredPerSec == nil || *got.DeliveredPerSec <= 0) {
		t.Errorf("delivered messages but no latency or rate: p50 %v, delivered/s %v\n%s", got.P50, got.DeliveredPerSec, out)
	}
}

// The outcomes asked for through the magic destinations happen: against `catalyst
// smsc-sim` (which turns MagicNumbers on) behind `catalyst dev` on PostgreSQL, every
// message sent to …0000666, …0000777 or …0000888 ends failed and every other one
// delivered.
func TestLoadgenMagicOutcomesThroughSMSCSim(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startSMSC(t, addr)
	cfgDir := carriersAt(t, addr, "1h")
	p := startDev(t, []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=" + testenv.Postgres(t), "REDIS_URL="},
		"--smsc-addr", "", "--config", cfgDir)
	got, out := runLoadgen(t, nil, "--api", p.APIURL, "--admin-token", adminToken, "--tenants", "2",
		"--count", "200", "--rate", "200", "--json", "--drain", "20s", "--outcomes", "delivered=70,undelivered=10,expired=10,rejected=10")
	if got.Accepted != 200 {
		t.Fatalf("accepted %d, want 200\n%s", got.Accepted, out)
	}
	if !got.DeliveryKnown {
		t.Logf("the platform has no message stats: outcomes not checked\n%s", out)
		return
	}
	o := got.AcceptedOutcomes
	wantFailed := o["undelivered"] + o["expired"] + o["rejected"]
	if o["undelivered"] == 0 || o["expired"] == 0 || o["rejected"] == 0 {
		t.Fatalf("200 messages drew outcomes %v: want some of each", o)
	}
	if *got.Delivered != o["delivered"] || *got.Failed != wantFailed || *got.Pending != 0 {
		t.Errorf("delivered %d, failed %d, pending %d; want %d delivered and %d failed (%v)\n%s",
			*got.Delivered, *got.Failed, *got.Pending, o["delivered"], wantFailed, o, out)
	}
}
