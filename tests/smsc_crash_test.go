package tests

import (
	"bufio"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// startSMSC runs `catalyst smsc-sim` on addr (a separate process, so it can crash) and
// waits until it listens.
func startSMSC(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	return startSMSCDelayed(t, addr, "300ms")
}

// startSMSCDelayed is startSMSC with its receipts sent receiptDelay after a submit.
func startSMSCDelayed(t *testing.T, addr, receiptDelay string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "smsc-sim", "-addr", addr, "-receipt-delay", receiptDelay)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "smsc-sim: listening") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("smsc-sim did not start")
	}
	return cmd
}

// The SMSC crashes (SIGKILL) while SMS are in flight and comes back on the same
// address: the connector rebinds, and every accepted message reaches exactly one
// terminal state — delivered, or failed by the receipt deadline when the crash took
// its receipt with it.
func TestEverySMSEndsOnceWhenTheSMSCCrashes(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	smsc := startSMSC(t, addr)

	cfgDir := carriersAt(t, addr, "3s")
	p := startDev(t, []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=", "REDIS_URL="}, "--smsc-addr", "", "--config", cfgDir)
	acme := createTenant(t, p.APIURL, "acme")
	topUp(t, p.APIURL, acme.TenantID, "100", "inv-1")

	const n = 60
	ids := make([]string, n)
	send := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got struct {
					MessageID string `json:"message_id"`
				}
				if status, body := call(t, "POST", p.APIURL+"/api/v1/sms/send", acme.APIKey,
					map[string]any{"to": "+447911123456", "message": fmt.Sprintf("crash test %d", i)}, nil, &got); status != http.StatusAccepted {
					t.Errorf("send %d: %d %s", i, status, body)
				}
				ids[i] = got.MessageID
			}()
		}
		wg.Wait()
	}
	status := func(id string) string {
		var m messageView
		call(t, "GET", p.APIURL+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m)
		return m.Status
	}
	send(0, n/2)
	testenv.WaitFor(t, "the first half handed to the SMSC", func() bool {
		for _, id := range ids[:n/2] {
			if s := status(id); s != "sent" && s != "delivered" {
				return false
			}
		}
		return true
	})
	_ = smsc.Process.Kill() // receipts still pending (300ms delay) die with it
	_ = smsc.Wait()
	send(n/2, n) // while the SMSC is down: the connector fails, the broker retries
	time.Sleep(500 * time.Millisecond)
	startSMSC(t, addr) // back on the same address

	terminal := map[string]bool{"delivered": true, "failed": true}
	testenv.WaitFor(t, "every message in a terminal state", func() bool {
		for _, id := range ids {
			var m messageView
			if status, _ := call(t, "GET", p.APIURL+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m); status != http.StatusOK || !terminal[m.Status] {
				return false
			}
		}
		return true
	})
	outcomes := map[string]int{}
	for _, id := range ids {
		var m messageView
		call(t, "GET", p.APIURL+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m)
		ends := 0
		for _, h := range m.History {
			if h.Type == "io.catalyst.message.delivered" || h.Type == "io.catalyst.message.failed" {
				ends++
			}
		}
		if ends != 1 {
			t.Errorf("message %s reached %d terminal events: %+v", id, ends, m.History)
		}
		outcomes[m.Status]++
	}
	t.Logf("outcomes after the crash: %v", outcomes)
	if outcomes["delivered"] == 0 {
		t.Error("no message was delivered after the SMSC came back")
	}
}

// carriersAt copies the repository's config/ to a temporary directory whose sandbox
// carrier is the SMSC at addr, uncapped, with the given receipt deadline.
func carriersAt(t *testing.T, addr, receiptTimeout string) string {
	t.Helper()
	return configWith(t, map[string]func(string) string{"carriers.yaml": func(text string) string {
		text = strings.Replace(text, "127.0.0.1:2775", addr, 1)
		text = strings.Replace(text, "receipt_timeout: 48h", "receipt_timeout: "+receiptTimeout, 1)
		return strings.Replace(text, "throughput: 500", "throughput: 0", 1)
	}})
}

// The connector itself crashes (catalyst dev SIGKILLed) after handing SMS to the SMSC
// and before their receipts: with PostgreSQL, the restarted connector still matches the
// receipts the SMSC kept for it, and every message ends delivered exactly once.
func TestPendingReceiptsSurviveAConnectorCrash(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	// Receipts come late enough that all ten messages are sent (through the firewall
	// and billing first) before the first receipt, so the kill falls in between.
	startSMSCDelayed(t, addr, "3s")
	cfgDir := carriersAt(t, addr, "1h")
	env := []string{"CATALYST_ADMIN_TOKEN=" + adminToken, "DATABASE_URL=" + testenv.Postgres(t), "REDIS_URL="}
	first := startDev(t, env, "--smsc-addr", "", "--config", cfgDir)
	acme := createTenant(t, first.APIURL, "acme")
	topUp(t, first.APIURL, acme.TenantID, "100", "inv-1")
	const n = 10
	ids := make([]string, n)
	for i := range n {
		var got struct {
			MessageID string `json:"message_id"`
		}
		if status, body := call(t, "POST", first.APIURL+"/api/v1/sms/send", acme.APIKey,
			map[string]any{"to": "+447911123456", "message": fmt.Sprintf("survive restart %d", i)}, nil, &got); status != http.StatusAccepted {
			t.Fatalf("send %d: %d %s", i, status, body)
		}
		ids[i] = got.MessageID
	}
	status := func(api, id string) string {
		var m messageView
		call(t, "GET", api+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m)
		return m.Status
	}
	testenv.WaitFor(t, "every message handed to the SMSC", func() bool {
		for _, id := range ids {
			if status(first.APIURL, id) != "sent" {
				return false
			}
		}
		return true
	})
	first.Kill(t) // receipts (3s later) find no receiver: the SMSC keeps them
	second := startDev(t, env, "--smsc-addr", "", "--config", cfgDir)
	testenv.WaitFor(t, "every message delivered after the restart", func() bool {
		for _, id := range ids {
			if status(second.APIURL, id) != "delivered" {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		var m messageView
		call(t, "GET", second.APIURL+"/api/v1/sms/"+id+"/status", acme.APIKey, nil, nil, &m)
		ends := 0
		for _, h := range m.History {
			if h.Type == "io.catalyst.message.delivered" || h.Type == "io.catalyst.message.failed" {
				ends++
			}
		}
		if ends != 1 {
			t.Errorf("message %s: %d terminal events %+v", id, ends, m.History)
		}
	}
}
