package client

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// interopSMSCDir holds the third-party SMSC (server.js); its package.json pins the npm
// smpp version.
var interopSMSCDir = filepath.Join("..", "..", "..", "tests", "smsc_interop")

// nodeEvent is one JSON line server.js prints.
type nodeEvent struct {
	Event string `json:"event"`
	Port  int    `json:"port"`
	// bind
	Command  string `json:"command"`
	SystemID string `json:"system_id"`
	Status   int    `json:"status"`
	// submit_sm
	MessageID          string   `json:"message_id"`
	DataCoding         int      `json:"data_coding"`
	EsmClass           int      `json:"esm_class"`
	RegisteredDelivery int      `json:"registered_delivery"`
	SourceAddr         string   `json:"source_addr"`
	SourceTON          int      `json:"source_addr_ton"`
	DestAddr           string   `json:"destination_addr"`
	DestTON            int      `json:"destination_addr_ton"`
	ShortMessage       string   `json:"short_message"`
	UDH                []string `json:"udh"`
	Text               string   `json:"text"`
	// deliver_sm_resp
	Kind string `json:"kind"`
	// session_error, server_error
	Error string `json:"error"`
}

// nodeSMSC is a running tests/smsc_interop/server.js.
type nodeSMSC struct {
	addr   string
	mu     sync.Mutex
	events []nodeEvent
	stderr *strings.Builder
}

func (n *nodeSMSC) stderrText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stderr.String()
}

func (n *nodeSMSC) snapshot() []nodeEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]nodeEvent(nil), n.events...)
}

// waitFor polls the events until ok holds for them, up to waitLimit.
func (n *nodeSMSC) waitFor(t *testing.T, what string, ok func([]nodeEvent) bool) []nodeEvent {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ev := n.snapshot()
		if ok(ev) {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("node SMSC: no %s within %v; events %+v\nstderr:\n%s", what, waitLimit, ev, n.stderrText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startNodeSMSC runs server.js on a free port and collects its events until the test ends.
func startNodeSMSC(t *testing.T) *nodeSMSC {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "interop test needs node: %v", err)
	}
	modules := testenv.NPMInstall(t, interopSMSCDir, "smpp")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join(interopSMSCDir, "server.js"), "0", "--exit-on-eof")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	n := &nodeSMSC{stderr: new(strings.Builder)}
	cmd.Stderr = &lockedWriter{w: n.stderr, mu: &n.mu}
	stdin, err := cmd.StdinPipe() // closed when the test process ends, however it ends
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	listening := make(chan int, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var ev nodeEvent
			if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
				ev = nodeEvent{Event: "unparsed", Error: fmt.Sprintf("%q: %v", lines.Text(), err)}
			}
			n.mu.Lock()
			n.events = append(n.events, ev)
			n.mu.Unlock()
			if ev.Event == "listening" {
				listening <- ev.Port
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		cancel()
		<-read
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node SMSC stderr:\n%s", n.stderrText())
		}
	})
	select {
	case port := <-listening:
		n.addr = fmt.Sprintf("127.0.0.1:%d", port)
	case <-read:
		t.Fatalf("node SMSC exited before listening; events %+v\nstderr:\n%s", n.snapshot(), n.stderrText())
	case <-time.After(waitLimit):
		t.Fatalf("node SMSC not listening within %v\nstderr:\n%s", waitLimit, n.stderrText())
	}
	return n
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// interopHandler records what the session hands over.
type interopHandler struct {
	mu       sync.Mutex
	receipts []sms.Receipt
	mos      []MO
	changed  chan struct{}
}

func (h *interopHandler) Receipt(_ context.Context, r sms.Receipt) error {
	h.mu.Lock()
	h.receipts = append(h.receipts, r)
	h.mu.Unlock()
	h.changed <- struct{}{}
	return nil
}

func (h *interopHandler) MO(_ context.Context, m MO) error {
	h.mu.Lock()
	h.mos = append(h.mos, m)
	h.mu.Unlock()
	h.changed <- struct{}{}
	return nil
}

