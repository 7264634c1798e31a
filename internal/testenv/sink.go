package testenv

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Sink is an HTTP CloudEvents subscriber for tests: it records every event it is sent
// and answers as Answer decides.
type Sink struct {
	URL    string
	mu     sync.Mutex
	events []event.Event
	answer AnswerFunc
}

// AnswerFunc decides a sink's response to its n-th event (n counts from 1): a status
// and an optional reply event. A non-2xx answer's body is "sink says <status text>".
type AnswerFunc func(e event.Event, n int) (status int, reply *event.Event)

// NewSink starts a sink closed when the test ends; a nil answer acknowledges with 200.
func NewSink(t testing.TB, answer AnswerFunc) *Sink {
	t.Helper()
	s := &Sink{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Errorf("sink got a non-event: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, *e)
		n := len(s.events)
		s.mu.Unlock()
		status, reply := http.StatusOK, (*event.Event)(nil)
		if s.answer != nil {
			status, reply = s.answer(*e, n)
		}
		if reply != nil {
			if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(reply), status, w); err != nil {
				t.Errorf("write reply: %v", err)
			}
			return
		}
		w.WriteHeader(status)
		_, _ = io.Copy(w, bytes.NewBufferString("sink says "+http.StatusText(status)))
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Received returns every event received so far, in arrival order.
func (s *Sink) Received() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// IDs counts receipts per event id.
func (s *Sink) IDs() map[string]int {
	out := map[string]int{}
	for _, e := range s.Received() {
		out[e.ID()]++
	}
	return out
}

// WaitFor polls cond every 10ms until it holds, failing the test after 30s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
