package rules

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

const (
	rulesV1 = "- {name: bombing, match: {condition: \"messages_per_second > 100\"}, action: throttle}\n"
	rulesV2 = rulesV1 + "- {name: phishing, match: {keywords: [verify account]}, action: block}\n"
	// rulesBad has a problem at a known path.
	rulesBad = rulesV1 + "- {name: phishing, match: {keywords: [verify account]}, action: delete}\n"
)

// syncBuffer is a log destination the polling goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(s *Set) []string {
	var n []string
	for _, r := range s.Rules {
		n = append(n, r.Name)
	}
	return n
}

func TestWatcherReloadsARewrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall-rules.yaml")
	write(t, path, rulesV1)
	w, err := NewWatcher(path, 5*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := w.Current()
	if got := names(first); len(got) != 1 {
		t.Fatalf("initial rules %q", got)
	}
	changes := make(chan *Set, 4)
	w.OnChange(func(s *Set) {
		if w.Current() != s {
			t.Error("OnChange ran before Current returned the new set")
		}
		changes <- s
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	write(t, path, rulesV2)
	select {
	case s := <-changes:
		if got := names(s); strings.Join(got, ",") != "bombing,phishing" {
			t.Errorf("reloaded rules %q", got)
		}
		if s.Version == first.Version {
			t.Error("the version did not change with the content")
		}
		if kw := s.Keywords(); len(kw) != 1 || kw[0] != "verify account" {
			t.Errorf("Keywords = %q", kw)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s of the rewrite")
	}
	if w.Current() == first {
		t.Error("Current still returns the first set")
	}
}

func TestWatcherPoll(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall-rules.yaml")
	write(t, path, rulesV1)
	logs := &syncBuffer{}
	w, err := NewWatcher(path, time.Hour, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	w.OnChange(func(*Set) { calls++ })
	first := w.Current()

	if changed, err := w.Poll(); changed || err != nil {
		t.Fatalf("Poll of an unchanged file = %v, %v", changed, err)
	}
	// Same bytes, new mtime: read and hashed, not reloaded.
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Poll(); changed || err != nil || w.Current() != first {
		t.Fatalf("Poll after a touch = %v, %v; want no reload", changed, err)
	}

	// An invalid rewrite: logged with its field path, previous set kept.
	write(t, path, rulesBad)
	changed, err := w.Poll()
	if changed || errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("Poll of an invalid file = %v, %v; want Invalid", changed, err)
	}
	if w.Current() != first || calls != 0 {
		t.Fatalf("an invalid file replaced the set (calls %d)", calls)
	}
	out := logs.String()
	if !strings.Contains(out, "[1].action") || !strings.Contains(out, first.Version) || !strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("log does not name the field, the kept version and the level:\n%s", out)
	}
	// The same bad content again is not logged again.
	if err := os.Chtimes(path, future.Add(time.Minute), future.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Poll(); err != nil {
		t.Errorf("second Poll of the same bad content = %v, want nil (already reported)", err)
	}
	if n := strings.Count(logs.String(), "[1].action"); n != 1 {
		t.Errorf("the bad file was logged %d times, want once", n)
	}

	// Fixed: reloaded.
	write(t, path, rulesV2)
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("Poll of the fixed file = %v, %v", changed, err)
	}
	if calls != 1 || len(w.Current().Rules) != 2 {
		t.Errorf("after the fix: %d calls, %d rules", calls, len(w.Current().Rules))
	}

	// An empty file is a write in progress, not "no rules": kept, and "[]" clears.
	write(t, path, "")
	if changed, err := w.Poll(); changed || errs.CodeOf(err) != errs.Invalid || len(w.Current().Rules) != 2 {
		t.Errorf("Poll of an empty file = %v, %v, %d rules; want the set kept", changed, err, len(w.Current().Rules))
	}
	write(t, path, "[]\n")
	if changed, err := w.Poll(); !changed || err != nil || len(w.Current().Rules) != 0 {
		t.Errorf("Poll of [] = %v, %v, %d rules; want an empty set", changed, err, len(w.Current().Rules))
	}

	// A missing file keeps the set too, and is reported once until it comes back.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	before := w.Current()
	for range 2 {
		if _, err := w.Poll(); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("Poll of a missing file = %v, want NotFound", err)
		}
	}
	if w.Current() != before || strings.Count(logs.String(), "cannot read") != 1 {
		t.Errorf("missing file: set replaced or not logged exactly once:\n%s", logs.String())
	}
}

// TestWatcherSymlinkSwap updates the file the way a Kubernetes ConfigMap volume
// does: the path is a symlink through ..data, and ..data is atomically re-pointed at
// a new directory.
func TestWatcherSymlinkSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, v := range []struct{ dir, content string }{{"v1", rulesV1}, {"v2", rulesV2}} {
		if err := os.Mkdir(filepath.Join(dir, v.dir), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, v.dir, "firewall-rules.yaml"), v.content)
	}
	// v2 is written first and older, so only the swap can tell the watcher.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "v2", "firewall-rules.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	mustLink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	mustLink("v1", filepath.Join(dir, "..data"))
	path := filepath.Join(dir, "firewall-rules.yaml")
	mustLink(filepath.Join("..data", "firewall-rules.yaml"), path)

	w, err := NewWatcher(path, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got *Set
	w.OnChange(func(s *Set) { got = s })
	mustLink("v2", filepath.Join(dir, "..data_tmp"))
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("Poll after the swap = %v, %v", changed, err)
	}
	if got == nil || len(got.Rules) != 2 || w.Current() != got {
		t.Fatalf("after the swap: OnChange got %v, Current %v", got, w.Current())
	}
}

func TestNewWatcherErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, rulesBad)
	good := filepath.Join(dir, "good.yaml")
	write(t, good, rulesV1)
	for _, tc := range []struct {
		path     string
		interval time.Duration
		code     errs.Code
		says     string
	}{
		{bad, time.Second, errs.Invalid, "[1].action"},
		{filepath.Join(dir, "none.yaml"), time.Second, errs.NotFound, "none.yaml"},
		{good, 0, errs.Invalid, "interval"},
	} {
		_, err := NewWatcher(tc.path, tc.interval, nil)
		if errs.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("NewWatcher(%s, %s) = %v, want %s saying %q", filepath.Base(tc.path), tc.interval, err, tc.code, tc.says)
		}
	}
}

// TestWatcherConcurrentCurrent reloads continuously while readers evaluate through
// Current; run with -race. The test polls itself, so every rewrite is seen whole.
func TestWatcherConcurrentCurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall-rules.yaml")
	write(t, path, rulesV1)
	w, err := NewWatcher(path, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	versions := map[string]bool{}
	w.OnChange(func(s *Set) { mu.Lock(); versions[s.Version] = true; mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := firewall.Features{MessagesPerSecond: 500, Keywords: []string{"verify account"}}
			for ctx.Err() == nil {
				s := w.Current()
				if hits := s.Evaluate("sms", &f); len(hits) != len(s.Rules) {
					t.Errorf("set %s: %d hits of %d rules", s.Version, len(hits), len(s.Rules))
					return
				}
			}
		}()
	}
	for i := range 20 {
		content := rulesV1
		if i%2 == 0 {
			content = rulesV2
		}
		write(t, path, content+strings.Repeat("#\n", i)) // distinct bytes each time
		if _, err := w.Poll(); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(versions) != 20 {
		t.Errorf("%d distinct versions reloaded, want 20", len(versions))
	}
}
