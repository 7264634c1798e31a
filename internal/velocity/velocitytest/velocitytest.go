// Package velocitytest is the contract every velocity.Counter passes: each window and
// its edge, isolation between tenants and senders, the pumping signals, replays and
// exact totals under concurrency. Time moves through Observation.At only.
package velocitytest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// Start is the suite's first instant: the start of an hour, given in a non-UTC zone so
// a counter that takes windows from local time is caught.
var Start = time.Date(2031, 5, 6, 9, 0, 0, 0, time.FixedZone("UTC+2", 2*3600))

// Run runs the contract; each subtest gets a fresh counter.
func Run(t *testing.T, newCounter func(t *testing.T) velocity.Counter) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *fixture)
	}{
		{"SecondAndMinuteWindows", testWindows},
		{"DestinationPerMinuteAcrossSenders", testDestinationPerMinute},
		{"TenantsAndSendersIsolated", testIsolation},
		{"PairPerHour", testPairPerHour},
		{"UniqueDestinations", testUniqueDestinations},
		{"RepeatRatio", testRepeatRatio},
		{"SequentialDestinations", testSequential},
		{"SequentialNotNumbers", testSequentialNotNumbers},
		{"HighCostPerMinute", testHighCost},
		{"NewDestination", testNewDestination},
		{"Replay", testReplay},
		{"ConcurrentReplays", testConcurrentReplays},
		{"ConcurrentExact", testConcurrentExact},
		{"Invalid", testInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, &fixture{c: newCounter(t), ctx: context.Background()})
		})
	}
}

type fixture struct {
	c   velocity.Counter
	ctx context.Context
	mu  sync.Mutex
	ids int
}

// obs observes o with defaults: a fresh message id, tenant t1, sender s1, destination
// 447700900500, content 1, At Start.
func (f *fixture) obs(t *testing.T, o velocity.Observation) velocity.Counts {
	t.Helper()
	c, err := f.c.Observe(f.ctx, f.fill(o))
	if err != nil {
		t.Fatalf("Observe(%+v): %v", o, err)
	}
	return c
}

func (f *fixture) fill(o velocity.Observation) velocity.Observation {
	if o.MessageID == "" {
		f.mu.Lock()
		f.ids++
		o.MessageID = fmt.Sprint("m", f.ids)
		f.mu.Unlock()
	}
	if o.TenantID == "" {
		o.TenantID = "t1"
	}
	if o.Sender == "" {
		o.Sender = "s1"
	}
	if o.Destination == "" {
		o.Destination = "447700900500"
	}
	if o.ContentHash == 0 {
		o.ContentHash = 1
	}
	if o.At.IsZero() {
		o.At = Start
	}
	return o
}

func at(d time.Duration) time.Time { return Start.Add(d) }

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testWindows(t *testing.T, f *fixture) {
	for i, step := range []struct {
		at          time.Duration
		sec, minute int64
	}{
		{100 * time.Millisecond, 1, 1},
		{500 * time.Millisecond, 2, 2},
		{999 * time.Millisecond, 3, 3},
		{time.Second, 1, 4}, // the second's edge
		{59*time.Second + 999*time.Millisecond, 1, 5},
		{time.Minute, 1, 1}, // the minute's edge
		{time.Minute + 10*time.Millisecond, 2, 2},
		{time.Minute + 10*time.Millisecond, 3, 3},
	} {
		c := f.obs(t, velocity.Observation{At: at(step.at).In(time.UTC)})
		want(t, fmt.Sprintf("step %d SenderPerSecond", i), c.SenderPerSecond, step.sec)
		want(t, fmt.Sprintf("step %d SenderPerMinute", i), c.SenderPerMinute, step.minute)
	}
}

