package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process Limiter: a mutex and a map from key to TAT. A key whose
// bucket is full again is forgotten lazily: when it is next used, and by a sweep of
// the whole map once as many Allows have run as the map had keys at the last sweep
// (so eviction costs O(1) amortized per Allow).
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	tat       map[string]int64 // Unix µs
	sinceScan int
	nextScan  int
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty Memory limiter reading time from now (time.Now if nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: make(map[string]int64), nextScan: 64}
}

// Allow implements Limiter.
func (m *Memory) Allow(ctx context.Context, key string, l Limit, n int) (Decision, error) {
	p, err := check(key, l, n)
	if err != nil {
		return Decision{}, err
	}
	d, _, err := m.decide(ctx, []string{key}, []params{p})
	return d, err
}

// AllowAll implements Limiter.
func (m *Memory) AllowAll(ctx context.Context, reqs []Request) (Decision, int, error) {
	ps, err := checkAll(reqs)
	if err != nil {
		return Decision{}, -1, err
	}
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		keys[i] = r.Key
	}
	return m.decide(ctx, keys, ps)
}

// decide runs gcraAll on keys under one lock and stores the TATs it takes.
func (m *Memory) decide(ctx context.Context, keys []string, ps []params) (Decision, int, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, -1, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixMicro()
	m.sweep(now)
	tats := make([]int64, len(keys))
	for i, k := range keys {
		tats[i] = m.tat[k]
	}
	d, refused, next := gcraAll(ps, tats, now)
	for i, k := range keys {
		if next == nil {
			break
		}
		switch {
		case next[i] > now:
			m.tat[k] = next[i]
		case tats[i] != 0:
			delete(m.tat, k) // full again: nothing worth remembering
		}
	}
	return d, refused, nil
}

// sweep forgets every key whose bucket is full at now, at most once per nextScan
// calls. Called with mu held.
func (m *Memory) sweep(now int64) {
	m.sinceScan++
	if m.sinceScan < m.nextScan {
		return
	}
	for k, tat := range m.tat {
		if tat <= now {
			delete(m.tat, k)
		}
	}
	m.sinceScan = 0
	m.nextScan = max(64, len(m.tat))
}

// Len returns how many keys Memory remembers (buckets not yet full again, plus
// full ones not yet swept); for tests and metrics.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}
