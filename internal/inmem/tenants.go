package inmem

import (
	"context"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// TenantStore is tenant.Store in memory.
type TenantStore struct {
	now     func() time.Time
	mu      sync.Mutex
	tenants map[string]tenant.Tenant  // by id, deleted ones included
	keys    map[string]*tenant.APIKey // by key id
	byHash  map[string]string         // key hash → key id
}

var _ tenant.Store = (*TenantStore)(nil)

func newTenantStore(now func() time.Time) *TenantStore {
	return &TenantStore{
		now:     now,
		tenants: map[string]tenant.Tenant{},
		keys:    map[string]*tenant.APIKey{},
		byHash:  map[string]string{},
	}
}

func cloneKey(k tenant.APIKey) tenant.APIKey {
	k.Hash = cloneBytes(k.Hash)
	if k.ExpiresAt != nil {
		e := *k.ExpiresAt
		k.ExpiresAt = &e
	}
	return k
}

// live returns the tenant with id unless it is unknown or deleted. Callers hold mu.
func (s *TenantStore) live(id string) (tenant.Tenant, error) {
	t, ok := s.tenants[id]
	if !ok || t.Status == tenant.Deleted {
		return tenant.Tenant{}, errs.E(errs.NotFound, "tenant %s not found", id)
	}
	return t, nil
}

// checkNewKey reports a key whose id or hash is taken. Callers hold mu.
func (s *TenantStore) checkNewKey(k tenant.APIKey) error {
	if _, dup := s.keys[k.ID]; dup {
		return errs.E(errs.Conflict, "key %s already exists", k.ID)
	}
	if _, dup := s.byHash[string(k.Hash)]; dup {
		return errs.E(errs.Conflict, "key %s: another key has the same hash", k.ID)
	}
	return nil
}

// addKey stores k. Callers hold mu and have checked it.
func (s *TenantStore) addKey(k tenant.APIKey) {
	k = cloneKey(k)
	s.keys[k.ID] = &k
	s.byHash[string(k.Hash)] = k.ID
}

// CreateTenant implements tenant.Store; see postgres.TenantStore.CreateTenant.
func (s *TenantStore) CreateTenant(_ context.Context, t tenant.Tenant, key tenant.APIKey) (tenant.Tenant, error) {
	t, key, err := tenant.PrepareCreate(t, key, s.now())
	if err != nil {
		return tenant.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.tenants[t.ID]; dup {
		return tenant.Tenant{}, errs.E(errs.Conflict, "tenant %s already exists", t.ID)
	}
	if err := s.checkNewKey(key); err != nil {
		return tenant.Tenant{}, err
	}
	s.tenants[t.ID] = t
	s.addKey(key)
	return t, nil
}

// GetTenant implements tenant.Store.
func (s *TenantStore) GetTenant(_ context.Context, id string) (tenant.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live(id)
}

// UpdateTenant implements tenant.Store; Status must be Active or Suspended.
func (s *TenantStore) UpdateTenant(_ context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	if err := tenant.CheckUpdate(t); err != nil {
		return tenant.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.live(t.ID)
	if err != nil {
		return tenant.Tenant{}, err
	}
	cur.Name, cur.Email, cur.Currency, cur.Status = t.Name, t.Email, t.Currency, t.Status
	cur.UpdatedAt = s.now()
	s.tenants[cur.ID] = cur
	return cur, nil
}

// DeleteTenant implements tenant.Store.
func (s *TenantStore) DeleteTenant(_ context.Context, id string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.live(id)
	if err != nil {
		return err
	}
	t.Status, t.UpdatedAt = tenant.Deleted, now
	s.tenants[id] = t
	s.expireKeys(id, now)
	return nil
}

// expireKeys makes every key of the tenant expire at until, unless it expires sooner.
// Callers hold mu.
func (s *TenantStore) expireKeys(tenantID string, until time.Time) {
	for _, k := range s.keys {
		if k.TenantID == tenantID && (k.ExpiresAt == nil || k.ExpiresAt.After(until)) {
			u := until
			k.ExpiresAt = &u
		}
	}
}

// RotateKey implements tenant.Store.
func (s *TenantStore) RotateKey(_ context.Context, key tenant.APIKey, graceUntil time.Time, by string) error {
	key, err := tenant.PrepareKey(key, s.now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.live(key.TenantID); err != nil {
		return err
	}
	if by != "" {
		k, ok := s.keys[by]
		if !ok || k.TenantID != key.TenantID {
			return tenant.ErrRotateByOther(by)
		}
		if k.ExpiresAt != nil {
			return tenant.ErrRotateByExpiring(k.Prefix, *k.ExpiresAt)
		}
	}
	if err := s.checkNewKey(key); err != nil {
		return err
	}
	s.expireKeys(key.TenantID, graceUntil.UTC().Truncate(time.Microsecond))
	s.addKey(key)
	return nil
}

// Authenticate implements tenant.Store: an unknown hash, an expired key and a deleted
// tenant's key are all Unauthenticated.
func (s *TenantStore) Authenticate(_ context.Context, keyHash []byte, now time.Time) (tenant.Tenant, tenant.APIKey, error) {
	now = now.UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byHash[string(keyHash)]
	if !ok || len(keyHash) == 0 {
		return tenant.Tenant{}, tenant.APIKey{}, errs.E(errs.Unauthenticated, "unknown or expired API key")
	}
	k := s.keys[id]
	t, err := s.live(k.TenantID)
	if err != nil || (k.ExpiresAt != nil && !k.ExpiresAt.After(now)) {
		return tenant.Tenant{}, tenant.APIKey{}, errs.E(errs.Unauthenticated, "unknown or expired API key")
	}
	return t, cloneKey(*k), nil
}
