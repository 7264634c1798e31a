package message

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestRequestedTypeIsTheCatalogues(t *testing.T) {
	if RequestedType != catalog.MessageRequestedType {
		t.Fatalf("RequestedType %q, catalogue %q", RequestedType, catalog.MessageRequestedType)
	}
}

// NearestRank is the smallest rank k (from 1) with k/n ≥ p, as an index.
func TestNearestRank(t *testing.T) {
	for n := 1; n <= 250; n++ {
		for _, p := range StatsPercentiles {
			k := 1
			for float64(k) < p*float64(n) {
				k++
			}
			if got := NearestRank(p, n); got != k-1 {
				t.Fatalf("NearestRank(%v, %d) = %d, want %d", p, n, got, k-1)
			}
		}
	}
	for _, c := range []struct {
		p    float64
		n    int
		want int
	}{
		{0.5, 1, 0}, {0.99, 1, 0}, {0.5, 2, 0}, {0.5, 3, 1}, {0.95, 20, 18}, {0.95, 12, 11}, {0.99, 100, 98}, {0.99, 101, 99},
	} {
		if got := NearestRank(c.p, c.n); got != c.want {
			t.Errorf("NearestRank(%v, %d) = %d, want %d", c.p, c.n, got, c.want)
		}
	}
}

func TestLatencyOf(t *testing.T) {
	for _, c := range []struct {
		name string
		us   []int64
		want Latency
	}{
		{"none", nil, Latency{}},
		{"one", []int64{1500}, Latency{Count: 1, P50: 1.5, P95: 1.5, P99: 1.5, Max: 1.5, Mean: 1.5}},
		{"zero latency", []int64{0}, Latency{Count: 1}},
		{"any order", []int64{3000, 1000, 2000, 4000}, Latency{Count: 4, P50: 2, P95: 4, P99: 4, Max: 4, Mean: 2.5}},
		{"mean rounds half away from zero", []int64{1, 2}, Latency{Count: 2, P50: 0.001, P95: 0.002, P99: 0.002, Max: 0.002, Mean: 0.002}},
		{"negative mean rounds away from zero", []int64{-1, -2}, Latency{Count: 2, P50: -0.002, P95: -0.001, P99: -0.001, Max: -0.001, Mean: -0.002}},
		{"mean rounds down below half", []int64{1, 1, 2}, Latency{Count: 3, P50: 0.001, P95: 0.002, P99: 0.002, Max: 0.002, Mean: 0.001}},
		{"no overflow", []int64{1 << 62, 1 << 62, 1 << 62}, Latency{Count: 3,
			P50: float64(int64(1)<<62) / 1000, P95: float64(int64(1)<<62) / 1000, P99: float64(int64(1)<<62) / 1000,
			Max: float64(int64(1)<<62) / 1000, Mean: float64(int64(1)<<62) / 1000}},
	} {
		if got := LatencyOf(c.us); got != c.want {
			t.Errorf("%s: LatencyOf = %+v, want %+v", c.name, got, c.want)
		}
	}
	if got := NewLatency(0, [3]int64{1, 2, 3}, 4, big.NewInt(5)); got != (Latency{}) {
		t.Errorf("NewLatency of no latencies = %+v, want zero", got)
	}
}

func TestStatsFilterNormalize(t *testing.T) {
	since := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.FixedZone("UTC+2", 2*3600))
	f, err := StatsFilter{Since: since, Until: since.Add(time.Hour)}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if want := since.UTC().Truncate(time.Microsecond); f.Since != want || f.Until != want.Add(time.Hour) {
		t.Errorf("Normalize = %v %v, want UTC microseconds %v", f.Since, f.Until, want)
	}
	for _, c := range []struct {
		name  string
		f     StatsFilter
		field string
	}{
		{"no since", StatsFilter{}, "since"},
		{"until only", StatsFilter{Until: since}, "since"},
		{"empty range", StatsFilter{Since: since, Until: since}, "until"},
		{"within a microsecond", StatsFilter{Since: since, Until: since.Add(100)}, "until"},
		{"until before since", StatsFilter{Since: since, Until: since.Add(-time.Second)}, "until"},
	} {
		_, err := c.f.Normalize()
		wantCode(t, err, errs.Invalid)
		if e, ok := err.(*errs.Error); !ok || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%s: error %v, want field %q", c.name, err, c.field)
		}
	}
}

func TestStatsJSON(t *testing.T) {
	since := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	st := NewStats(StatsFilter{Since: since})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"since":"2026-01-02T15:00:00Z","total":0,"by_status":{},` +
		`"latency":{"count":0,"p50_ms":0,"p95_ms":0,"p99_ms":0,"max_ms":0,"mean_ms":0}}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
	st = NewStats(StatsFilter{Since: since, Until: since.Add(time.Hour)})
	st.Total, st.ByStatus[Delivered] = 1, 1
	st.Latency = LatencyOf([]int64{1234567})
	b, _ = json.Marshal(st)
	want = `{"since":"2026-01-02T15:00:00Z","until":"2026-01-02T16:00:00Z","total":1,"by_status":{"delivered":1},` +
		`"latency":{"count":1,"p50_ms":1234.567,"p95_ms":1234.567,"p99_ms":1234.567,"max_ms":1234.567,"mean_ms":1234.567}}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
}

func TestAdvanceSetsTimes(t *testing.T) {
	t0 := now.Truncate(time.Microsecond)
	u := update()
	u.Entry.At = t0.Add(-time.Second)
	m := NewMessage(u, t0)
	if m.AcceptedAt == nil || !m.AcceptedAt.Equal(u.Entry.At) || m.FinishedAt != nil || !m.CreatedAt.Equal(t0) || !m.UpdatedAt.Equal(t0) {
		t.Fatalf("NewMessage = %+v, want accepted at %v, not finished, created now", m, u.Entry.At)
	}
	d := u
	d.Entry = Entry{EventID: "ev-2", Type: "io.catalyst.message.delivered", Status: Delivered, At: t0}
	m.Advance(d, t0.Add(time.Second))
	if m.FinishedAt == nil || !m.FinishedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("after delivered: FinishedAt %v, want %v", m.FinishedAt, t0.Add(time.Second))
	}
	r := d
	r.Entry = Entry{EventID: "ev-3", Type: "io.catalyst.message.read", Status: Read, At: t0}
	m.Advance(r, t0.Add(time.Minute))
	if m.Status != Read || !m.FinishedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("after read: status %s FinishedAt %v, want read, %v", m.Status, m.FinishedAt, t0.Add(time.Second))
	}
}
