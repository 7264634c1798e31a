package client

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// stateLog records Config.OnState calls.
type stateLog struct {
	mu     sync.Mutex
	states []bool
}

func (l *stateLog) record(bound bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, bound)
}

func (l *stateLog) get() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states)
}

func TestBoundAndOnState(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	var log stateLog
	cfg := testConfig(srv.Addr())
	// Slow rebinds (at least 150ms) so that the unbound state can be seen.
	cfg.RebindMin, cfg.RebindMax = 300*time.Millisecond, 300*time.Millisecond
	cfg.OnState = log.record
	s, err := Dial(context.Background(), cfg, newRecorder())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) }) // on a failure; Close is idempotent
	if !s.Bound() {
		t.Fatal("Bound() = false after Dial")
	}
	eventually(t, "OnState(true) for the bind of Dial", func() bool { return len(log.get()) >= 1 })

	srv.DropConnections()
	eventually(t, "Bound() = false after the drop", func() bool { return !s.Bound() })
	eventually(t, "OnState(false) for the loss", func() bool { return len(log.get()) >= 2 })
	eventually(t, "Bound() = true after the rebind", s.Bound)
	eventually(t, "OnState(true) for the rebind", func() bool { return len(log.get()) >= 3 })
	if _, err := s.Submit(context.Background(), SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}); err != nil {
		t.Fatalf("Submit after rebind: %v", err)
	}
	if got, want := log.get(), []bool{true, false, true}; !slices.Equal(got, want) {
		t.Fatalf("OnState calls %v, want %v", got, want)
	}

	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s.Bound() {
		t.Error("Bound() = true after Close")
	}
	// The last call, false, is made before Close returns.
	if got, want := log.get(), []bool{true, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("OnState calls after Close %v, want %v", got, want)
	}
}

// TestOnStateWithoutLoss: a Session closed while bound reports true then false.
func TestOnStateWithoutLoss(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	var log stateLog
	cfg := testConfig(srv.Addr())
	cfg.OnState = log.record
	s, err := Dial(context.Background(), cfg, newRecorder())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) }) // on a failure; Close is idempotent
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := log.get(), []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("OnState calls %v, want %v", got, want)
	}
	if s.Bound() {
		t.Error("Bound() = true after Close")
	}
}
