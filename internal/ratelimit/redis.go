package ratelimit

import (
	"context"
	_ "embed"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Redis is a Limiter shared by every replica: each key's TAT is one Redis string
// (prefix+key, Unix microseconds) read and written by one Lua script, so an Allow is
// atomic, and the script reads the clock with Redis TIME, so every replica agrees on
// it. The key expires when its bucket would be full again, so idle keys cost nothing.
type Redis struct {
	client *redis.Client
	prefix string
	// now, when set (tests only, see export_test.go), replaces Redis TIME: the script
	// gets the time as an argument. Production leaves it nil and uses Redis TIME.
	now func() time.Time
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Redis limiter storing its keys under prefix.
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

//go:embed gcra.lua
var gcraSource string

// gcraScript runs by EVALSHA, falling back to EVAL (which loads it) when Redis does
// not have it cached.
var gcraScript = redis.NewScript(gcraSource)

// testTTLSlack lengthens key TTLs when a test clock replaces Redis TIME: the TTL is
// computed on the test's clock but Redis expires keys on its own, and a key must not
// vanish (refilling its bucket) while the test's clock has not caught up.
const testTTLSlack = time.Minute

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit, n int) (Decision, error) {
	p, err := check(key, l, n)
	if err != nil {
		return Decision{}, err
	}
	d, _, err := r.decide(ctx, []string{key}, []params{p})
	return d, err
}

// AllowAll implements Limiter. Its keys go to one script, so on a Redis Cluster
// they must hash to one slot (a {hash tag} in the prefix or the keys).
func (r *Redis) AllowAll(ctx context.Context, reqs []Request) (Decision, int, error) {
	ps, err := checkAll(reqs)
	if err != nil {
		return Decision{}, -1, err
	}
	keys := make([]string, len(reqs))
	for i, q := range reqs {
		keys[i] = q.Key
	}
	return r.decide(ctx, keys, ps)
}

// decide runs the script on keys (without the prefix).
func (r *Redis) decide(ctx context.Context, keys []string, ps []params) (Decision, int, error) {
	now, slack := "", "0"
	if r.now != nil {
		now = strconv.FormatInt(r.now().UnixMicro(), 10)
		slack = strconv.FormatInt(testTTLSlack.Milliseconds(), 10)
	}
	full := make([]string, len(keys))
	args := make([]any, 0, 2+4*len(ps))
	args = append(args, now, slack)
	for i, p := range ps {
		full[i] = r.prefix + keys[i]
		args = append(args, p.interval, p.tolerance, p.burst, p.n)
	}
	what := strings.Join(keys, ", ")
	res, err := gcraScript.Run(ctx, r.client, full, args...).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, -1, ctx.Err()
		}
		return Decision{}, -1, errs.Wrap(errs.Unavailable, err, "rate limit %q", what)
	}
	if len(res) != 4 {
		return Decision{}, -1, errs.E(errs.Internal, "rate limit %q: script returned %d values", what, len(res))
	}
	d := Decision{Allowed: res[0] == 1, Remaining: int(res[2])}
	switch {
	case d.Allowed:
	case res[1] < 0:
		d.RetryAfter = Never
	default:
		d.RetryAfter = time.Duration(res[1]) * time.Microsecond
	}
	return d, int(res[3]), nil
}
