package api

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
)

// Limits throttle sending at the edge, before anything is emitted: per tenant, and per
// tenant and destination prefix (one runaway campaign to one country cannot use the
// tenant's whole rate). Carriers' own throughput is enforced by the SMPP sessions.
type Limits struct {
	Tenant      ratelimit.Limit
	Destination ratelimit.Limit
	// PrefixDigits is how many leading digits of a +E.164 destination form its prefix
	// (default 4: country code and the start of the national number).
	PrefixDigits int
}

// DefaultLimits are catalyst dev's: generous, so they bind only on runaway loops.
func DefaultLimits() Limits {
	return Limits{
		Tenant:       ratelimit.Limit{Rate: 1000, Period: time.Second, Burst: 2000},
		Destination:  ratelimit.Limit{Rate: 200, Period: time.Second, Burst: 400},
		PrefixDigits: 4,
	}
}

// rateLimited carries the wait a 429 asks for in its Retry-After header.
type rateLimited struct {
	err   *errs.Error
	after time.Duration
}

func (e *rateLimited) Error() string { return e.err.Error() }
func (e *rateLimited) Unwrap() error { return e.err }

// bucket is one limit a send must pass.
type bucket struct {
	key   string
	limit ratelimit.Limit
	what  string // for the error message
}

// allowSend takes one send from the tenant's and the destination's buckets at once
// (ratelimit AllowAll): a request either limit refuses takes from neither, so a
// tenant hammering one prefix does not use up its rate for other destinations.
func (s *Server) allowSend(r *http.Request, tenantID string, req channel.Request) error {
	if s.opts.Limiter == nil {
		return nil
	}
	l := s.opts.Limits
	keys := []bucket{{"tenant:" + tenantID, l.Tenant, "tenant"}}
	if strings.HasPrefix(req.To, "+") {
		prefix := req.To[1 : 1+min(l.PrefixDigits, len(req.To)-1)]
		keys = append(keys, bucket{"dest:" + tenantID + ":" + prefix, l.Destination, "destination prefix +" + prefix})
	}
	keys = slices.DeleteFunc(keys, func(k bucket) bool { return k.limit.Rate == 0 })
	if len(keys) == 0 {
		return nil
	}
	reqs := make([]ratelimit.Request, len(keys))
	for i, k := range keys {
		reqs[i] = ratelimit.Request{Key: k.key, Limit: k.limit, N: 1}
	}
	d, refused, err := s.opts.Limiter.AllowAll(r.Context(), reqs)
	if err != nil {
		return err
	}
	if refused >= 0 {
		k := keys[refused]
		return &rateLimited{err: errs.E(errs.RateLimited, "rate limit of the %s reached (%d per %s); retry later", k.what, k.limit.Rate, k.limit.Period), after: d.RetryAfter}
	}
	return nil
}

// retryAfterHeader sets Retry-After (whole seconds, at least 1) for a rate-limited
// error.
func retryAfterHeader(w http.ResponseWriter, err error) {
	var rl *rateLimited
	if errors.As(err, &rl) && rl.after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(rl.after.Seconds())))))
	}
}
