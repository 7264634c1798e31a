package testenv

import (
	"context"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Recorder is an fn.Emitter that keeps what a function emitted outside its reply.
type Recorder struct {
	mu     sync.Mutex
	events []event.Event
}

// Emit keeps e.
func (r *Recorder) Emit(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// All returns every event kept so far.
func (r *Recorder) All() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

// Take returns the events kept since the last Take and forgets them.
func (r *Recorder) Take() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}
