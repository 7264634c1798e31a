package inmem

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// PromoStore is billing.Promos in memory: the promos by code and the use number of
// each (code, tenant, key) redemption, under one mutex (so redemptions of one code
// are counted one at a time, as postgres's row lock counts them).
type PromoStore struct {
	now         func() time.Time
	mu          sync.Mutex
	promos      map[string]*billing.Promo
	redemptions map[redemptionKey]int64
}

type redemptionKey struct{ code, tenantID, key string }

var _ billing.Promos = (*PromoStore)(nil)

func clonePromo(p billing.Promo) billing.Promo {
	p.Value = money(p.Value)
	if p.ExpiresAt != nil {
		at := *p.ExpiresAt
		p.ExpiresAt = &at
	}
	return p
}

func promoNotFound(code string) error { return errs.E(errs.NotFound, "promo %s not found", code) }

// Create implements billing.Promos.
func (s *PromoStore) Create(_ context.Context, p billing.Promo) (billing.Promo, error) {
	p, err := billing.PreparePromo(p, s.now())
	if err != nil {
		return billing.Promo{}, err
	}
	p = clonePromo(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.promos[p.Code]; ok {
		return billing.Promo{}, errs.E(errs.Conflict, "promo %s already exists", p.Code)
	}
	s.promos[p.Code] = &p
	return clonePromo(p), nil
}

// Get implements billing.Promos.
func (s *PromoStore) Get(_ context.Context, code string) (billing.Promo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.promos[code]
	if !ok {
		return billing.Promo{}, promoNotFound(code)
	}
	return clonePromo(*p), nil
}

// Active implements billing.Promos: oldest first, then by code.
func (s *PromoStore) Active(_ context.Context, tenantID string, t time.Time) ([]billing.Promo, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return nil, err
	}
	t = billing.StoreTime(t)
	s.mu.Lock()
	out := []billing.Promo{}
	for _, p := range s.promos {
		if p.TenantID == tenantID && billing.PromoUsable(*p, t) {
			out = append(out, clonePromo(*p))
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].Code < out[j].Code
	})
	return out, nil
}

// Redeem implements billing.Promos; see postgres.PromoStore.Redeem.
func (s *PromoStore) Redeem(_ context.Context, code, tenantID, key string, t time.Time) (int64, bool, error) {
	if err := billing.CheckRedeem(code, tenantID, key); err != nil {
		return 0, false, err
	}
	t = billing.StoreTime(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.promos[code]
	if !ok || p.TenantID != tenantID {
		return 0, false, promoNotFound(code)
	}
	rk := redemptionKey{code, tenantID, key}
	if use, ok := s.redemptions[rk]; ok {
		return use, true, nil
	}
	if !billing.PromoUsable(*p, t) {
		return 0, false, nil
	}
	p.Uses++
	s.redemptions[rk] = p.Uses
	return p.Uses, true, nil
}

// SettingsStore is billing.SettingsStore in memory.
type SettingsStore struct {
	now      func() time.Time
	mu       sync.Mutex
	byTenant map[string]billing.Settings
}

var _ billing.SettingsStore = (*SettingsStore)(nil)

func cloneSettings(s billing.Settings) billing.Settings {
	s.CriticalLevel, s.SuspendLevel = money(s.CriticalLevel), money(s.SuspendLevel)
	if s.Expiry != nil {
		at := *s.Expiry
		s.Expiry = &at
	}
	s.Alerts = cloneAlerts(s.Alerts)
	return s
}

// Get implements billing.SettingsStore.
func (s *SettingsStore) Get(_ context.Context, tenantID string) (billing.Settings, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return billing.Settings{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byTenant[tenantID]
	if !ok {
		st = billing.Settings{TenantID: tenantID}
	}
	return cloneSettings(st), nil
}

// Put implements billing.SettingsStore.
func (s *SettingsStore) Put(_ context.Context, st billing.Settings) (billing.Settings, error) {
	st, err := billing.PrepareSettings(st, s.now())
	if err != nil {
		return billing.Settings{}, err
	}
	st = cloneSettings(st)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Version = s.byTenant[st.TenantID].Version + 1
	s.byTenant[st.TenantID] = st
	return cloneSettings(st), nil
}