func testDestinationPerMinute(t *testing.T, f *fixture) {
	for i, step := range []struct {
		tenant, sender, dest string
		at                   time.Duration
		want                 int64
	}{
		{"t1", "a", "447700900500", 0, 1},
		{"t1", "b", "447700900500", time.Second, 2},
		{"t1", "c", "447700900500", 59 * time.Second, 3},
		{"t1", "a", "447700900999", 59 * time.Second, 1}, // another destination
		{"t2", "a", "447700900500", 59 * time.Second, 1}, // another tenant
		{"t1", "a", "447700900500", time.Minute, 1},      // the next minute
		{"t1", "d", "447700900500", time.Minute, 2},
	} {
		c := f.obs(t, velocity.Observation{TenantID: step.tenant, Sender: step.sender, Destination: step.dest, At: at(step.at)})
		want(t, fmt.Sprintf("step %d DestinationPerMinute", i), c.DestinationPerMinute, step.want)
	}
}

// testIsolation: ids that would collide if keys were joined with a separator stay
// apart, and every counter is per tenant.
func testIsolation(t *testing.T, f *fixture) {
	for _, o := range []velocity.Observation{
		{TenantID: "a", Sender: "b:c"},
		{TenantID: "a:b", Sender: "c"},
		{TenantID: "a:b:c", Sender: "s1"},
		{TenantID: "t1", Sender: "s1"},
		{TenantID: "t2", Sender: "s1"},
		{TenantID: "t}", Sender: "{s1"},
		{TenantID: "t", Sender: "}{s1"},
	} {
		o.HighCost = true
		o.Destination = "447700900501"
		c := f.obs(t, o)
		first := velocity.Counts{
			SenderPerSecond: 1, SenderPerMinute: 1, DestinationPerMinute: 1, PairPerHour: 1,
			UniqueDestinationsPerHour: 1, RepeatRatio: 1, HighCostPerMinute: 1, NewDestination: true,
		}
		if c != first {
			t.Errorf("first message of %q/%q: %+v, want %+v", o.TenantID, o.Sender, c, first)
		}
	}
	// An empty sender is one anonymous sender of the tenant, apart from named ones.
	for i, step := range []struct {
		sender string
		want   int64
	}{{"", 1}, {"", 2}, {"s1", 1}, {"", 3}} {
		c, err := f.c.Observe(f.ctx, velocity.Observation{
			MessageID: fmt.Sprint("anon", i), TenantID: "t3", Sender: step.sender, Destination: "1", ContentHash: 1, At: Start,
		})
		if err != nil {
			t.Fatal(err)
		}
		want(t, fmt.Sprintf("step %d (sender %q) SenderPerMinute", i, step.sender), c.SenderPerMinute, step.want)
	}
}

func testPairPerHour(t *testing.T, f *fixture) {
	for i, step := range []struct {
		sender, dest string
		at           time.Duration
		want         int64
	}{
		{"s1", "447700900500", 0, 1},
		{"s1", "447700900500", 10 * time.Minute, 2},
		{"s1", "447700900500", 59*time.Minute + 59*time.Second, 3},
		{"s1", "447700900777", 30 * time.Minute, 1},
		{"s2", "447700900500", 30 * time.Minute, 1},
		{"s1", "447700900500", time.Hour, 1}, // the hour's edge
	} {
		c := f.obs(t, velocity.Observation{Sender: step.sender, Destination: step.dest, At: at(step.at)})
		want(t, fmt.Sprintf("step %d PairPerHour", i), c.PairPerHour, step.want)
	}
}

