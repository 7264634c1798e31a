package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
)

// IdempotencyStore runs the idempotency.Store contract against the stores newStore
// returns. Expiry is tested by advancing the store's clock: a key expires exactly
// ttl after the Begin that reserved it.
func IdempotencyStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) idempotency.Store) {
	for _, tc := range idempotencyCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, &idemEnv{s: newStore(t, clock.Now), clock: clock, ctx: context.Background(), tenant: newID("tenant"), key: newID("idem")})
		})
	}
}

type idemEnv struct {
	s           idempotency.Store
	clock       *Clock
	ctx         context.Context
	tenant, key string // the subtest's own
}

const ttl = time.Hour

var outcomeName = map[idempotency.Outcome]string{
	idempotency.Started: "Started", idempotency.Replay: "Replay",
	idempotency.InProgress: "InProgress", idempotency.Mismatch: "Mismatch",
}

// begin calls Begin for e's key and fails unless the outcome is want.
func (e *idemEnv) begin(t *testing.T, fingerprint string, want idempotency.Outcome) idempotency.Response {
	t.Helper()
	got, r, err := e.s.Begin(e.ctx, e.tenant, e.key, fingerprint, ttl)
	if err != nil {
		t.Fatalf("Begin(%s): %v", fingerprint, err)
	}
	if got != want {
		t.Fatalf("Begin(%s) = %s, want %s", fingerprint, outcomeName[got], outcomeName[want])
	}
	return r
}

func (e *idemEnv) complete(t *testing.T, r idempotency.Response) {
	t.Helper()
	mustNot(t, e.s.Complete(e.ctx, e.tenant, e.key, r))
}

var answer = idempotency.Response{Status: 202, Body: []byte(`{"message_id":"6f1c"}`)}

func wantResponse(t *testing.T, got, want idempotency.Response) {
	t.Helper()
	if got.Status != want.Status || !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("replayed %d %q, want %d %q", got.Status, got.Body, want.Status, want.Body)
	}
}

