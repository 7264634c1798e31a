package inmem

import (
	"context"
	"slices"
	"sort"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Swap implements billing.SettingsStore: compare-and-set on Version.
func (s *SettingsStore) Swap(_ context.Context, st billing.Settings) (billing.Settings, error) {
	st, err := billing.PrepareSettings(st, s.now())
	if err != nil {
		return billing.Settings{}, err
	}
	st = cloneSettings(st)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.byTenant[st.TenantID].Version; cur != st.Version {
		return billing.Settings{}, errs.E(errs.Conflict, "billing settings of tenant %s: version %d was written since version %d was read", st.TenantID, cur, st.Version)
	}
	st.Version++
	s.byTenant[st.TenantID] = st
	return cloneSettings(st), nil
}

// Pending implements billing.SettingsStore, in tenant order.
func (s *SettingsStore) Pending(_ context.Context, limit int) ([]billing.Settings, error) {
	if limit <= 0 {
		return nil, errs.E(errs.Invalid, "pending settings: limit must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billing.Settings
	for _, st := range s.byTenant {
		if len(st.Alerts) > 0 {
			out = append(out, cloneSettings(st))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TenantID < out[j].TenantID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cloneAlerts(as []billing.Alert) []billing.Alert {
	if len(as) == 0 {
		return nil
	}
	out := slices.Clone(as)
	for i := range out {
		out[i].Data = slices.Clone(out[i].Data)
	}
	return out
}

type declineKey struct{ tenantID, messageID string }

// RecordDecline implements billing.Charges.
func (s *ChargeStore) RecordDecline(_ context.Context, d billing.Decline) (billing.Decline, error) {
	d, err := billing.PrepareDecline(d, s.now())
	if err != nil {
		return billing.Decline{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := declineKey{d.TenantID, d.MessageID}
	if got, ok := s.declines[k]; ok {
		return got, nil
	}
	if s.declines == nil {
		s.declines = map[declineKey]billing.Decline{}
	}
	s.declines[k] = d
	return d, nil
}

// Decline implements billing.Charges.
func (s *ChargeStore) Decline(_ context.Context, tenantID, messageID string) (billing.Decline, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.declines[declineKey{tenantID, messageID}]
	if !ok {
		return billing.Decline{}, errs.E(errs.NotFound, "message %s of tenant %s has no recorded decline", messageID, tenantID)
	}
	return d, nil
}

// RecordRepair implements billing.Charges.
func (s *ChargeStore) RecordRepair(_ context.Context, r billing.Repair) (billing.Repair, error) {
	r, err := billing.PrepareRepair(r, s.now())
	if err != nil {
		return billing.Repair{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repairs = append(s.repairs, r)
	return r, nil
}

// Repairs implements billing.Charges.
func (s *ChargeStore) Repairs(_ context.Context, tenantID string, limit int) ([]billing.Repair, error) {
	if limit <= 0 {
		return nil, errs.E(errs.Invalid, "repairs: limit must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []billing.Repair{}
	for i := len(s.repairs) - 1; i >= 0 && len(out) < limit; i-- {
		if r := s.repairs[i]; tenantID == "" || r.TenantID == tenantID {
			out = append(out, r)
		}
	}
	return out, nil
}