func testUniqueDestinations(t *testing.T, f *fixture) {
	const n = 60
	near := func(got, want int64) bool { return math.Abs(float64(got-want)) <= 1+0.02*float64(want) }
	for i := 1; i <= n; i++ {
		c := f.obs(t, velocity.Observation{Destination: fmt.Sprint(447700000000 + i*7919), At: at(time.Duration(i) * time.Second)})
		if !near(c.UniqueDestinationsPerHour, int64(i)) {
			t.Errorf("after %d destinations UniqueDestinationsPerHour = %d", i, c.UniqueDestinationsPerHour)
		}
	}
	// The same destinations again add nothing.
	for i := 1; i <= n; i++ {
		c := f.obs(t, velocity.Observation{Destination: fmt.Sprint(447700000000 + i*7919), At: at(10 * time.Minute)})
		if !near(c.UniqueDestinationsPerHour, n) {
			t.Errorf("repeating destination %d: UniqueDestinationsPerHour = %d, want %d", i, c.UniqueDestinationsPerHour, n)
		}
	}
	// Another sender has its own; the next hour starts again.
	want(t, "other sender", f.obs(t, velocity.Observation{Sender: "s2", At: at(time.Minute)}).UniqueDestinationsPerHour, 1)
	want(t, "next hour", f.obs(t, velocity.Observation{At: at(time.Hour)}).UniqueDestinationsPerHour, 1)
}

func testRepeatRatio(t *testing.T, f *fixture) {
	for i, step := range []struct {
		sender  string
		content uint64
		at      time.Duration
		want    float64
	}{
		{"s1", 7, 0, 1},
		{"s1", 7, time.Minute, 1},
		{"s1", 8, 2 * time.Minute, 1.0 / 3},
		{"s1", 7, 3 * time.Minute, 0.75},
		{"s2", 7, 3 * time.Minute, 1},           // another sender
		{"s1", 8, time.Hour, 1},                 // the next hour
		{"s1", 7, time.Hour + time.Second, 0.5}, // 1 of 2
		{"s1", 1<<64 - 1, time.Hour + time.Second, 1.0 / 3},
	} {
		c := f.obs(t, velocity.Observation{Sender: step.sender, ContentHash: step.content, At: at(step.at)})
		if math.Abs(c.RepeatRatio-step.want) > 1e-9 {
			t.Errorf("step %d RepeatRatio = %v, want %v", i, c.RepeatRatio, step.want)
		}
	}
}

func testSequential(t *testing.T, f *fixture) {
	for i, step := range []struct {
		sender, dest string
		at           time.Duration
		want         int64
	}{
		{"s1", "447700900001", 0, 0},
		{"s1", "447700900002", time.Second, 1},
		{"s1", "447700900003", 2 * time.Second, 2},
		{"s2", "447700900004", 2 * time.Second, 0}, // another sender has its own walk
		{"s1", "447700900013", 3 * time.Second, 3}, // within 10
		{"s1", "447700900024", 4 * time.Second, 3}, // 11 apart
		{"s1", "447700900024", 5 * time.Second, 3}, // the same number is not a walk
		{"s1", "447700900019", 6 * time.Second, 4}, // downwards counts too
		{"s1", "44770090020", 7 * time.Second, 4},  // another length
		{"s1", "44770090021", 8 * time.Second, 5},
		{"s1", "44770090022", 59 * time.Second, 6},
		{"s1", "44770090023", time.Minute, 1},                 // the next minute
		{"s1", "44770090024", 2*time.Minute + time.Second, 0}, // over a minute after its predecessor
		{"s1", "999999999999999", 3 * time.Minute, 0},
		{"s1", "999999999999998", 3 * time.Minute, 1}, // 15 digits are exact
		{"s1", "1000000000000000", 3 * time.Minute, 1},
		{"s1", "1000000000000001", 3 * time.Minute, 1}, // 16 digits are not numbers
	} {
		c := f.obs(t, velocity.Observation{Sender: step.sender, Destination: step.dest, At: at(step.at)})
		want(t, fmt.Sprintf("step %d (%s) SequentialDestinations", i, step.dest), c.SequentialDestinations, step.want)
	}
}