// TestInteropNodeSMSC runs the client against an SMSC built with a third-party SMPP
// stack, the npm smpp package (tests/smsc_interop/server.js): a refused bind, a bind,
// a GSM-7 and a 3-part UCS-2 message, a delivery receipt for every part, a UCS-2 MO,
// and concatenated MOs (sar_ TLVs; a 16-bit-reference UDH) whose parts join.
func TestInteropNodeSMSC(t *testing.T) {
	t.Parallel()
	n := startNodeSMSC(t)
	cfg := Config{
		Addr: n.addr, SystemID: "catalyst", Password: "secret",
		ResponseTimeout: 5 * time.Second,
		RebindMin:       10 * time.Millisecond, RebindMax: 100 * time.Millisecond,
		Logger: testLogger(t, "esme"),
	}

	// A wrong password: ESME_RBINDFAIL from the node SMSC is errs.Unauthenticated.
	bad := cfg
	bad.Password = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	_, err := Dial(ctx, bad, &interopHandler{changed: make(chan struct{}, 16)})
	cancel()
	var se *StatusError
	if errs.CodeOf(err) != errs.Unauthenticated || !errors.As(err, &se) || se.Status != 0x0D {
		t.Errorf("Dial with a wrong password = %v, want errs.Unauthenticated with ESME_RBINDFAIL", err)
	}

	h := &interopHandler{changed: make(chan struct{}, 64)}
	s := dial(t, cfg, h)

	const (
		from, to = "Catalyst", "+447700900123"
		short    = "Hello from Catalyst {interop} €1 [ok]"
		moText   = "héllo ☺"
	)
	long := strings.Repeat("Grüße aus Київ — ☺ ", 8) + "end 😀" // UCS-2, 3 parts
	gsm, err := sms.Encode(short, sms.Options{})
	if err != nil || gsm.DataCoding != 0 || len(gsm.Parts) != 1 {
		t.Fatalf("Encode(%q) = data_coding %d, %d parts, %v; want GSM-7 in 1 part", short, gsm.DataCoding, len(gsm.Parts), err)
	}
	ucs, err := sms.Encode(long, sms.Options{Reference: 0x5A})
	if err != nil || ucs.DataCoding != 8 || len(ucs.Parts) != 3 {
		t.Fatalf("Encode(long) = data_coding %d, %d parts, %v; want UCS-2 in 3 parts", ucs.DataCoding, len(ucs.Parts), err)
	}
	reqs := append(Requests(from, to, gsm), Requests(from, to, ucs)...)

	// All four in flight at once.
	results := make([]SubmitResult, len(reqs))
	submitErrs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			results[i], submitErrs[i] = s.Submit(ctx, r)
		}()
	}
	wg.Wait()
	hexID := regexp.MustCompile(`^[0-9A-F]+$`)
	want := map[string]int{} // normalised id → index into reqs
	for i, res := range results {
		if submitErrs[i] != nil {
			t.Fatalf("Submit part %d: %v", i, submitErrs[i])
		}
		if res.ID == "" || !hexID.MatchString(res.RawID) || res.ID != sms.NormalizeID(res.RawID) {
			t.Errorf("Submit part %d = %+v, want the SMSC's hex id and its normal form", i, res)
		}
		if _, dup := want[res.ID]; dup {
			t.Errorf("Submit part %d: id %q given twice", i, res.ID)
		}
		want[res.ID] = i
	}

	// What the node SMSC decoded from each submit_sm.
	events := n.waitFor(t, "submit_sm for every part", func(ev []nodeEvent) bool {
		c := 0
		for _, e := range ev {
			if e.Event == "submit_sm" {
				c++
			}
		}
		return c >= len(reqs)
	})
	seen := map[string]nodeEvent{}
	for _, e := range events {
		if e.Event == "submit_sm" {
			seen[e.MessageID] = e
		}
	}
	var ucsText strings.Builder
	for i, res := range results {
		e, ok := seen[res.RawID]
		if !ok {
			t.Errorf("part %d: node SMSC logged no submit_sm with id %q", i, res.RawID)
			continue
		}
		r := reqs[i]
		if e.DataCoding != int(r.DataCoding) || e.EsmClass != int(r.EsmClass) || e.RegisteredDelivery != 1 ||
			e.ShortMessage != hex.EncodeToString(r.ShortMessage) {
			t.Errorf("part %d: node SMSC saw data_coding %d esm_class 0x%02X registered_delivery %d short_message %s; sent %d 0x%02X 1 %x",
				i, e.DataCoding, e.EsmClass, e.RegisteredDelivery, e.ShortMessage, r.DataCoding, r.EsmClass, r.ShortMessage)
		}
		if e.SourceAddr != from || e.SourceTON != 5 || e.DestAddr != strings.TrimPrefix(to, "+") || e.DestTON != 1 {
			t.Errorf("part %d: node SMSC saw %q (TON %d) → %q (TON %d), want %q (5) → %q (1)",
				i, e.SourceAddr, e.SourceTON, e.DestAddr, e.DestTON, from, strings.TrimPrefix(to, "+"))
		}
		if i == 0 {
			if e.DataCoding != 0 || e.EsmClass != 0 || len(e.UDH) != 0 || e.Text != short {
				t.Errorf("GSM-7 message: node SMSC saw data_coding %d esm_class 0x%02X UDH %v text %q, want 0, 0x00, none, %q",
					e.DataCoding, e.EsmClass, e.UDH, e.Text, short)
			}
			continue
		}
		// npm smpp splits a UDH into information elements: IEI 00 (8-bit reference), length 3.
		wantUDH := fmt.Sprintf("0003%02x%02x%02x", 0x5A, len(ucs.Parts), i)
		if e.DataCoding != 8 || e.EsmClass != 0x40 || len(e.UDH) != 1 || e.UDH[0] != wantUDH {
			t.Errorf("UCS-2 part %d: node SMSC saw data_coding %d esm_class 0x%02X UDH %v, want 8, 0x40, [%s]",
				i, e.DataCoding, e.EsmClass, e.UDH, wantUDH)
		}
		ucsText.WriteString(e.Text)
	}
	if ucsText.String() != long {
		t.Errorf("UCS-2 parts as decoded by node SMSC joined = %q, want %q", ucsText.String(), long)
	}

	// A DELIVRD receipt per submitted id, and the MO.
	deadline := time.After(waitLimit)
	for {
		h.mu.Lock()
		done := len(h.receipts) >= len(reqs) && len(h.mos) >= 1+nodeConcatParts
		h.mu.Unlock()
		if done {
			break
		}
		select {
		case <-h.changed:
		case <-deadline:
			h.mu.Lock()
			receipts, mos := fmt.Sprintf("%+v", h.receipts), fmt.Sprintf("%+v", h.mos)
			h.mu.Unlock()
			t.Fatalf("within %v: receipts %s, MOs %s; want %d receipts and 1 MO", waitLimit, receipts, mos, len(reqs))
		}
	}
	h.mu.Lock()
	receipts, mos := append([]sms.Receipt(nil), h.receipts...), append([]MO(nil), h.mos...)
	h.mu.Unlock()
	got := map[string]bool{}
	for _, r := range receipts {
		if _, ok := want[r.MessageID]; !ok || got[r.MessageID] {
			t.Errorf("receipt for id %q (raw %q): not a submitted id or a duplicate; submitted %v", r.MessageID, r.RawID, want)
		}
		got[r.MessageID] = true
		if r.State != sms.StateDelivered || !r.Final || r.Stat != "DELIVRD" || r.ErrorCode != "000" ||
			r.SubmitDate.IsZero() || r.DoneDate.IsZero() {
			t.Errorf("receipt %+v: want DELIVRD, final, err 000, with dates", r)
		}
	}
	single := slices.DeleteFunc(slices.Clone(mos), func(m MO) bool { return m.Concat != nil })
	checkNodeConcatMOs(t, mos)
	if len(single) != 1 {
		t.Fatalf("MOs of one part = %+v, want 1", single)
	}
	if m := single[0]; m.Text != moText || m.DataCoding != 8 || m.From != "+447700900001" || m.To != "12345" ||
		m.UDH != nil || m.DecodeErr != nil || m.EsmClass != 0 {
		t.Errorf("MO = %+v, want %q as UCS-2 from +447700900001 to 12345", m, moText)
	}

	// The SMSC got ESME_ROK for every deliver_sm: 4 receipts and the MOs.
	events = n.waitFor(t, "deliver_sm_resp for every deliver_sm", func(ev []nodeEvent) bool {
		c := 0
		for _, e := range ev {
			if e.Event == "deliver_sm_resp" {
				c++
			}
		}
		return c >= len(reqs)+1+nodeConcatParts
	})
	for _, e := range events {
		switch {
		case e.Event == "deliver_sm_resp" && e.Status != 0:
			t.Errorf("node SMSC got deliver_sm_resp status 0x%02X for %s %s", e.Status, e.Kind, e.MessageID)
		case e.Event == "session_error" || e.Event == "server_error" || e.Event == "unparsed":
			t.Errorf("node SMSC: %s: %s", e.Event, e.Error)
		}
	}

	// Close unbinds cleanly.
	ctx, cancel = context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	n.waitFor(t, "unbind", func(ev []nodeEvent) bool {
		for _, e := range ev {
			if e.Event == "unbind" {
				return true
			}
		}
		return false
	})
}

