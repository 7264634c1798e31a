package tests

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// `catalyst function echo` serves the function as its Knative pod would: readiness,
// the reply event in the HTTP response, 400 for a malformed event, Prometheus
// counters, and a clean exit on SIGTERM.
func TestFunctionCommandServesOneFunctionLikeAPod(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	cmd := exec.Command(binary, "function", "echo")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	testenv.WaitFor(t, "readiness", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(`{"a":1}`))
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "p1", "ce-type": "io.catalyst.diagnostics.ping",
		"ce-source": "/e2e", "ce-tenantid": "acme", "content-type": "application/json"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ce-type") != "io.catalyst.diagnostics.pong" ||
		resp.Header.Get("ce-subject") != "p1" || resp.Header.Get("ce-tenantid") != "acme" || string(body) != `{"a":1}` {
		t.Fatalf("reply: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	bad, err := http.Post(base+"/", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("not a CloudEvent: %d, want 400", bad.StatusCode)
	}

	metrics, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, want := range []string{
		`catalyst_function_events_received_total{function="echo"} 2`,
		`catalyst_function_events_replied_total{function="echo"} 1`,
		`catalyst_function_handle_duration_seconds_count{function="echo"} 1`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("no exit within 40s of SIGTERM")
	}
}
