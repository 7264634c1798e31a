package message

import (
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// StatsFilter selects the messages Store.Stats summarises: those created in
// [Since, Until). Both are used at microsecond precision, as the stores keep times.
type StatsFilter struct {
	Since time.Time // required
	Until time.Time // zero: no end
}

// Stats summarises a tenant's messages created in [Since, Until).
type Stats struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"`
	// Total is the number of messages; ByStatus splits it by current status and holds
	// every status with a count above zero (an empty map when Total is 0).
	Total    int64            `json:"total"`
	ByStatus map[Status]int64 `json:"by_status"`
	// Latency is over the messages now delivered or read that have both AcceptedAt
	// and FinishedAt: FinishedAt - AcceptedAt, from the API accepting the message to
	// the store recording its delivery.
	Latency Latency `json:"latency"`
}

// Latency summarises latencies in milliseconds at microsecond precision; every
// field is 0 when Count is 0. The percentiles are nearest rank (PostgreSQL's
// percentile_disc): of n latencies in ascending order, the one at index
// ceil(p·n)-1 (NearestRank). Mean is rounded to the microsecond, half away from zero.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// StatsPercentiles are Latency's percentiles, P50, P95 and P99, in that order; a
// store asks PostgreSQL for exactly these values.
var StatsPercentiles = [3]float64{0.5, 0.95, 0.99}

// Normalize checks f for Store.Stats and returns it in UTC, truncated to the
// microsecond. A zero Since is Invalid (field "since"), and so is an Until that is
// set and not after Since (field "until").
func (f StatsFilter) Normalize() (StatsFilter, error) {
	if f.Since.IsZero() {
		return f, &errs.Error{Code: errs.Invalid, Message: "stats: since is required",
			Fields: []errs.FieldViolation{{Field: "since", Reason: "required"}}}
	}
	f.Since = f.Since.UTC().Truncate(time.Microsecond)
	if !f.Until.IsZero() {
		f.Until = f.Until.UTC().Truncate(time.Microsecond)
		if !f.Until.After(f.Since) {
			return f, &errs.Error{Code: errs.Invalid, Message: "stats: until is not after since",
				Fields: []errs.FieldViolation{{Field: "until", Reason: "must be after since"}}}
		}
	}
	return f, nil
}

// NewStats returns the empty Stats of f (a normalized filter), for a store to fill.
func NewStats(f StatsFilter) Stats {
	st := Stats{Since: f.Since, ByStatus: map[Status]int64{}}
	if !f.Until.IsZero() {
		until := f.Until
		st.Until = &until
	}
	return st
}

// NearestRank is the index, in n ascending values, of the nearest-rank percentile p
// (0 < p ≤ 1): ceil(p·n)-1, computed in float64 as PostgreSQL's percentile_disc does,
// and never below 0.
func NearestRank(p float64, n int) int {
	return max(int(math.Ceil(p*float64(n))), 1) - 1
}

// LatencyOf summarises latencies given in whole microseconds, in any order; it
// sorts us in place.
func LatencyOf(us []int64) Latency {
	if len(us) == 0 {
		return Latency{}
	}
	slices.Sort(us)
	var pct [len(StatsPercentiles)]int64
	for i, p := range StatsPercentiles {
		pct[i] = us[NearestRank(p, len(us))]
	}
	sum := new(big.Int)
	for _, v := range us {
		sum.Add(sum, big.NewInt(v))
	}
	return NewLatency(int64(len(us)), pct, us[len(us)-1], sum)
}

// NewLatency converts a latency summary in whole microseconds (count latencies, their
// percentiles at StatsPercentiles, maximum and sum) to Latency. Both stores end here,
// so they give the same numbers for the same data.
func NewLatency(count int64, pct [len(StatsPercentiles)]int64, maxUS int64, sum *big.Int) Latency {
	if count == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: count,
		P50:   ms(pct[0]), P95: ms(pct[1]), P99: ms(pct[2]),
		Max:  ms(maxUS),
		Mean: ms(roundQuo(sum, count)),
	}
}

// roundQuo is sum/n (n > 0) rounded to the nearest integer, half away from zero.
func roundQuo(sum *big.Int, n int64) int64 {
	d := big.NewInt(n)
	q, r := new(big.Int).QuoRem(sum, d, new(big.Int)) // truncated toward zero
	if r.Abs(r).Lsh(r, 1).Cmp(d) >= 0 {
		if sum.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}
