package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// backgroundMakeRun is a script that starts `make run` as a background job, as a
// newcomer's script does. Its shell is not interactive, so the job starts with
// SIGINT ignored (POSIX), and make and catalyst dev inherit that. The script traps
// SIGINT itself so that it outlives a SIGINT to the group and reports make's status.
const backgroundMakeRun = `trap 'echo "script: SIGINT"' INT
make run BIN="$CATALYST_TEST_BIN" ARGS="--api-addr 127.0.0.1:0 --ingress-addr 127.0.0.1:0 --smsc-addr 127.0.0.1:0" &
make_pid=$!
echo "make pid $make_pid"
wait $make_pid; status=$?
if [ $status -gt 128 ]; then wait $make_pid; status=$?; fi # a trapped signal ended the first wait
echo "make exited $status"
`

// TestMakeRunStops runs `make run` in the background of a script and stops it as a
// user would: Ctrl-C (SIGINT to the whole foreground process group: the script, make
// and catalyst dev) or `kill $!` (SIGTERM to make, which hands it on). catalyst dev
// must stop, drain and say so, log no lost SMPP connection, and make must end.
func TestMakeRunStops(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tests := []struct {
		name       string
		stop       func(t *testing.T, pgid, makePID int)
		wantStatus string
	}{
		{"Ctrl-C: SIGINT to the process group", func(t *testing.T, pgid, _ int) {
			if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		}, "make exited 0"},
		{"kill $!: SIGTERM to make", func(t *testing.T, _, makePID int) {
			if err := syscall.Kill(makePID, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}, "make exited 143"}, // make re-raises SIGTERM once its recipe ended
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("sh", "-c", backgroundMakeRun)
			cmd.Dir = repoRoot
			// Its own binary: make run rebuilds BIN, and other tests run the shared one.
			cmd.Env = append(os.Environ(), "CATALYST_TEST_BIN="+filepath.Join(t.TempDir(), "catalyst"), "DATABASE_URL=", "REDIS_URL=")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground group
			var mu sync.Mutex
			var output strings.Builder
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = w, w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			pgid := cmd.Process.Pid
			t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
			makePID := make(chan int, 1)
			ready := make(chan struct{})
			scanned := make(chan struct{})
			go func() {
				defer close(scanned)
				sc := bufio.NewScanner(r)
				for sc.Scan() {
					line := sc.Text()
					mu.Lock()
					output.WriteString(line + "\n")
					mu.Unlock()
					var pid int
					if n, _ := fmt.Sscanf(line, "make pid %d", &pid); n == 1 {
						makePID <- pid
					}
					if strings.HasPrefix(line, "catalyst dev: ready") {
						close(ready)
					}
				}
			}()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			out := func() string { mu.Lock(); defer mu.Unlock(); return output.String() }
			select {
			case <-ready:
			case err := <-exited:
				t.Fatalf("the script ended before catalyst dev was ready: %v\n%s", err, out())
			case <-time.After(3 * time.Minute): // make run builds the binary first
				t.Fatalf("catalyst dev not ready within 3 minutes:\n%s", out())
			}
			tt.stop(t, pgid, <-makePID)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("the script: %v", err)
				}
			case <-time.After(45 * time.Second):
				t.Fatalf("catalyst dev did not stop within 45s:\n%s", out())
			}
			<-scanned
			got := out()
			for _, want := range []string{"catalyst dev: stopped", tt.wantStatus} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			for _, bad := range []string{"connection lost", "rebinding", "level=ERROR"} {
				if strings.Contains(got, bad) {
					t.Errorf("a deliberate stop logged %q:\n%s", bad, got)
				}
			}
		})
	}
}
