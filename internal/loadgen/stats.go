package loadgen

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// delivery is the platform's view of the run, merged over the tenants.
type delivery struct {
	Known     bool             // every tenant's stats were read at least once
	Total     int64            // messages the platform recorded
	ByStatus  map[string]int64 // summed over tenants
	Delivered int64            // delivered + read
	Failed    int64
	Blocked   int64
	Terminal  int64 // delivered, read, failed, blocked, received
	// Latency is accept → delivered over delivered messages. With several tenants its
	// percentiles and max are the largest of the tenants' (a conservative bound: the
	// merged percentile is never above the largest), Mean is weighted by count.
	Latency latency
}

// terminalStatuses end a message's life (internal/message Terminal).
var terminalStatuses = []string{"delivered", "read", "failed", "blocked", "received"}

// merge adds tenants' stats.
func merge(all []platformStats) delivery {
	d := delivery{Known: true, ByStatus: map[string]int64{}}
	var weighted float64
	for _, s := range all {
		d.Total += s.Total
		for k, v := range s.ByStatus {
			d.ByStatus[k] += v
		}
		l := s.Latency
		d.Latency.Count += l.Count
		d.Latency.P50 = max(d.Latency.P50, l.P50)
		d.Latency.P95 = max(d.Latency.P95, l.P95)
		d.Latency.P99 = max(d.Latency.P99, l.P99)
		d.Latency.Max = max(d.Latency.Max, l.Max)
		weighted += l.Mean * float64(l.Count)
	}
	if d.Latency.Count > 0 {
		d.Latency.Mean = weighted / float64(d.Latency.Count)
	}
	d.Delivered = d.ByStatus["delivered"] + d.ByStatus["read"]
	d.Failed, d.Blocked = d.ByStatus["failed"], d.ByStatus["blocked"]
	for _, s := range terminalStatuses {
		d.Terminal += d.ByStatus[s]
	}
	return d
}

// monitor polls every tenant's stats and keeps the merged view.
type monitor struct {
	api      *apiClient
	accounts []account
	since    time.Time
	log      *slog.Logger

	mu          sync.Mutex
	last        []platformStats // per tenant, the latest answer
	answered    []bool
	view        delivery
	unavailable bool      // the endpoint does not exist: stop asking
	polls       int64     // completed polls
	grewAt      time.Time // start of the poll that last saw Delivered grow
}

func newMonitor(api *apiClient, accounts []account, since time.Time, log *slog.Logger) *monitor {
	return &monitor{api: api, accounts: accounts, since: since, log: log,
		last: make([]platformStats, len(accounts)), answered: make([]bool, len(accounts))}
}

// poll reads every tenant's stats at once and merges them; a tenant whose read
// fails keeps its previous answer.
func (m *monitor) poll(ctx context.Context) {
	if m.isUnavailable() {
		return
	}
	at := time.Now() // the answers describe the platform as of about now
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	type answer struct {
		s   platformStats
		err error
	}
	answers := make([]answer, len(m.accounts))
	var wg sync.WaitGroup
	for i, a := range m.accounts {
		wg.Go(func() {
			s, err := m.api.stats(ctx, a.APIKey, m.since)
			answers[i] = answer{s, err}
		})
	}
	wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range answers {
		switch {
		case errors.Is(a.err, errStatsUnavailable):
			if !m.unavailable {
				m.log.Warn("the platform has no message stats: delivery is unknown", "err", a.err)
			}
			m.unavailable = true
		case a.err != nil:
			m.log.Debug("stats poll failed", "tenant_id", m.accounts[i].ID, "err", a.err)
		default:
			m.last[i], m.answered[i] = a.s, true
		}
	}
	m.polls++
	if m.unavailable {
		m.view = delivery{}
		return
	}
	v := merge(m.last)
	for _, ok := range m.answered {
		v.Known = v.Known && ok
	}
	if v.Delivered > m.view.Delivered {
		m.grewAt = at
	}
	m.view = v
}

func (m *monitor) isUnavailable() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unavailable
}

// snapshot is the merged view, the number of polls done and when delivered last grew.
func (m *monitor) snapshot() (delivery, int64, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view, m.polls, m.grewAt
}
