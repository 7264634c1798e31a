package velocity_test

import (
	"context"
	"fmt"
	"strconv"
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
// lives forever) and carries its tenant's hash tag, so one script sees them all in
// one Redis Cluster slot.
func TestRedisKeys(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := velocity.NewRedis(client, prefix, velocity.WithReplayWindow(10*time.Minute))
	for i, dest := range []string{"447700900001", "447700900002", "447700900002"} {
		o := velocity.Observation{
			MessageID: fmt.Sprint("m", i), TenantID: "t1", Sender: "s:1", Destination: dest,
			ContentHash: 0xabc, HighCost: true, At: velocitytest.Start.Add(time.Duration(i) * time.Second),
		}
		if _, err := c.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	tenantTag, senderTag := "{2:t1}:", "{2:t1}:3:s:1:"
	const known = 4*velocity.NewDestinationSlack + time.Hour
	maxTTL := map[string]time.Duration{
		"m": 15 * time.Minute, "h": 2 * time.Hour, "u": 2 * time.Hour, "b": 2 * time.Hour,
		"k": known, "s": known, "tenant r": 10 * time.Minute, "tenant d": 15 * time.Minute, "tenant db": 15 * time.Minute,
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
		case strings.HasPrefix(rest, tenantTag):
			kind = "tenant " + strings.SplitN(strings.TrimPrefix(rest, tenantTag), ":", 2)[0]
		default:
			t.Errorf("key %q does not carry the tenant's hash tag", rest)
			continue
		}
		kinds[kind]++
		limit, ok := maxTTL[kind]
		if !ok {
			t.Errorf("key %q: unexpected kind %q", rest, kind)
			continue
		}
		ttl, err := client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 || ttl > limit || ttl < limit-time.Minute && limit > 2*time.Minute {
			t.Errorf("PTTL %s = %v, %v; want at most %v", rest, ttl, err, limit)
		}
	}
	// Three messages to two destinations in one minute and hour, in three seconds.
	want := map[string]int{
		"m": 1, "h": 1, "u": 1, "b": 1, "k": 1, "s": 1,
		"tenant r": 3, "tenant d": 1, "tenant db": 1,
	}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("%d keys of kind %q, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
}

// TestRedisFootprint: n distinct messages from a few senders to as many distinct
// destinations, each with its own content, leave O(senders + windows) keys and a
// bounded number of bytes per message, not a key per message or destination; and
// the Bloom filters that stand in for those keys read first messages as first (their
// false positives stay rare) and second ones exactly.
func TestRedisFootprint(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := velocity.NewRedis(client, prefix)
	const n, senders = 4000, 4
	dest := func(i int) string { return strconv.Itoa(447700000000 + i*7919) }
	var wrong int
	for i := range n {
		counts, err := c.Observe(ctx, velocity.Observation{
			MessageID: fmt.Sprint("m", i), TenantID: "t1", Sender: fmt.Sprint("s", i%senders),
			Destination: dest(i), ContentHash: uint64(i) + 1,
			At: velocitytest.Start.Add(time.Duration(i) * 10 * time.Millisecond), // 40 s
		})
		if err != nil {
			t.Fatal(err)
		}
		if counts.PairPerHour != 1 || counts.DestinationPerMinute != 1 || !counts.NewDestination ||
			counts.RepeatRatio*float64(i/senders+1) > 1.0001 {
			wrong++
		}
	}
	// Bloom filters: at most ~0.1% of first messages may read as seen.
	if wrong > n/200 {
		t.Errorf("%d of %d first messages read as repeats, want at most %d", wrong, n, n/200)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, k := range keys {
		b, err := client.MemoryUsage(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		bytes += b
	}
	// Per sender: a minute or two, hour, HyperLogLog, Bloom filter, known filter and
	// state; per tenant: a replay hash per second, and two per minute.
	if maxKeys := senders*7 + 41 + 4; len(keys) > maxKeys {
		t.Errorf("%d messages left %d keys, want at most %d", n, len(keys), maxKeys)
	}
	if perMessage := bytes / n; perMessage > 80 {
		t.Errorf("%d messages left %d bytes of keys, %d per message; want at most 80", n, bytes, perMessage)
	}
	t.Logf("%d messages: %d keys, %d bytes (%d per message)", n, len(keys), bytes, bytes/n)

	// Second messages to the same destinations are counted exactly.
	for i := range 200 {
		counts, err := c.Observe(ctx, velocity.Observation{
			MessageID: fmt.Sprint("again", i), TenantID: "t1", Sender: fmt.Sprint("s", i%senders),
			Destination: dest(i), ContentHash: 1, At: velocitytest.Start.Add(50 * time.Second),
		})
		if err != nil {
			t.Fatal(err)
		}
		if counts.PairPerHour != 2 || counts.NewDestination {
			t.Fatalf("second message to %s: %+v, want PairPerHour 2 and not new", dest(i), counts)
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

// TestRedisNoScript: when Redis has lost the script (a restart, a SCRIPT FLUSH,
// a failover), Observe sends it in full and the message is counted once.
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
		t.Fatal("the hook never answered NOSCRIPT")
	}
}

// noScriptOnce answers the first EVALSHA with NOSCRIPT without sending it.
type noScriptOnce struct{ done atomic.Bool }

type noScriptErr struct{}

func (noScriptErr) Error() string { return "NOSCRIPT No matching script. Please use EVAL." }
func (noScriptErr) RedisError()   {}

func (h *noScriptOnce) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *noScriptOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" && h.done.CompareAndSwap(false, true) {
			cmd.SetErr(noScriptErr{})
			return noScriptErr{}
		}
		return next(ctx, cmd)
	}
}
func (h *noScriptOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
