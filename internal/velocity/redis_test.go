package velocity_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
	"github.com/catalyst-cpaas/catalyst/internal/velocity/velocitytest"
)

// TestRedisKeys checks that every key has a TTL just longer than its window (nothing
// lives forever) and carries its sender's or its destination's hash tag, so a
// sender's keys share one Redis Cluster slot.
func TestRedisKeys(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := velocity.NewRedis(client, prefix, velocity.WithReplayWindow(10*time.Minute))
	for i, dest := range []string{"447700900001", "447700900002"} {
		o := velocity.Observation{
			MessageID: "m" + dest, TenantID: "t1", Sender: "s:1", Destination: dest,
			ContentHash: 0xabc, HighCost: true, At: velocitytest.Start.Add(time.Duration(i) * time.Second),
		}
		if _, err := c.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	senderTag := "{2:t1:3:s:1}:"
	maxTTL := map[string]time.Duration{
		"s": 5 * time.Minute, "m": 15 * time.Minute, "q": 15 * time.Minute, "x": 15 * time.Minute,
		"l": 2 * time.Minute, "h": 2 * time.Hour, "p": 2 * time.Hour, "u": 2 * time.Hour,
		"c": 2 * time.Hour, "k": velocity.NewDestinationWindow + 2*time.Hour, "r": 10 * time.Minute, "d": 15 * time.Minute,
	}
	kinds := map[string]int{}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		rest := strings.TrimPrefix(key, prefix)
		var kind string
		switch {
		case strings.HasPrefix(rest, senderTag):
			kind = strings.SplitN(strings.TrimPrefix(rest, senderTag), ":", 2)[0]
		case strings.HasPrefix(rest, "{dst:2:t1:12:44770090000") && rest[len("{dst:2:t1:12:44770090000")+1:][:2] == "}:":
			kind = "dst " + rest[len("{dst:2:t1:12:44770090000")+3:][:1]
		default:
			t.Errorf("key %q has neither the sender's nor a destination's hash tag", rest)
			continue
		}
		kinds[kind]++
		limit, ok := maxTTL[strings.TrimPrefix(kind, "dst ")]
		if !ok {
			t.Errorf("key %q: unexpected kind %q", rest, kind)
			continue
		}
		ttl, err := client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 || ttl > limit || ttl < limit-time.Minute && limit > 2*time.Minute {
			t.Errorf("PTTL %s = %v, %v; want at most %v", rest, ttl, err, limit)
		}
	}
	// Two messages to two destinations in one minute and hour, in two seconds.
	want := map[string]int{
		"s": 2, "m": 1, "h": 1, "p": 2, "u": 1, "c": 1, "q": 1, "x": 1, "l": 1, "k": 2, "r": 2,
		"dst d": 2, "dst r": 2,
	}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("%d keys of kind %q, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
}

// TestSequentialGap checks WithSequentialGap on both counters.
func TestSequentialGap(t *testing.T) {
	for name, c := range map[string]velocity.Counter{
		"memory": velocity.NewMemory(velocity.WithSequentialGap(100)),
		"redis": func() velocity.Counter {
			cl, p := testenv.Redis(t)
			return velocity.NewRedis(cl, p, velocity.WithSequentialGap(100))
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			var got []int64
			for i, dest := range []string{"447700900001", "447700900100", "447700900201", "447700900101"} {
				counts, err := c.Observe(context.Background(), velocity.Observation{
					MessageID: dest, TenantID: "t", Sender: "s", Destination: dest,
					At: velocitytest.Start.Add(time.Duration(i) * time.Second),
				})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, counts.SequentialDestinations)
			}
			if want := []int64{0, 1, 1, 2}; !equal(got, want) {
				t.Errorf("SequentialDestinations = %v, want %v", got, want)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRedisNoScript: when Redis answers NOSCRIPT for one of the two scripts after the
// other ran (a SCRIPT FLUSH between them, a failover), Observe resends both in full
// and the message is still counted exactly once.
func TestRedisNoScript(t *testing.T) {
	client, prefix := testenv.Redis(t)
	hook := &noScriptOnce{}
	client.AddHook(hook)
	c := velocity.NewRedis(client, prefix)
	ctx := context.Background()
	for i, id := range []string{"m1", "m2"} {
		counts, err := c.Observe(ctx, velocity.Observation{
			MessageID: id, TenantID: "t", Sender: "s", Destination: "447700900001", At: velocitytest.Start,
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := int64(i + 1); counts.SenderPerMinute != n || counts.DestinationPerMinute != n {
			t.Errorf("message %d: %+v, want SenderPerMinute and DestinationPerMinute %d", n, counts, n)
		}
	}
	if !hook.done.Load() {
		t.Fatal("the hook never failed a pipeline")
	}
}

// noScriptOnce lets the first pipeline run, then reports NOSCRIPT for its last command.
type noScriptOnce struct{ done atomic.Bool }

type noScriptErr struct{}

func (noScriptErr) Error() string { return "NOSCRIPT No matching script. Please use EVAL." }
func (noScriptErr) RedisError()   {}

func (h *noScriptOnce) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *noScriptOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *noScriptOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil && len(cmds) == 2 && h.done.CompareAndSwap(false, true) {
			cmds[1].SetErr(noScriptErr{})
			return noScriptErr{}
		}
		return err
	}
}
