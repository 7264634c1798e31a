package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
)

// SettingsStore is billing.SettingsStore on billing_settings.
type SettingsStore struct{ db *DB }

var _ billing.SettingsStore = (*SettingsStore)(nil)

// BillingSettings returns the tenants' balance settings.
func (db *DB) BillingSettings() billing.SettingsStore { return &SettingsStore{db: db} }

const settingsColumns = "tenant_id, critical_level::text, suspend_level::text, expiry, b2b, suspended, low_notified, updated_at"

func scanSettings(row pgx.Row) (billing.Settings, error) {
	var s billing.Settings
	var critical, suspend string
	if err := row.Scan(&s.TenantID, &critical, &suspend, &s.Expiry, &s.B2B, &s.Suspended, &s.LowNotified, &s.UpdatedAt); err != nil {
		return billing.Settings{}, err
	}
	var err1, err2 error
	s.CriticalLevel, err1 = parseMoney(critical)
	s.SuspendLevel, err2 = parseMoney(suspend)
	if s.Expiry != nil {
		at := s.Expiry.UTC()
		s.Expiry = &at
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s, errors.Join(err1, err2)
}

// Get implements billing.SettingsStore.
func (s *SettingsStore) Get(ctx context.Context, tenantID string) (billing.Settings, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return billing.Settings{}, err
	}
	st, err := scanSettings(s.db.pool.QueryRow(ctx, `SELECT `+settingsColumns+` FROM billing_settings WHERE tenant_id = $1`, tenantID))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Settings{TenantID: tenantID, CriticalLevel: decimal.Zero, SuspendLevel: decimal.Zero}, nil
	}
	return st, wrap(err, "postgres: get billing settings of tenant %s", tenantID)
}

// Put implements billing.SettingsStore.
func (s *SettingsStore) Put(ctx context.Context, st billing.Settings) (billing.Settings, error) {
	st, err := billing.PrepareSettings(st, s.db.clock())
	if err != nil {
		return billing.Settings{}, err
	}
	out, err := scanSettings(s.db.pool.QueryRow(ctx, `INSERT INTO billing_settings
			(tenant_id, critical_level, suspend_level, expiry, b2b, suspended, low_notified, updated_at)
		VALUES ($1, $2::numeric, $3::numeric, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id) DO UPDATE SET critical_level = EXCLUDED.critical_level, suspend_level = EXCLUDED.suspend_level,
			expiry = EXCLUDED.expiry, b2b = EXCLUDED.b2b, suspended = EXCLUDED.suspended,
			low_notified = EXCLUDED.low_notified, updated_at = EXCLUDED.updated_at
		RETURNING `+settingsColumns,
		st.TenantID, st.CriticalLevel.String(), st.SuspendLevel.String(), st.Expiry, st.B2B, st.Suspended, st.LowNotified, st.UpdatedAt))
	return out, wrap(err, "postgres: put billing settings of tenant %s", st.TenantID)
}
