// Package ratelimit limits how often a key (a tenant, a destination prefix, a
// carrier, or any combination spelled into the key) may act, with bursts, using the
// generic cell rate algorithm (GCRA): each key keeps one "theoretical arrival time"
// (TAT), the time at which its bucket would be full again.
//
// For a Limit of Rate events per Period with a burst of Burst, the emission interval
// is T = Period/Rate (in whole microseconds) and the burst tolerance is Burst×T.
// Taking n tokens at time now moves the TAT from max(TAT, now) to max(TAT, now)+n×T,
// and is allowed only if the new TAT is at most now+Burst×T. A key with no TAT, or
// one in the past, has a full bucket of Burst tokens.
//
// Memory and Redis run exactly the same integer arithmetic in microseconds, so they
// make the same decisions; storetest.RateLimiter is their shared contract suite.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Limit is Rate events per Period with a burst of Burst.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Decision is the answer to one Allow.
type Decision struct {
	// Allowed reports whether the n tokens were taken.
	Allowed bool
	// RetryAfter is 0 when Allowed; otherwise how long until the same request would
	// be allowed, or Never when it never can be (n > Burst).
	RetryAfter time.Duration
	// Remaining is how many whole tokens the bucket holds after this decision.
	Remaining int
}

// Never is the RetryAfter of a request for more tokens than the limit's Burst: it
// cannot be allowed however long the caller waits. It is not an error, so callers
// that only check Allowed reject it like any other denial.
const Never time.Duration = -1

// Limiter is a GCRA rate limiter shared by the SMS API and pipeline.
type Limiter interface {
	// Allow takes n tokens from key's bucket if it has them (all-or-nothing), else
	// reports how long until it would. n == 0 takes nothing and reports Remaining.
	// n > l.Burst is never allowed: Allowed=false, RetryAfter=Never, no error.
	// An invalid Limit (Rate ≤ 0, Period ≤ 0, Burst < 1, Period/Rate under a
	// microsecond), n < 0 or an empty key is errs.Invalid.
	Allow(ctx context.Context, key string, l Limit, n int) (Decision, error)
	// AllowAll takes every request's tokens, or none: when one bucket refuses, no
	// other is touched, so a request one limit refuses costs nothing against the
	// others. It decides each bucket as Allow would at one instant. refused is -1
	// when all were taken, and d has the smallest Remaining of them; otherwise it
	// is the index of the refusing request that must wait longest (Never before
	// any wait), and d is that request's decision. Two requests naming one key
	// are Invalid, as is any request Allow would refuse as Invalid (the error's
	// fields are prefixed with "requests[i].").
	AllowAll(ctx context.Context, reqs []Request) (d Decision, refused int, err error)
}

// Request is one bucket of an AllowAll: N tokens from Key's bucket under Limit.
type Request struct {
	Key   string
	Limit Limit
	N     int
}

// maxTolerance bounds Burst×T so that every value both implementations compute
// (Unix microseconds plus a tolerance) stays exact in a Lua double (2^53).
const maxTolerance = int64(1) << 50 // about 35 years in microseconds

// params are a validated Allow's integers: the emission interval and the burst
// tolerance in microseconds, the burst and n.
type params struct {
	interval, tolerance int64
	burst, n            int64
}

func check(key string, l Limit, n int) (params, error) {
	var v []errs.FieldViolation
	if key == "" {
		v = append(v, errs.FieldViolation{Field: "key", Reason: "must not be empty"})
	}
	if l.Rate <= 0 {
		v = append(v, errs.FieldViolation{Field: "limit.rate", Reason: "must be positive"})
	}
	if l.Period <= 0 {
		v = append(v, errs.FieldViolation{Field: "limit.period", Reason: "must be positive"})
	}
	if l.Burst < 1 {
		v = append(v, errs.FieldViolation{Field: "limit.burst", Reason: "must be at least 1"})
	}
	if n < 0 {
		v = append(v, errs.FieldViolation{Field: "n", Reason: "must not be negative"})
	}
	var p params
	if len(v) == 0 {
		p = params{interval: l.Period.Microseconds() / int64(l.Rate), burst: int64(l.Burst), n: int64(n)}
		switch {
		case p.interval < 1:
			v = append(v, errs.FieldViolation{Field: "limit", Reason: "period/rate must be at least 1µs"})
		case p.burst > maxTolerance/p.interval:
			v = append(v, errs.FieldViolation{Field: "limit", Reason: "burst×period/rate is too long"})
		default:
			p.tolerance = p.burst * p.interval
		}
	}
	if len(v) > 0 {
		e := errs.E(errs.Invalid, "invalid rate limit request")
		e.Fields = v
		return params{}, e
	}
	return p, nil
}

// checkAll validates every request of an AllowAll.
func checkAll(reqs []Request) ([]params, error) {
	ps := make([]params, len(reqs))
	var v []errs.FieldViolation
	if len(reqs) == 0 {
		v = append(v, errs.FieldViolation{Field: "requests", Reason: "must not be empty"})
	}
	seen := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		p, err := check(r.Key, r.Limit, r.N)
		var e *errs.Error
		if errors.As(err, &e) {
			for _, f := range e.Fields {
				v = append(v, errs.FieldViolation{Field: fmt.Sprintf("requests[%d].%s", i, f.Field), Reason: f.Reason})
			}
		}
		if r.Key != "" && seen[r.Key] {
			v = append(v, errs.FieldViolation{Field: fmt.Sprintf("requests[%d].key", i), Reason: "names a key an earlier request names"})
		}
		seen[r.Key] = true
		ps[i] = p
	}
	if len(v) > 0 {
		e := errs.E(errs.Invalid, "invalid rate limit request")
		e.Fields = v
		return nil, e
	}
	return ps, nil
}

// gcraAll decides every request against its stored tat at now, all-or-nothing,
// and returns the decision, the refused index (-1: none) and the new TATs (nil when
// refused). Redis' Lua script is a line-by-line copy.
func gcraAll(ps []params, tats []int64, now int64) (d Decision, refused int, next []int64) {
	next = make([]int64, len(ps))
	refused = -1
	for i, p := range ps {
		di, n := gcra(p, tats[i], now)
		next[i] = n
		switch {
		case !di.Allowed && (refused < 0 || d.RetryAfter != Never && (di.RetryAfter == Never || di.RetryAfter > d.RetryAfter)):
			d, refused = di, i
		case refused < 0 && (i == 0 || di.Remaining < d.Remaining):
			d = di
		}
	}
	if refused >= 0 {
		return d, refused, nil
	}
	return d, -1, next
}

// gcra decides a request at now (Unix µs) against the stored tat (0 when none) and
// returns the decision and the new TAT (unchanged when denied or n == 0). Redis' Lua
// script is a line-by-line copy.
func gcra(p params, tat, now int64) (d Decision, newTAT int64) {
	if tat < now {
		tat = now
	}
	if p.n > p.burst {
		return Decision{RetryAfter: Never, Remaining: p.remaining(tat, now)}, tat
	}
	next := tat + p.n*p.interval
	if allowAt := next - p.tolerance; now < allowAt {
		return Decision{RetryAfter: time.Duration(allowAt-now) * time.Microsecond, Remaining: p.remaining(tat, now)}, tat
	}
	return Decision{Allowed: true, Remaining: p.remaining(next, now)}, next
}

// remaining is how many whole tokens a bucket with TAT tat holds at now (never
// negative, even if a clock stepped back).
func (p params) remaining(tat, now int64) int {
	return int(max(0, (now+p.tolerance-tat)/p.interval))
}