var idempotencyCases = []struct {
	name string
	run  func(t *testing.T, e *idemEnv)
}{
	{"a free key starts, a second request is in progress", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.begin(t, "fp1", idempotency.InProgress)
		e.begin(t, "fp1", idempotency.InProgress)
	}},
	{"another body is a mismatch, in progress or completed", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.begin(t, "fp2", idempotency.Mismatch)
		e.complete(t, answer)
		e.begin(t, "fp2", idempotency.Mismatch)
	}},
	{"a completed key replays its answer", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.complete(t, answer)
		for range 2 {
			wantResponse(t, e.begin(t, "fp1", idempotency.Replay), answer)
		}
	}},
	{"an empty answer replays", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.complete(t, idempotency.Response{Status: 204})
		wantResponse(t, e.begin(t, "fp1", idempotency.Replay), idempotency.Response{Status: 204})
	}},
	{"release frees the key", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		mustNot(t, e.s.Release(e.ctx, e.tenant, e.key))
		e.begin(t, "fp2", idempotency.Started)
		e.begin(t, "fp2", idempotency.InProgress)
		mustNot(t, e.s.Release(e.ctx, e.tenant, e.key))
		wantCode(t, e.s.Complete(e.ctx, e.tenant, e.key, answer), errs.NotFound) // released: nothing to complete
	}},
	{"releasing a free key does nothing", func(t *testing.T, e *idemEnv) {
		mustNot(t, e.s.Release(e.ctx, e.tenant, e.key))
		e.begin(t, "fp1", idempotency.Started)
	}},
	{"a completed key cannot be released", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.complete(t, answer)
		wantCode(t, e.s.Release(e.ctx, e.tenant, e.key), errs.Conflict)
		wantResponse(t, e.begin(t, "fp1", idempotency.Replay), answer)
	}},
	{"complete needs a reservation and completes once", func(t *testing.T, e *idemEnv) {
		wantCode(t, e.s.Complete(e.ctx, e.tenant, e.key, answer), errs.NotFound)
		e.begin(t, "fp1", idempotency.Started)
		e.complete(t, answer)
		wantCode(t, e.s.Complete(e.ctx, e.tenant, e.key, idempotency.Response{Status: 500}), errs.Conflict)
		wantResponse(t, e.begin(t, "fp1", idempotency.Replay), answer)
	}},
	{"a reservation expires ttl after it began", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.clock.Advance(ttl / 2)
		e.begin(t, "fp1", idempotency.InProgress) // does not extend the ttl
		e.clock.Advance(ttl/2 - time.Microsecond)
		e.begin(t, "fp2", idempotency.Mismatch)
		e.clock.Advance(time.Microsecond)
		wantCode(t, e.s.Complete(e.ctx, e.tenant, e.key, answer), errs.NotFound)
		e.begin(t, "fp2", idempotency.Started)
		e.begin(t, "fp2", idempotency.InProgress)
	}},
	{"a completed answer expires ttl after it began", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		e.complete(t, answer)
		e.clock.Advance(ttl - time.Microsecond)
		wantResponse(t, e.begin(t, "fp1", idempotency.Replay), answer)
		e.clock.Advance(time.Microsecond)
		mustNot(t, e.s.Release(e.ctx, e.tenant, e.key)) // free again: nothing to release
		e.begin(t, "fp1", idempotency.Started)
		e.begin(t, "fp1", idempotency.InProgress)
	}},
	{"keys are scoped by tenant", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		other := *e
		other.tenant = newID("tenant")
		other.begin(t, "fp2", idempotency.Started)
		other.complete(t, answer)
		e.begin(t, "fp1", idempotency.InProgress)
	}},
	{"concurrent begins start exactly once", func(t *testing.T, e *idemEnv) {
		for round, expired := range []bool{false, true} {
			if expired { // the race to take over an expired key
				e.clock.Advance(2 * ttl)
			}
			counts := make(map[idempotency.Outcome]int)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					o, _, err := e.s.Begin(e.ctx, e.tenant, e.key, "fp1", ttl)
					if err != nil {
						t.Errorf("round %d: Begin: %v", round, err)
						return
					}
					mu.Lock()
					counts[o]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if counts[idempotency.Started] != 1 || counts[idempotency.InProgress] != 19 {
				t.Errorf("round %d: outcomes %v, want 1 Started and 19 InProgress", round, counts)
			}
		}
	}},
	{"bad input is Invalid", func(t *testing.T, e *idemEnv) {
		for _, c := range []struct {
			name        string
			tenant, key string
			ttl         time.Duration
		}{
			{"no tenant", "", e.key, ttl},
			{"no key", e.tenant, "", ttl},
			{"zero ttl", e.tenant, e.key, 0},
			{"negative ttl", e.tenant, e.key, -time.Second},
		} {
			_, _, err := e.s.Begin(e.ctx, c.tenant, c.key, "fp1", c.ttl)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Begin %s: error %v, want code %q", c.name, err, errs.Invalid)
			}
		}
		e.begin(t, "fp1", idempotency.Started)
		wantCode(t, e.s.Complete(e.ctx, e.tenant, e.key, idempotency.Response{Status: 0}), errs.Invalid)
		wantCode(t, e.s.Complete(e.ctx, e.tenant, "", answer), errs.Invalid)
		wantCode(t, e.s.Release(e.ctx, "", e.key), errs.Invalid)
		e.begin(t, "fp1", idempotency.InProgress)
	}},
	{"answers are copied in and out", func(t *testing.T, e *idemEnv) {
		e.begin(t, "fp1", idempotency.Started)
		body := []byte("first answer")
		e.complete(t, idempotency.Response{Status: 200, Body: body})
		body[0] = 'X'
		r := e.begin(t, "fp1", idempotency.Replay)
		wantResponse(t, r, idempotency.Response{Status: 200, Body: []byte("first answer")})
		r.Body[0] = 'Y'
		wantResponse(t, e.begin(t, "fp1", idempotency.Replay), idempotency.Response{Status: 200, Body: []byte("first answer")})
	}},
}
