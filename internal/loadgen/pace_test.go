package loadgen

import (
	"context"
	"math"
	"testing"
	"time"
)

// fakeClock moves only when the dispatcher sleeps or a test advances it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The pacing holds the rate however long each hand-over takes, as long as it is
// shorter than the interval on average: every message leaves at start + i/rate, never
// later by the sum of earlier delays (no drift), and a stall is caught up at once.
func TestDispatchHoldsTheRate(t *testing.T) {
	t.Parallel()
	const rate = 200.0
	interval := time.Duration(float64(time.Second) / rate)
	tests := []struct {
		name string
		cost func(i int64) time.Duration // time one hand-over takes
	}{
		{"free", func(int64) time.Duration { return 0 }},
		{"30% of the interval each", func(int64) time.Duration { return interval * 3 / 10 }},
		{"99% of the interval each", func(int64) time.Duration { return interval * 99 / 100 }},
		{"a 2s stall at message 100", func(i int64) time.Duration {
			if i == 100 {
				return 2 * time.Second
			}
			return 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &fakeClock{now: epoch}
			s := schedule{start: epoch, rate: rate, end: epoch.Add(10 * time.Second), clock: clk}
			var sentAt []time.Time
			n := dispatch(context.Background(), s, func(i int64) job { return job{index: i} }, func(_ context.Context, j job) bool {
				sentAt = append(sentAt, clk.Now())
				clk.advance(tc.cost(j.index))
				return true
			})
			if n != 2000 || len(sentAt) != 2000 {
				t.Fatalf("%d messages in 10s at %v/s, want 2000", n, rate)
			}
			late := 0
			for i, at := range sentAt {
				due := s.due(int64(i))
				if at.Before(due) {
					t.Fatalf("message %d left at %v, before it was due at %v", i, at.Sub(epoch), due.Sub(epoch))
				}
				if at.Sub(due) > interval {
					late++
				}
			}
			// Only the messages due during the stall leave late; the schedule is back
			// on time right after.
			if tc.name == "a 2s stall at message 100" {
				if want := int(2*rate) + 1; late > want {
					t.Errorf("%d messages late by more than an interval, want at most the %d due during the stall", late, want)
				}
				if last := sentAt[len(sentAt)-1]; last.Sub(s.due(1999)) > interval {
					t.Errorf("the last message left %v after it was due: the stall was not caught up", last.Sub(s.due(1999)))
				}
			} else if late > 0 {
				t.Errorf("%d messages late by more than an interval", late)
			}
			// Over any whole second after the first, the rate is the target.
			for sec := 1; sec < 10; sec++ {
				from, to := epoch.Add(time.Duration(sec)*time.Second), epoch.Add(time.Duration(sec+1)*time.Second)
				c := 0
				for _, at := range sentAt {
					if !at.Before(from) && at.Before(to) {
						c++
					}
				}
				if tc.name != "a 2s stall at message 100" && math.Abs(float64(c)-rate) > 1 {
					t.Errorf("second %d: %d messages, want %v ±1", sec, c, rate)
				}
			}
		})
	}
}

// With a count the schedule stops there; without a rate every message is due at once
// and a duration bounds the sending by the clock.
func TestDispatchBounds(t *testing.T) {
	t.Parallel()
	t.Run("count", func(t *testing.T) {
		t.Parallel()
		clk := &fakeClock{now: epoch}
		n := dispatch(context.Background(), schedule{start: epoch, rate: 1000, count: 250, clock: clk},
			func(i int64) job { return job{index: i} }, func(context.Context, job) bool { return true })
		if n != 250 || clk.Now().Sub(epoch) != 249*time.Millisecond {
			t.Errorf("%d messages ending at %v, want 250 ending at 249ms", n, clk.Now().Sub(epoch))
		}
	})
	t.Run("unpaced duration", func(t *testing.T) {
		t.Parallel()
		clk := &fakeClock{now: epoch}
		n := dispatch(context.Background(), schedule{start: epoch, end: epoch.Add(time.Second), clock: clk},
			func(i int64) job { return job{index: i} }, func(context.Context, job) bool {
				clk.advance(time.Millisecond) // each send takes 1ms
				return true
			})
		if n != 1000 {
			t.Errorf("%d messages in 1s at 1ms each, want 1000", n)
		}
	})
	t.Run("duration the rate cannot keep up with", func(t *testing.T) {
		t.Parallel()
		clk := &fakeClock{now: epoch}
		n := dispatch(context.Background(), schedule{start: epoch, rate: 1000, end: epoch.Add(time.Second), clock: clk},
			func(i int64) job { return job{index: i} }, func(context.Context, job) bool {
				clk.advance(4 * time.Millisecond) // a quarter of the rate at most
				return true
			})
		if n != 250 {
			t.Errorf("%d messages in 1s at 4ms each, want 250: the duration bounds the run", n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		clk := &fakeClock{now: epoch}
		n := dispatch(ctx, schedule{start: epoch, rate: 100, count: 1000, clock: clk},
			func(i int64) job { return job{index: i} }, func(_ context.Context, j job) bool {
				if j.index == 9 {
					cancel()
				}
				return true
			})
		if n != 10 {
			t.Errorf("%d messages handed over, want 10 (cancelled after the 10th)", n)
		}
	})
}

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	var h histogram
	if got := h.summary(); got != (latency{}) {
		t.Errorf("empty histogram = %+v", got)
	}
	// 1..10000 µs: the p-th percentile is p*100 µs.
	for v := 1; v <= 10000; v++ {
		h.record(time.Duration(v) * time.Microsecond)
	}
	got := h.summary()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50, 5}, {"p95", got.P95, 9.5}, {"p99", got.P99, 9.9}, {"max", got.Max, 10}, {"mean", got.Mean, 5.0005}} {
		if math.Abs(c.got-c.want)/c.want > 0.016 {
			t.Errorf("%s = %vms, want %vms within 1.6%%", c.name, c.got, c.want)
		}
	}
	if got.Count != 10000 || got.Max != 10 {
		t.Errorf("count %d, max %v; want 10000 and exactly 10ms", got.Count, got.Max)
	}
	// Bucket boundaries are contiguous: every value's bucket middle is within 1.6%.
	for v := uint64(1); v < 1<<40; v = v*3/2 + 1 {
		if mid := bucketMid(bucketOf(v)); math.Abs(mid-float64(v))/float64(v) > 0.016 {
			t.Fatalf("value %d: bucket %d middle %v", v, bucketOf(v), mid)
		}
	}
}
