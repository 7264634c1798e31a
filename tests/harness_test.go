// Package tests holds end-to-end tests of the catalyst binary: they build it once,
// run `catalyst dev` as a real process (killed with SIGKILL where a crash is the
// point), and talk to it only over HTTP and Kafka, as an integrator would.
package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// binary is the catalyst binary built by TestMain.
var binary string

// repoRoot is the repository root, where `catalyst dev` runs.
var repoRoot, _ = filepath.Abs("..")

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "catalyst-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "catalyst")
	build := exec.Command("go", "build", "-o", binary, "./cmd/catalyst")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build catalyst:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devProcess is a running `catalyst dev`.
type devProcess struct {
	cmd        *exec.Cmd
	APIURL     string
	IngressURL string
	mu         sync.Mutex
	output     strings.Builder
	exited     chan struct{}
	exitErr    error
}

var (
	apiLine     = regexp.MustCompile(`api:\s+(http://\S+)`)
	ingressLine = regexp.MustCompile(`ingress:\s+(http://\S+?)/\{namespace\}`)
)

// startDev runs `catalyst dev` on free ports with extra arguments and environment
// and waits until it prints that it is ready. The process is killed when the test
// ends if still running.
func startDev(t *testing.T, env []string, args ...string) *devProcess {
	t.Helper()
	all := append([]string{"dev", "--api-addr", "127.0.0.1:0", "--ingress-addr", "127.0.0.1:0", "--smsc-addr", "127.0.0.1:0"}, args...)
	cmd := exec.Command(binary, all...)
	cmd.Dir = repoRoot
	// The platform token lets the tests post the platform's own event types, as a
	// function pod would; env may override it.
	cmd.Env = append(append(os.Environ(), "CATALYST_PLATFORM_TOKEN="+testenv.PlatformToken), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.output.WriteString(line + "\n")
			if m := apiLine.FindStringSubmatch(line); m != nil {
				p.APIURL = m[1]
			}
			if m := ingressLine.FindStringSubmatch(line); m != nil {
				p.IngressURL = m[1]
			}
			p.mu.Unlock()
			if strings.HasPrefix(line, "catalyst dev: ready") && !signalled {
				signalled = true
				close(ready)
			}
		}
	}()
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("catalyst dev output:\n%s", p.Output())
		}
	})
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("catalyst dev exited before ready: %v\n%s", p.exitErr, p.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("catalyst dev not ready after 60s:\n%s", p.Output())
	}
	return p
}

type lockedWriter struct{ p *devProcess }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.output.Write(b)
}

// Output is everything the process printed so far.
func (p *devProcess) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Kill crashes the process (SIGKILL: no drain, no commit) and waits for it to die.
func (p *devProcess) Kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Interrupt sends Ctrl-C and waits for a clean exit.
func (p *devProcess) Interrupt(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(45 * time.Second):
		t.Fatalf("catalyst dev did not stop within 45s of SIGINT")
	}
	if p.exitErr != nil {
		t.Fatalf("catalyst dev exited with %v after SIGINT:\n%s", p.exitErr, p.Output())
	}
}

// writeManifest writes YAML to a temporary file for `-f`.
func writeManifest(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "extra.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