func testSequentialNotNumbers(t *testing.T, f *fixture) {
	for i, dest := range []string{
		"447700900001", "336612345678", "14155550123", "447911123456", "4915112345678",
		"user@example.com", "user@example.con", "a1", "a2", "+447700900001", "+447700900002",
		"44770090000a", "44770090000b", "447700900001", "-447700900002",
	} {
		c := f.obs(t, velocity.Observation{Destination: dest, At: at(time.Duration(i) * time.Second)})
		want(t, "SequentialDestinations after "+dest, c.SequentialDestinations, 0)
	}
}

func testHighCost(t *testing.T, f *fixture) {
	for i, step := range []struct {
		sender string
		high   bool
		at     time.Duration
		want   int64
	}{
		{"s1", true, 0, 1},
		{"s1", false, time.Second, 1},
		{"s1", true, 59 * time.Second, 2},
		{"s2", true, 59 * time.Second, 1},
		{"s1", false, time.Minute, 0},
		{"s1", true, time.Minute, 1},
	} {
		c := f.obs(t, velocity.Observation{Sender: step.sender, HighCost: step.high, At: at(step.at)})
		want(t, fmt.Sprintf("step %d HighCostPerMinute", i), c.HighCostPerMinute, step.want)
	}
}

// testNewDestination: a pair is known for NewDestinationWindow after its last message
// (the edge included) and new once NewDestinationWindow+NewDestinationSlack have
// passed; in between a counter may answer either (documented accuracy).
func testNewDestination(t *testing.T, f *fixture) {
	const day = 24 * time.Hour
	gone := velocity.NewDestinationWindow + velocity.NewDestinationSlack + time.Second
	for i, step := range []struct {
		sender, dest string
		at           time.Duration
		want         bool
	}{
		{"s1", "447700900500", 0, true},
		{"s1", "447700900500", time.Second, false},
		{"s1", "447700900501", time.Second, true},
		{"s2", "447700900500", time.Second, true},
		{"s1", "447700900500", 29 * day, false},
		{"s1", "447700900500", 59 * day, false},                   // exactly 30 days after the last: still known
		{"s1", "447700900501", time.Second + gone, true},          // past the slack after the last
		{"s1", "447700900500", 59*day + gone, true},               // likewise
		{"s1", "447700900500", 59*day + gone + time.Hour, false},  // known again
		{"s2", "447700900500", time.Second + 30*day, false},       // exactly 30 days
		{"s2", "447700900500", time.Second + 30*day + gone, true}, // past the slack
		{"s2", "447700900777", time.Second + 30*day + gone, true}, // never seen
		{"s2", "447700900777", 2*time.Second + 30*day + gone, false},
	} {
		c := f.obs(t, velocity.Observation{Sender: step.sender, Destination: step.dest, At: at(step.at)})
		want(t, fmt.Sprintf("step %d (%s→%s) NewDestination", i, step.sender, step.dest), c.NewDestination, step.want)
	}
}

func testReplay(t *testing.T, f *fixture) {
	first := f.obs(t, velocity.Observation{MessageID: "r1", Destination: "447700900001", HighCost: true, ContentHash: 3})
	f.obs(t, velocity.Observation{MessageID: "r2", Destination: "447700900002", HighCost: true, ContentHash: 3})
	// The replay answers as the first time, even for NewDestination.
	again := f.obs(t, velocity.Observation{MessageID: "r1", Destination: "447700900001", HighCost: true, ContentHash: 3})
	if again != first {
		t.Errorf("replay = %+v, want the first answer %+v", again, first)
	}
	third := f.obs(t, velocity.Observation{MessageID: "r3", Destination: "447700900001", HighCost: true, ContentHash: 3})
	wantCounts := velocity.Counts{
		SenderPerSecond: 3, SenderPerMinute: 3, DestinationPerMinute: 2, PairPerHour: 2,
		UniqueDestinationsPerHour: 2, RepeatRatio: 1, SequentialDestinations: 2,
		HighCostPerMinute: 3, NewDestination: false,
	}
	if third != wantCounts {
		t.Errorf("after a replay: %+v, want %+v", third, wantCounts)
	}
	// The same id from another sender is another message.
	other := f.obs(t, velocity.Observation{MessageID: "r1", Sender: "s2", Destination: "447700900001"})
	want(t, "other sender's r1 DestinationPerMinute", other.DestinationPerMinute, 3)
}

