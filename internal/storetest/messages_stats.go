package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// wantTimePtr fails unless got is set and equals want as stored, or, for a zero want,
// is nil.
func wantTimePtr(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	switch {
	case want.IsZero() && got != nil:
		t.Errorf("%s = %v, want nil", what, *got)
	case want.IsZero():
	case got == nil:
		t.Errorf("%s = nil, want %v", what, stored(want))
	default:
		wantTime(t, what, *got, want)
	}
}

// wantTimes checks AcceptedAt and FinishedAt of what Apply returned and of Get.
func (e *messageEnv) wantTimes(t *testing.T, m message.Message, accepted, finished time.Time) {
	t.Helper()
	for what, m := range map[string]message.Message{"Apply": m, "Get": e.get(t, m.ID)} {
		wantTimePtr(t, what+" AcceptedAt", m.AcceptedAt, accepted)
		wantTimePtr(t, what+" FinishedAt", m.FinishedAt, finished)
	}
}

// delivered records a message accepted at acceptedAt (its requested event's time)
// whose delivery the store records latency later (on the clock), and returns it.
func (e *messageEnv) delivered(t *testing.T, latency time.Duration) message.Message {
	t.Helper()
	id := uuid.NewString()
	req := e.requested(id)
	e.apply(t, req)
	e.clock.Advance(latency)
	return e.apply(t, e.event(id, message.Delivered))
}

func (e *messageEnv) stats(t *testing.T, f message.StatsFilter) message.Stats {
	t.Helper()
	st, err := e.s.Stats(e.ctx, e.tenant, f)
	if err != nil {
		t.Fatalf("Stats(%+v): %v", f, err)
	}
	return st
}

// wantStats fails unless st counts exactly byStatus (Total their sum) and has
// latency.
func wantStats(t *testing.T, st message.Stats, byStatus map[message.Status]int64, latency message.Latency) {
	t.Helper()
	var total int64
	for _, n := range byStatus {
		total += n
	}
	if st.Total != total || !maps.Equal(st.ByStatus, byStatus) || st.ByStatus == nil {
		t.Errorf("Stats = total %d by status %v, want %d %v", st.Total, st.ByStatus, total, byStatus)
	}
	if st.Latency != latency {
		t.Errorf("Stats latency = %+v, want %+v", st.Latency, latency)
	}
}

