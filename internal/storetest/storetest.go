// Package storetest holds the contract suites every adapter of tenant.Store,
// message.Store and idempotency.Store must pass (internal/inmem, internal/postgres):
// one table-driven subtest per line of the interfaces' doc comments. An adapter's
// test calls, for example,
//
//	storetest.MessageStore(t, func(t *testing.T, now func() time.Time) message.Store {
//		return inmem.New(inmem.WithClock(now)).Messages()
//	})
//
// The suites run their subtests in parallel and call newStore once per subtest, with
// that subtest's Clock; stores from different calls may share their data (one
// database), because every subtest uses tenant, key and message ids of its own.
// The store must take every time it records from now (CreatedAt, UpdatedAt, a
// missing entry time, idempotency expiry), so the suites step time instead of
// sleeping.
package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start is where every suite clock begins: not in UTC and with nanoseconds, so a
// store that forgets to normalize to UTC microseconds is caught.
var start = time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+2", 2*3600))

// stored is t as a store must return it: UTC, truncated to microseconds.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newID returns a fresh id with a readable prefix.
func newID(prefix string) string { return prefix + "-" + uuid.NewString() }

// wantCode fails the test unless err carries code ("" for nil).
func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// mustNot fails the test when err is not nil.
func mustNot(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantTime fails unless got equals want as stored and is in UTC.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(stored(want)) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v in UTC", what, got, stored(want))
	}
}

// jsonEqual reports whether a and b hold the same JSON value (a database may
// reformat a document); two empty documents are equal.
func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}
