package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
)

// RateLimiter runs the ratelimit.Limiter contract against the limiters newLimiter
// returns. newLimiter is called once per subtest (subtests run in parallel and use
// keys of their own) and returns the limiter and a function that steps its clock:
// the suite never sleeps, so decisions and RetryAfter are checked exactly, to the
// microsecond. A Redis limiter is tested with a test clock in place of Redis TIME
// (production uses Redis TIME; see ratelimit.Redis).
func RateLimiter(t *testing.T, newLimiter func(t *testing.T) (ratelimit.Limiter, func(time.Duration))) {
	for _, tc := range rateLimiterCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, advance := newLimiter(t)
			tc.run(t, &rlEnv{l: l, advance: advance, ctx: context.Background(), key: newID("rl")})
		})
	}
}

type rlEnv struct {
	l       ratelimit.Limiter
	advance func(time.Duration)
	ctx     context.Context
	key     string // the subtest's own
}

// tenPer200ms is 10 tokens per 200ms with a burst of 10: one token every 20ms.
var tenPer200ms = ratelimit.Limit{Rate: 10, Period: 200 * time.Millisecond, Burst: 10}

const every = 20 * time.Millisecond // tenPer200ms's emission interval

// allow calls Allow on e's key and fails unless the decision is want.
func (e *rlEnv) allow(t *testing.T, l ratelimit.Limit, n int, want ratelimit.Decision) {
	t.Helper()
	e.allowKey(t, e.key, l, n, want)
}

func (e *rlEnv) allowKey(t *testing.T, key string, l ratelimit.Limit, n int, want ratelimit.Decision) {
	t.Helper()
	got, err := e.l.Allow(e.ctx, key, l, n)
	if err != nil {
		t.Fatalf("Allow(%s, %+v, %d): %v", key, l, n, err)
	}
	if got != want {
		t.Fatalf("Allow(%s, %+v, %d) = %+v, want %+v", key, l, n, got, want)
	}
}

// allowAll calls AllowAll and fails unless the decision and refused index are want.
func (e *rlEnv) allowAll(t *testing.T, reqs []ratelimit.Request, want ratelimit.Decision, wantRefused int) {
	t.Helper()
	got, refused, err := e.l.AllowAll(e.ctx, reqs)
	if err != nil {
		t.Fatalf("AllowAll(%+v): %v", reqs, err)
	}
	if got != want || refused != wantRefused {
		t.Fatalf("AllowAll(%+v) = %+v, refused %d; want %+v, refused %d", reqs, got, refused, want, wantRefused)
	}
}

func allowed(remaining int) ratelimit.Decision {
	return ratelimit.Decision{Allowed: true, Remaining: remaining}
}

func denied(retryAfter time.Duration, remaining int) ratelimit.Decision {
	return ratelimit.Decision{RetryAfter: retryAfter, Remaining: remaining}
}

