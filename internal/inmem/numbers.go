package inmem

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
)

// NumberStore is numbers.Store in memory: the assignments by (channel, number) under
// one mutex.
type NumberStore struct {
	now    func() time.Time
	mu     sync.Mutex
	byAddr map[address]numbers.Number
}

type address struct{ channel, number string }

var _ numbers.Store = (*NumberStore)(nil)

func newNumberStore(now func() time.Time) *NumberStore {
	return &NumberStore{now: now, byAddr: map[address]numbers.Number{}}
}

// Numbers returns the inbound-number store.
func (db *DB) Numbers() numbers.Store { return db.numbers }

// Assign implements numbers.Store; see postgres.NumberStore.Assign.
func (s *NumberStore) Assign(_ context.Context, n numbers.Number) (numbers.Number, error) {
	if err := numbers.Check(n); err != nil {
		return numbers.Number{}, err
	}
	k := address{n.Channel, n.Number}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.byAddr[k]; ok {
		if rec.TenantID != n.TenantID {
			return numbers.Number{}, errs.E(errs.Conflict, "number %s on %s is owned by another tenant", n.Number, n.Channel)
		}
		return rec, nil
	}
	rec := numbers.Number{Channel: n.Channel, Number: n.Number, TenantID: n.TenantID, CreatedAt: s.now()}
	s.byAddr[k] = rec
	return rec, nil
}

// Release implements numbers.Store; see postgres.NumberStore.Release.
func (s *NumberStore) Release(_ context.Context, tenantID, channel, number string) error {
	if err := numbers.CheckRelease(tenantID, channel, number); err != nil {
		return err
	}
	k := address{channel, number}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.byAddr[k]; !ok || rec.TenantID != tenantID {
		return errs.E(errs.NotFound, "tenant %s has no number %s on %s", tenantID, number, channel)
	}
	delete(s.byAddr, k)
	return nil
}

// Owner implements numbers.Store.
func (s *NumberStore) Owner(_ context.Context, channel, number string) (numbers.Number, error) {
	if err := numbers.CheckAddress(channel, number); err != nil {
		return numbers.Number{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byAddr[address{channel, number}]
	if !ok {
		return numbers.Number{}, errs.E(errs.NotFound, "number %s on %s is not assigned", number, channel)
	}
	return rec, nil
}

// List implements numbers.Store: byte-wise order, as postgres's "C" collation.
func (s *NumberStore) List(_ context.Context, tenantID string) ([]numbers.Number, error) {
	if err := numbers.CheckTenant(tenantID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := []numbers.Number{}
	for _, rec := range s.byAddr {
		if rec.TenantID == tenantID {
			out = append(out, rec)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Channel != out[j].Channel {
			return out[i].Channel < out[j].Channel
		}
		return out[i].Number < out[j].Number
	})
	return out, nil
}
