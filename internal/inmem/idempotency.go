package inmem

import (
	"context"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
)

// IdempotencyStore is idempotency.Store in memory. Expired keys are dropped when next
// touched; nothing sweeps them otherwise.
type IdempotencyStore struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[scopedKey]*reservation
}

type scopedKey struct{ tenantID, key string }

type reservation struct {
	fingerprint string
	expires     time.Time
	done        bool
	resp        idempotency.Response
}

var _ idempotency.Store = (*IdempotencyStore)(nil)

func newIdempotencyStore(now func() time.Time) *IdempotencyStore {
	return &IdempotencyStore{now: now, keys: map[scopedKey]*reservation{}}
}

// live returns the unexpired reservation of k, dropping an expired one. Callers hold mu.
func (s *IdempotencyStore) live(k scopedKey, now time.Time) *reservation {
	r := s.keys[k]
	if r != nil && !r.expires.After(now) {
		delete(s.keys, k)
		return nil
	}
	return r
}

// Begin implements idempotency.Store; see postgres.IdempotencyStore.Begin.
func (s *IdempotencyStore) Begin(_ context.Context, tenantID, key, fingerprint string, ttl time.Duration) (idempotency.Outcome, idempotency.Response, error) {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return 0, idempotency.Response{}, err
	}
	if ttl <= 0 {
		return 0, idempotency.Response{}, errs.E(errs.Invalid, "idempotency key %q: ttl %v is not positive", key, ttl)
	}
	now := s.now()
	k := scopedKey{tenantID, key}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(k, now)
	switch {
	case r == nil:
		s.keys[k] = &reservation{fingerprint: fingerprint, expires: now.Add(ttl)}
		return idempotency.Started, idempotency.Response{}, nil
	case r.fingerprint != fingerprint:
		return idempotency.Mismatch, idempotency.Response{}, nil
	case !r.done:
		return idempotency.InProgress, idempotency.Response{}, nil
	}
	return idempotency.Replay, idempotency.Response{Status: r.resp.Status, Body: cloneBytes(r.resp.Body)}, nil
}

// Complete implements idempotency.Store: NotFound when the key is not reserved,
// Conflict when it is already completed.
func (s *IdempotencyStore) Complete(_ context.Context, tenantID, key string, resp idempotency.Response) error {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return err
	}
	if resp.Status < 100 || resp.Status > 599 {
		return errs.E(errs.Invalid, "idempotency key %q: status %d is not an HTTP status", key, resp.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(scopedKey{tenantID, key}, s.now())
	switch {
	case r == nil:
		return errs.E(errs.NotFound, "idempotency key %q is not reserved", key)
	case r.done:
		return errs.E(errs.Conflict, "idempotency key %q already completed", key)
	}
	r.done = true
	r.resp = idempotency.Response{Status: resp.Status, Body: cloneBytes(resp.Body)}
	return nil
}

// Release implements idempotency.Store: a free key is a no-op, a completed one
// Conflict.
func (s *IdempotencyStore) Release(_ context.Context, tenantID, key string) error {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return err
	}
	k := scopedKey{tenantID, key}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(k, s.now())
	switch {
	case r == nil:
		return nil
	case r.done:
		return errs.E(errs.Conflict, "idempotency key %q is completed; it cannot be released", key)
	}
	delete(s.keys, k)
	return nil
}
