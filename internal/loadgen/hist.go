package loadgen

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// histogram records durations in microseconds in log-linear buckets: exact below
// 128µs, then 64 buckets per power of two, so a percentile is within 1.6% of the
// true value; max and mean are exact. Safe for concurrent use.
type histogram struct {
	mu     sync.Mutex
	counts [64 * 60]uint64
	n      uint64
	sum    float64 // µs
	max    uint64  // µs
}

const histSubBits = 6 // 2^6 = 64 buckets per power of two

func bucketOf(v uint64) int {
	m := bits.Len64(v)
	if m <= histSubBits+1 {
		return int(v) // 0..127
	}
	shift := m - histSubBits - 1
	return shift<<histSubBits + int(v>>shift)
}

// bucketMid is the middle of a bucket's range of values.
func bucketMid(b int) float64 {
	if b < 2<<histSubBits {
		return float64(b)
	}
	shift := b>>histSubBits - 1
	low := uint64(b-shift<<histSubBits) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(0, d.Microseconds()))
	h.mu.Lock()
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	h.max = max(h.max, v)
	h.mu.Unlock()
}

// latency is a summary of recorded durations in milliseconds.
type latency struct {
	Count                    int64
	P50, P95, P99, Max, Mean float64
}

// summary computes the percentiles (nearest rank) and max and mean.
func (h *histogram) summary() latency {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return latency{}
	}
	qs := []float64{0.50, 0.95, 0.99}
	out := make([]float64, len(qs))
	var seen uint64
	q := 0
	for b, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		for q < len(qs) && seen >= uint64(math.Ceil(qs[q]*float64(h.n))) {
			out[q] = min(bucketMid(b), float64(h.max))
			q++
		}
		if q == len(qs) {
			break
		}
	}
	ms := func(us float64) float64 { return math.Round(us) / 1000 }
	return latency{Count: int64(h.n), P50: ms(out[0]), P95: ms(out[1]), P99: ms(out[2]),
		Max: ms(float64(h.max)), Mean: ms(h.sum / float64(h.n))}
}
