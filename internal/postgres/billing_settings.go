package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// SettingsStore is billing.SettingsStore on billing_settings.
type SettingsStore struct{ db *DB }

var _ billing.SettingsStore = (*SettingsStore)(nil)

// BillingSettings returns the tenants' balance settings.
func (db *DB) BillingSettings() billing.SettingsStore { return &SettingsStore{db: db} }

const settingsColumns = "tenant_id, critical_level::text, suspend_level::text, expiry, b2b, suspended, low_notified, alerts, version, updated_at"

func scanSettings(row pgx.Row) (billing.Settings, error) {
	var s billing.Settings
	var critical, suspend string
	var alerts []byte
	if err := row.Scan(&s.TenantID, &critical, &suspend, &s.Expiry, &s.B2B, &s.Suspended, &s.LowNotified, &alerts, &s.Version, &s.UpdatedAt); err != nil {
		return billing.Settings{}, err
	}
	var err1, err2, err3 error
	s.CriticalLevel, err1 = parseMoney(critical)
	s.SuspendLevel, err2 = parseMoney(suspend)
	if err := json.Unmarshal(alerts, &s.Alerts); err != nil {
		err3 = errs.Wrap(errs.Internal, err, "postgres: billing settings of tenant %s: alerts", s.TenantID)
	}
	if len(s.Alerts) == 0 {
		s.Alerts = nil
	}
	for i := range s.Alerts {
		a := &s.Alerts[i]
		a.At = a.At.UTC()
		var compact bytes.Buffer // jsonb reformats the data: give it back as it was written
		if json.Compact(&compact, a.Data) == nil {
			a.Data = compact.Bytes()
		}
	}
	if s.Expiry != nil {
		at := s.Expiry.UTC()
		s.Expiry = &at
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s, errors.Join(err1, err2, err3)
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
	return s.write(ctx, st, false)
}

// Swap implements billing.SettingsStore: the upsert applies only while the stored
// version is still st.Version (an insert only when there is no row and st.Version is 0).
func (s *SettingsStore) Swap(ctx context.Context, st billing.Settings) (billing.Settings, error) {
	return s.write(ctx, st, true)
}

func (s *SettingsStore) write(ctx context.Context, st billing.Settings, swap bool) (billing.Settings, error) {
	st, err := billing.PrepareSettings(st, s.db.clock())
	if err != nil {
		return billing.Settings{}, err
	}
	alerts := st.Alerts
	if alerts == nil {
		alerts = []billing.Alert{}
	}
	raw, err := json.Marshal(alerts)
	if err != nil {
		return billing.Settings{}, errs.Wrap(errs.Invalid, err, "billing settings of tenant %s: alerts", st.TenantID)
	}
	const cols = `(tenant_id, critical_level, suspend_level, expiry, b2b, suspended, low_notified, alerts, version, updated_at)
		VALUES ($1, $2::numeric, $3::numeric, $4, $5, $6, $7, $8::jsonb, 1, $9)`
	query := `INSERT INTO billing_settings ` + cols + `
		ON CONFLICT (tenant_id) DO UPDATE SET critical_level = EXCLUDED.critical_level, suspend_level = EXCLUDED.suspend_level,
			expiry = EXCLUDED.expiry, b2b = EXCLUDED.b2b, suspended = EXCLUDED.suspended, low_notified = EXCLUDED.low_notified,
			alerts = EXCLUDED.alerts, version = billing_settings.version + 1, updated_at = EXCLUDED.updated_at`
	args := []any{st.TenantID, st.CriticalLevel.String(), st.SuspendLevel.String(), st.Expiry, st.B2B, st.Suspended, st.LowNotified, raw, st.UpdatedAt}
	switch {
	case swap && st.Version == 0:
		query = `INSERT INTO billing_settings ` + cols + ` ON CONFLICT (tenant_id) DO NOTHING`
	case swap:
		query = `UPDATE billing_settings SET critical_level = $2::numeric, suspend_level = $3::numeric, expiry = $4, b2b = $5,
			suspended = $6, low_notified = $7, alerts = $8::jsonb, version = version + 1, updated_at = $9
		WHERE tenant_id = $1 AND version = $10`
		args = append(args, st.Version)
	}
	out, err := scanSettings(s.db.pool.QueryRow(ctx, query+` RETURNING `+settingsColumns, args...))
	if swap && errors.Is(err, pgx.ErrNoRows) {
		return billing.Settings{}, errs.E(errs.Conflict, "billing settings of tenant %s: written since version %d was read", st.TenantID, st.Version)
	}
	return out, wrap(err, "postgres: put billing settings of tenant %s", st.TenantID)
}

// Pending implements billing.SettingsStore, in tenant order.
func (s *SettingsStore) Pending(ctx context.Context, limit int) ([]billing.Settings, error) {
	if limit <= 0 {
		return nil, errs.E(errs.Invalid, "pending settings: limit must be positive")
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+settingsColumns+` FROM billing_settings
		WHERE alerts <> '[]'::jsonb ORDER BY tenant_id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap(err, "postgres: pending billing alerts")
	}
	defer rows.Close()
	var out []billing.Settings
	for rows.Next() {
		st, err := scanSettings(rows)
		if err != nil {
			return nil, wrap(err, "postgres: pending billing alerts")
		}
		out = append(out, st)
	}
	return out, wrap(rows.Err(), "postgres: pending billing alerts")
}