var statsCases = []messageCase{
	{"accepted_at is the requested entry's time, whenever it is recorded", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		req := e.requested(id)
		req.Entry.At = e.clock.Now().Add(-1500 * time.Millisecond) // the API's clock, before the record
		e.wantTimes(t, e.apply(t, req), req.Entry.At, time.Time{})
		e.clock.Advance(time.Second)
		again := e.requested(id) // another request event for the id does not move it
		e.wantTimes(t, e.apply(t, again), req.Entry.At, time.Time{})

		late := uuid.NewString() // the receipt overtakes the request
		e.wantTimes(t, e.apply(t, e.event(late, message.Sent)), time.Time{}, time.Time{})
		e.clock.Advance(time.Second)
		finished := e.clock.Now()
		e.wantTimes(t, e.apply(t, e.event(late, message.Delivered)), time.Time{}, finished)
		e.clock.Advance(time.Second)
		req = e.requested(late)
		req.Entry.At = finished.Add(-3 * time.Second)
		m := e.apply(t, req)
		e.wantTimes(t, m, req.Entry.At, finished)
		if m.Status != message.Delivered {
			t.Errorf("status %s, want %s", m.Status, message.Delivered)
		}

		other := uuid.NewString() // an accepted status from another event type is not a request
		u := e.event(other, message.Accepted)
		e.wantTimes(t, e.apply(t, u), time.Time{}, time.Time{})
	}},
	{"finished_at is set once, at the first terminal status", func(t *testing.T, e *messageEnv) {
		for _, c := range []struct {
			seq      []message.Status
			terminal int // index in seq of the first terminal status; -1 none
		}{
			{[]message.Status{message.Accepted, message.Screened, message.Sent}, -1},
			{[]message.Status{message.Accepted, message.Sent, message.Delivered, message.Read, message.Failed}, 2},
			{[]message.Status{message.Accepted, message.Failed, message.Delivered}, 1},
			{[]message.Status{message.Accepted, message.Blocked, message.Sent}, 1},
			{[]message.Status{message.Accepted, message.Read, message.Delivered}, 1},
			{[]message.Status{message.Delivered, message.Accepted, message.Read}, 0},
			{[]message.Status{message.Received, message.Read}, 0},
		} {
			id := uuid.NewString()
			var m message.Message
			var accepted, finished time.Time
			for i, s := range c.seq {
				e.clock.Advance(time.Second)
				if i == c.terminal {
					finished = e.clock.Now()
				}
				u := e.event(id, s)
				if s == message.Accepted {
					u = e.requested(id)
					accepted = u.Entry.At
				}
				m = e.apply(t, u)
				if i < c.terminal || c.terminal < 0 {
					wantTimePtr(t, fmt.Sprintf("%v: FinishedAt after %s", c.seq, s), m.FinishedAt, time.Time{})
				}
			}
			e.wantTimes(t, m, accepted, finished)
		}
	}},
	{"stats count by status and summarise delivery latency", func(t *testing.T, e *messageEnv) {
		since := e.clock.Now()
		// 20 delivered messages with latencies 1.25, 2.25, … 20.25 ms, recorded in a
		// shuffled order.
		lat := make([]time.Duration, 20)
		for i := range lat {
			lat[i] = time.Duration(i+1)*time.Millisecond + 250*time.Microsecond
		}
		rand.Shuffle(len(lat), func(i, j int) { lat[i], lat[j] = lat[j], lat[i] })
		for _, l := range lat {
			switch l {
			case 1250 * time.Microsecond: // read later: still counted, from its delivery
				m := e.delivered(t, l)
				e.clock.Advance(time.Hour)
				e.apply(t, e.event(m.ID, message.Read))
			case 7250 * time.Microsecond: // the request recorded after the receipt
				id := uuid.NewString()
				e.apply(t, e.event(id, message.Delivered))
				req := e.requested(id)
				req.Entry.At = e.clock.Now().Add(-l)
				e.clock.Advance(time.Minute)
				e.apply(t, req)
			default:
				e.delivered(t, l)
			}
		}
		// Counted, but not in the latency: not delivered, or without an accept time.
		sent := e.requested(uuid.NewString())
		e.apply(t, sent)
		e.apply(t, e.event(sent.MessageID, message.Sent))
		failed := e.requested(uuid.NewString())
		e.apply(t, failed)
		e.clock.Advance(time.Millisecond)
		e.apply(t, e.event(failed.MessageID, message.Failed))
		e.apply(t, e.event(uuid.NewString(), message.Delivered)) // never requested
		e.apply(t, e.event(uuid.NewString(), message.Received))
		e.apply(t, e.requested(uuid.NewString()))

		st := e.stats(t, message.StatsFilter{Since: since})
		// Nearest rank of 20: p50 the 10th, p95 the 19th, p99 the 20th (linear
		// interpolation would give 10.75, 19.3, 20.06). Mean (210 + 20·0.25) / 20.
		wantStats(t, st, map[message.Status]int64{
			message.Delivered: 20, message.Read: 1, message.Sent: 1, message.Failed: 1,
			message.Received: 1, message.Accepted: 1,
		}, message.Latency{Count: 20, P50: 10.25, P95: 19.25, P99: 20.25, Max: 20.25, Mean: 10.75})
		wantTime(t, "Since", st.Since, since)
		if st.Until != nil {
			t.Errorf("Until = %v, want nil", *st.Until)
		}
	}},
	{"stats latency is nearest rank, at microsecond precision", func(t *testing.T, e *messageEnv) {
		since := e.clock.Now()
		for _, us := range []int64{2003, 1000, 2000} {
			e.delivered(t, time.Duration(us)*time.Microsecond)
		}
		// p50: ceil(0.5·3) = the 2nd; p95, p99: the 3rd; mean 5003/3 = 1667.67 µs → 1668.
		wantStats(t, e.stats(t, message.StatsFilter{Since: since}), map[message.Status]int64{message.Delivered: 3},
			message.Latency{Count: 3, P50: 2, P95: 2.003, P99: 2.003, Max: 2.003, Mean: 1.668})
		for ms := 11; ms >= 3; ms-- {
			e.delivered(t, time.Duration(ms)*time.Millisecond)
		}
		// 1, 2, 2.003, 3, 4, … 11 ms: p50 ceil(6) = the 6th; p95 ceil(11.4) and p99
		// ceil(11.88) = the 12th; mean 68003/12 = 5666.92 µs → 5667.
		wantStats(t, e.stats(t, message.StatsFilter{Since: since}), map[message.Status]int64{message.Delivered: 12},
			message.Latency{Count: 12, P50: 5, P95: 11, P99: 11, Max: 11, Mean: 5.667})
	}},
	{"stats count messages created in [since, until)", func(t *testing.T, e *messageEnv) {
		t0 := e.clock.Now() // with nanoseconds and not in UTC: stored as UTC µs
		e.delivered(t, 0)   // created at t0
		e.clock.Advance(time.Minute)
		t1 := e.clock.Now()
		e.apply(t, e.requested(uuid.NewString()))
		e.clock.Advance(time.Minute)
		t2 := e.clock.Now()
		e.apply(t, e.event(uuid.NewString(), message.Sent))
		one := func(s message.Status) map[message.Status]int64 { return map[message.Status]int64{s: 1} }
		for _, c := range []struct {
			name         string
			since, until time.Time
			want         map[message.Status]int64
		}{
			{"all", t0, time.Time{}, map[message.Status]int64{message.Delivered: 1, message.Accepted: 1, message.Sent: 1}},
			{"since is inclusive", t1, time.Time{}, map[message.Status]int64{message.Accepted: 1, message.Sent: 1}},
			{"until is exclusive", t0, t1, one(message.Delivered)},
			{"between", t1, t2, one(message.Accepted)},
			{"a microsecond after", t2.Add(time.Microsecond), time.Time{}, map[message.Status]int64{}},
			{"before everything", t0.Add(-time.Hour), t0, map[message.Status]int64{}},
		} {
			t.Run(c.name, func(t *testing.T) {
				st := e.stats(t, message.StatsFilter{Since: c.since, Until: c.until})
				var latency message.Latency
				if c.want[message.Delivered] == 1 {
					latency = message.Latency{Count: 1} // delivered at once: 0 ms
				}
				wantStats(t, st, c.want, latency)
				wantTime(t, "Since", st.Since, c.since)
				wantTimePtr(t, "Until", st.Until, c.until)
			})
		}
	}},
	{"stats are per tenant", func(t *testing.T, e *messageEnv) {
		since := e.clock.Now()
		e.delivered(t, time.Second)
		other := &messageEnv{s: e.s, clock: e.clock, ctx: e.ctx, tenant: newID("tenant")}
		wantStats(t, other.stats(t, message.StatsFilter{Since: since}), map[message.Status]int64{}, message.Latency{})
		other.apply(t, other.requested(uuid.NewString()))
		wantStats(t, other.stats(t, message.StatsFilter{Since: since}), map[message.Status]int64{message.Accepted: 1}, message.Latency{})
		wantStats(t, e.stats(t, message.StatsFilter{Since: since}), map[message.Status]int64{message.Delivered: 1},
			message.Latency{Count: 1, P50: 1000, P95: 1000, P99: 1000, Max: 1000, Mean: 1000})
	}},
	{"stats need since before until", func(t *testing.T, e *messageEnv) {
		_, err := e.s.Stats(e.ctx, e.tenant, message.StatsFilter{})
		wantField(t, err, "since")
		_, err = e.s.Stats(e.ctx, e.tenant, message.StatsFilter{Until: start})
		wantField(t, err, "since")
		_, err = e.s.Stats(e.ctx, e.tenant, message.StatsFilter{Since: start, Until: start})
		wantField(t, err, "until")
		_, err = e.s.Stats(e.ctx, e.tenant, message.StatsFilter{Since: start, Until: start.Add(-time.Hour)})
		wantField(t, err, "until")
	}},
}