func testConcurrentReplays(t *testing.T, f *fixture) {
	const workers = 32
	results := make([]velocity.Counts, workers)
	failures := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			results[w], failures[w] = f.c.Observe(f.ctx, f.fill(velocity.Observation{MessageID: "same"}))
		})
	}
	wg.Wait()
	for w := range workers {
		if failures[w] != nil {
			t.Fatal(failures[w])
		}
		if results[w] != results[0] {
			t.Errorf("worker %d got %+v, worker 0 %+v", w, results[w], results[0])
		}
	}
	want(t, "SenderPerMinute", results[0].SenderPerMinute, 1)
	want(t, "next SenderPerMinute", f.obs(t, velocity.Observation{}).SenderPerMinute, 2)
}

// testConcurrentExact: 32 goroutines, 4 senders of one tenant, one destination. Each
// sender's per-minute counts and the destination's must be exactly 1..n, once each.
func testConcurrentExact(t *testing.T, f *fixture) {
	const workers, each, senders = 32, 40, 4
	type result struct {
		sender string
		c      velocity.Counts
	}
	out := make(chan result, workers*each)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				o := f.fill(velocity.Observation{
					MessageID: fmt.Sprintf("w%d-%d", w, i),
					Sender:    fmt.Sprint("s", w%senders),
					HighCost:  i%2 == 0,
					At:        at(time.Duration(w*each+i) * time.Millisecond),
				})
				c, err := f.c.Observe(f.ctx, o)
				if err != nil {
					errc <- err
					return
				}
				out <- result{o.Sender, c}
			}
		})
	}
	wg.Wait()
	close(out)
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	perSender := map[string][]int64{}
	var dest []int64
	for r := range out {
		perSender[r.sender] = append(perSender[r.sender], r.c.SenderPerMinute)
		dest = append(dest, r.c.DestinationPerMinute)
	}
	exact := func(what string, got []int64, n int) {
		t.Helper()
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		if len(got) != n {
			t.Errorf("%s: %d results, want %d", what, len(got), n)
			return
		}
		for i, v := range got {
			if v != int64(i+1) {
				t.Errorf("%s: sorted result %d is %d, want %d (lost or doubled updates)", what, i, v, i+1)
				return
			}
		}
	}
	for s := range senders {
		exact(fmt.Sprint("SenderPerMinute of s", s), perSender[fmt.Sprint("s", s)], workers/senders*each)
	}
	exact("DestinationPerMinute", dest, workers*each)
	// The totals, seen by one more message per sender.
	for s := range senders {
		c := f.obs(t, velocity.Observation{Sender: fmt.Sprint("s", s), At: at(59 * time.Second)})
		want(t, fmt.Sprintf("s%d PairPerHour", s), c.PairPerHour, workers/senders*each+1)
		want(t, fmt.Sprintf("s%d HighCostPerMinute", s), c.HighCostPerMinute, workers/senders*each/2)
	}
}

func testInvalid(t *testing.T, f *fixture) {
	_, err := f.c.Observe(f.ctx, velocity.Observation{Destination: "447700900500"})
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("Observe of an empty observation: %v, want an invalid error", err)
	}
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) != 3 {
		t.Fatalf("Observe of an empty observation: %#v, want 3 field violations", err)
	}
	for i, field := range []string{"message_id", "tenant_id", "at"} {
		want(t, fmt.Sprint("violation ", i), e.Fields[i].Field, field)
	}
	// Nothing was counted.
	want(t, "SenderPerMinute after the invalid one", f.obs(t, velocity.Observation{}).SenderPerMinute, 1)
}