var rateLimiterCases = []struct {
	name string
	run  func(t *testing.T, e *rlEnv)
}{
	{"a new key has a full burst, then is denied with RetryAfter one interval", func(t *testing.T, e *rlEnv) {
		for i := 9; i >= 0; i-- {
			e.allow(t, tenPer200ms, 1, allowed(i))
		}
		e.allow(t, tenPer200ms, 1, denied(every, 0))
		e.advance(every / 2)
		e.allow(t, tenPer200ms, 1, denied(every/2, 0))
	}},
	{"a denied request is allowed exactly RetryAfter later", func(t *testing.T, e *rlEnv) {
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 3, denied(3*every, 0))
		e.advance(3*every - time.Microsecond)
		e.allow(t, tenPer200ms, 3, denied(time.Microsecond, 2))
		e.advance(time.Microsecond)
		e.allow(t, tenPer200ms, 3, allowed(0))
	}},
	{"tokens refill at Rate per Period up to Burst", func(t *testing.T, e *rlEnv) {
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.advance(every)
		e.allow(t, tenPer200ms, 1, allowed(0))
		e.allow(t, tenPer200ms, 1, denied(every, 0))
		e.advance(50 * time.Millisecond) // 2.5 tokens
		e.allow(t, tenPer200ms, 0, allowed(2))
		e.advance(time.Hour) // far more than a period: still only Burst
		e.allow(t, tenPer200ms, 0, allowed(10))
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 1, denied(every, 0))
	}},
	{"burst may differ from rate", func(t *testing.T, e *rlEnv) {
		l := ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 3}
		e.allow(t, l, 3, allowed(0))
		e.allow(t, l, 1, denied(time.Second, 0))
		e.advance(2500 * time.Millisecond)
		e.allow(t, l, 3, denied(500*time.Millisecond, 2))
		e.allow(t, l, 2, allowed(0))
	}},
	{"a request is all-or-nothing", func(t *testing.T, e *rlEnv) {
		e.allow(t, tenPer200ms, 7, allowed(3))
		e.allow(t, tenPer200ms, 5, denied(2*every, 3))
		e.allow(t, tenPer200ms, 3, allowed(0))
	}},
	{"n == 0 takes nothing", func(t *testing.T, e *rlEnv) {
		e.allow(t, tenPer200ms, 0, allowed(10))
		e.allow(t, tenPer200ms, 0, allowed(10))
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 0, allowed(0))
	}},
	{"n > Burst is never allowed and takes nothing", func(t *testing.T, e *rlEnv) {
		e.allow(t, tenPer200ms, 11, denied(ratelimit.Never, 10))
		e.advance(time.Hour)
		e.allow(t, tenPer200ms, 11, denied(ratelimit.Never, 10))
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 11, denied(ratelimit.Never, 0))
	}},
	{"keys are independent", func(t *testing.T, e *rlEnv) {
		other := e.key + "/other"
		e.allow(t, tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 1, denied(every, 0))
		e.allowKey(t, other, tenPer200ms, 1, allowed(9))
		e.allowKey(t, e.key+"/third", tenPer200ms, 10, allowed(0))
		e.allow(t, tenPer200ms, 1, denied(every, 0))
		e.allowKey(t, other, tenPer200ms, 0, allowed(9))
	}},
	{"concurrent Allows on one key take exactly Burst tokens", func(t *testing.T, e *rlEnv) {
		l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 100} // negligible refill
		var wg sync.WaitGroup
		var ok, no atomic.Int64
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					d, err := e.l.Allow(e.ctx, e.key, l, 1)
					if err != nil {
						t.Errorf("Allow: %v", err)
						return
					}
					if d.Allowed {
						ok.Add(1)
					} else {
						no.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 100 || no.Load() != 400 {
			t.Fatalf("allowed %d and denied %d of 500, want 100 and 400", ok.Load(), no.Load())
		}
	}},
	{"AllowAll takes from every bucket or from none", func(t *testing.T, e *rlEnv) {
		wide := ratelimit.Limit{Rate: 3, Period: 3 * every, Burst: 3} // one token every 20ms
		narrow, other := e.key+"/narrow", e.key+"/other"
		both := []ratelimit.Request{{Key: e.key, Limit: wide, N: 1}, {Key: narrow, Limit: tenPer200ms, N: 10}}
		e.allowAll(t, both, allowed(0), -1) // wide 2 left, narrow 0: the smallest Remaining
		e.allowAll(t, both, denied(10*every, 0), 1)
		e.allowAll(t, both, denied(10*every, 0), 1)
		e.allow(t, wide, 0, allowed(2)) // the refusals took nothing from wide
		// The refusal that waits longest is reported, Never before any wait.
		e.allowAll(t, []ratelimit.Request{{Key: narrow, Limit: tenPer200ms, N: 2}, {Key: e.key, Limit: wide, N: 4}},
			denied(ratelimit.Never, 2), 1)
		e.allow(t, wide, 2, allowed(0))
		e.allowAll(t, []ratelimit.Request{{Key: e.key, Limit: wide, N: 1}, {Key: narrow, Limit: tenPer200ms, N: 3}},
			denied(3*every, 0), 1)
		e.advance(every)
		e.allowAll(t, []ratelimit.Request{{Key: other, Limit: tenPer200ms, N: 4}, {Key: e.key, Limit: wide, N: 1}}, allowed(0), -1)
		e.allowKey(t, other, tenPer200ms, 0, allowed(6))
		e.allowKey(t, narrow, tenPer200ms, 0, allowed(1))
	}},
	{"AllowAll with a duplicate key, no request or an invalid one is Invalid", func(t *testing.T, e *rlEnv) {
		for name, reqs := range map[string][]ratelimit.Request{
			"none":      nil,
			"duplicate": {{Key: e.key, Limit: tenPer200ms, N: 1}, {Key: e.key, Limit: tenPer200ms, N: 1}},
			"invalid":   {{Key: e.key, Limit: tenPer200ms, N: 1}, {Key: e.key + "/2", Limit: ratelimit.Limit{}, N: 1}},
		} {
			_, refused, err := e.l.AllowAll(e.ctx, reqs)
			if errs.CodeOf(err) != errs.Invalid || refused != -1 {
				t.Errorf("AllowAll %s: refused %d, error %v, want code %q", name, refused, err, errs.Invalid)
			}
		}
		e.allow(t, tenPer200ms, 0, allowed(10)) // nothing was taken
	}},
	{"an invalid limit, a negative n or an empty key is Invalid", func(t *testing.T, e *rlEnv) {
		for _, c := range []struct {
			key string
			l   ratelimit.Limit
			n   int
		}{
			{e.key, ratelimit.Limit{Rate: 0, Period: time.Second, Burst: 1}, 1},
			{e.key, ratelimit.Limit{Rate: -1, Period: time.Second, Burst: 1}, 1},
			{e.key, ratelimit.Limit{Rate: 1, Period: 0, Burst: 1}, 1},
			{e.key, ratelimit.Limit{Rate: 1, Period: -time.Second, Burst: 1}, 1},
			{e.key, ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 0}, 1},
			{e.key, ratelimit.Limit{Rate: 1, Period: time.Second, Burst: -1}, 1},
			{e.key, ratelimit.Limit{Rate: 2000, Period: time.Millisecond, Burst: 1}, 1}, // interval < 1µs
			{e.key, tenPer200ms, -1},
			{"", tenPer200ms, 1},
		} {
			_, err := e.l.Allow(e.ctx, c.key, c.l, c.n)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("Allow(%q, %+v, %d) error = %v, want code %q", c.key, c.l, c.n, err, errs.Invalid)
			}
		}
		e.allow(t, tenPer200ms, 0, allowed(10)) // nothing was taken
	}},
}
