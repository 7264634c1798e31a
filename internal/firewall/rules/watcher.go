package rules

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Watcher hot-reloads a rule file. It polls rather than watching inodes: a
// Kubernetes ConfigMap volume updates by swapping a symlink (..data), which an inode
// watch on the old file never sees, while a stat of the path follows the link to
// whatever it names now. A poll costs one stat while the file is unchanged; a new
// file (after a symlink swap), mtime or size reads and hashes it, and only different content is parsed. Content
// that does not parse is logged once, with its field errors, and the previous set
// stays in force.
type Watcher struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	cur      atomic.Pointer[Set]

	pollMu  sync.Mutex        // one poll at a time; guards the fields below
	stat    os.FileInfo       // of the file the path named at the last read
	sum     [sha256.Size]byte // the content last parsed, good or bad
	statErr bool              // the last stat failed (logged once until it recovers)

	subsMu sync.Mutex
	subs   []func(*Set)
}

// NewWatcher loads path once (a missing or invalid file is an error, so a process
// never starts without rules) and returns a watcher that polls it every interval
// once Run is called. A nil log discards.
func NewWatcher(path string, interval time.Duration, log *slog.Logger) (*Watcher, error) {
	if interval <= 0 {
		return nil, errs.E(errs.Invalid, "firewall rules: poll interval must be positive, not %s", interval)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{path: path, interval: interval, log: log}
	st, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, statError(path, err)
	}
	s, err := Parse(data)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			e.Message = path + ": " + e.Message
		}
		return nil, err
	}
	w.stat, w.sum = st, sha256.Sum256(data)
	w.cur.Store(s)
	return w, nil
}

func statError(path string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errs.Wrap(errs.NotFound, err, "firewall rules %s", path)
	}
	return errs.Wrap(errs.Unavailable, err, "firewall rules %s", path)
}

// Current returns the rule set in force. It never blocks.
func (w *Watcher) Current() *Set { return w.cur.Load() }

// OnChange registers f to be called with the new set after each successful reload,
// once Current already returns it. Calls come from the polling goroutine, one at a
// time and in order; f should not block for long, since polling waits for it.
func (w *Watcher) OnChange(f func(*Set)) {
	w.subsMu.Lock()
	w.subs = append(w.subs, f)
	w.subsMu.Unlock()
}

// Run polls every interval until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.Poll() // Poll logs what went wrong
		}
	}
}

// Poll checks the file once and reloads it if its content changed. It reports
// whether a new set took effect; the error is the stat, read or parse failure (also
// logged), in which case the previous set stays in force.
func (w *Watcher) Poll() (bool, error) {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()

	// Stat before reading: a write that lands after the stat changes the stamp
	// again, so the next poll rereads it.
	st, err := os.Stat(w.path)
	if err == nil && unchanged(w.stat, st) {
		return false, nil
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(w.path)
	}
	if err != nil {
		if !w.statErr {
			w.log.Warn("firewall rules: cannot read the rule file, keeping the previous set",
				"path", w.path, "version", w.Current().Version, "error", err)
		}
		w.statErr = true
		return false, statError(w.path, err)
	}
	w.statErr = false
	w.stat = st
	sum := sha256.Sum256(data)
	if sum == w.sum {
		return false, nil // touched, or rewritten with the same bytes
	}
	w.sum = sum

	prev := w.Current()
	if len(data) == 0 {
		// Most likely a rewrite caught between truncate and write; clearing every
		// rule takes an explicit "[]".
		w.log.Warn("firewall rules: the rule file is empty, keeping the previous set (write [] to clear it)",
			"path", w.path, "version", prev.Version)
		return false, errs.E(errs.Invalid, "firewall rules %s: empty file ignored; write [] for no rules", w.path)
	}
	s, err := Parse(data)
	if err != nil {
		var e *errs.Error
		var problems []string
		if errors.As(err, &e) {
			for _, v := range e.Fields {
				problems = append(problems, describe(v))
			}
		}
		w.log.Error("firewall rules: the changed rule file is invalid, keeping the previous set",
			"path", w.path, "version", prev.Version, "rejected_version", version(data), "problems", problems)
		return false, err
	}
	w.cur.Store(s)
	w.log.Info("firewall rules: reloaded", "path", w.path, "version", s.Version,
		"previous_version", prev.Version, "rules", len(s.Rules))

	w.subsMu.Lock()
	subs := slices.Clone(w.subs)
	w.subsMu.Unlock()
	for _, f := range subs {
		f(s)
	}
	return true, nil
}

// unchanged reports whether two stats of the path look like the same content: the
// same file (a ConfigMap's symlink swap names a new one), mtime and size.
func unchanged(prev, cur os.FileInfo) bool {
	return os.SameFile(prev, cur) && cur.ModTime().Equal(prev.ModTime()) && cur.Size() == prev.Size()
}
