package smsc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// interopDir holds the third-party client: package.json pins the npm smpp version.
var interopDir = filepath.Join("..", "..", "tests", "smsc_interop")

type nodeResult struct {
	Event   string `json:"event"`
	Why     string `json:"why"`
	Submits []struct {
		Status    int    `json:"status"`
		MessageID string `json:"message_id"`
	} `json:"submits"`
	Receipts []struct {
		ReceiptedMessageID string `json:"receipted_message_id"`
		MessageState       int    `json:"message_state"`
		Text               string `json:"text"`
	} `json:"receipts"`
	MO []struct {
		Source     string `json:"source"`
		Dest       string `json:"dest"`
		DataCoding int    `json:"data_coding"`
		Text       string `json:"text"`
	} `json:"mo"`
}

// TestInteropNodeSMPP drives the sandbox with a third-party client, the npm smpp
// package (tests/smsc_interop/client.js): bind, GSM-7 and concatenated submits with
// receipts, and an MO injected once the client reports it is bound.
func TestInteropNodeSMPP(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "interop test needs node: %v", err)
	}
	modules := testenv.NPMInstall(t, interopDir, "smpp")
	s := startServer(t, Config{ReceiptDelay: 20 * time.Millisecond})
	host, port, _ := net.SplitHostPort(s.Addr())
	portN, _ := strconv.Atoi(port)
	const short, mo = "Hello from node-smpp {interop} €1", "Grüße from Go ☀"
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 9) // 405 septets: 3 parts of ≤152
	args, _ := json.Marshal(map[string]any{"host": host, "port": portN, "system_id": "acme", "password": "secret",
		"source": "Catalyst", "dest": "4915112345678", "short": short, "long": long, "timeout_ms": 20000})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(interopDir, "client.js"), string(args))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	injected := make(chan error, 1)
	var res nodeResult
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		var line nodeResult
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			t.Fatalf("node printed %q: %v", lines.Text(), err)
		}
		switch line.Event {
		case "bound":
			go func() { injected <- s.InjectMO("acme", "4917099999", "Catalyst", mo) }()
		case "done", "failed":
			res = line
		}
	}
	if err := cmd.Wait(); err != nil || res.Event != "done" {
		t.Fatalf("node client: %v, %q %s\nstderr:\n%s", err, res.Event, res.Why, stderr.String())
	}
	if err := <-injected; err != nil {
		t.Errorf("InjectMO: %v", err)
	}

	var ids []string
	for _, sub := range res.Submits {
		if sub.Status != 0 || !idPattern.MatchString(sub.MessageID) {
			t.Errorf("submit_sm_resp status %d id %q", sub.Status, sub.MessageID)
		}
		ids = append(ids, sub.MessageID)
	}
	if len(ids) != 4 {
		t.Fatalf("node got %d submit_sm_resp, want 4 (1 + 3 parts)", len(ids))
	}
	var receipted []string
	for _, r := range res.Receipts {
		m := receiptPattern.FindStringSubmatch(r.Text)
		if m == nil || m[1] != r.ReceiptedMessageID || m[5] != "DELIVRD" || r.MessageState != 2 {
			t.Errorf("receipt %+v: want text with its receipted_message_id, DELIVRD, message_state 2", r)
		}
		receipted = append(receipted, r.ReceiptedMessageID)
	}
	slices.Sort(ids)
	slices.Sort(receipted)
	if !slices.Equal(ids, receipted) {
		t.Errorf("receipts for %v, want one per submitted id %v", receipted, ids)
	}
	if len(res.MO) != 1 || res.MO[0].Text != mo || res.MO[0].DataCoding != 8 ||
		res.MO[0].Source != "4917099999" || res.MO[0].Dest != "Catalyst" {
		t.Errorf("MO seen by node = %+v, want %q as UCS-2 from 4917099999", res.MO, mo)
	}

	msgs := s.Messages()
	texts := map[string]Reassembled{}
	for _, m := range msgs {
		texts[m.Text] = m
	}
	if m, ok := texts[short]; !ok || m.Total != 1 {
		t.Errorf("GSM-7 message %q not recorded as sent; Messages() = %+v", short, msgs)
	}
	if m, ok := texts[long]; !ok || m.Total != 3 || m.Ref != 0x1234 || !m.Complete {
		t.Errorf("3-part message (16-bit ref 0x1234) not reassembled; Messages() = %+v", msgs)
	}
}