// nodeConcatParts is how many parts of concatenated MOs server.js sends (CONCAT_MO).
const nodeConcatParts = 5

// checkNodeConcatMOs finds the parts of server.js's concatenated MOs (sar_ TLVs and
// a 16-bit-reference UDH, from another SMPP stack) and joins each message's bodies.
func checkNodeConcatMOs(t *testing.T, mos []MO) {
	t.Helper()
	type msg struct {
		coding []byte
		bodies [][]byte
	}
	byRef := map[string]*msg{}
	for _, m := range mos {
		c := m.Concat
		if c == nil {
			continue
		}
		g := byRef[c.Ref()]
		if g == nil {
			g = &msg{coding: make([]byte, c.Total), bodies: make([][]byte, c.Total)}
			byRef[c.Ref()] = g
		}
		if c.Total != len(g.bodies) || g.bodies[c.Seq-1] != nil {
			t.Fatalf("part %+v does not fit its message", *c)
		}
		g.coding[c.Seq-1], g.bodies[c.Seq-1] = m.DataCoding, m.Body
	}
	want := map[string]string{"sar:4660": "Part one, part two, part three.", "udh16:43981": "Привет, мир 😀"}
	if len(byRef) != len(want) {
		t.Fatalf("concatenated MOs %v, want %v", slices.Collect(maps.Keys(byRef)), want)
	}
	for ref, text := range want {
		g := byRef[ref]
		if g == nil {
			t.Fatalf("no MO with reference %s", ref)
		}
		if got, err := sms.JoinParts(g.coding, g.bodies); err != nil || got != text {
			t.Errorf("%s joined = %q, %v; want %q", ref, got, err, text)
		}
	}
}
