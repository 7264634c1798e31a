package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// RecordDecline implements billing.Charges on billing_declines: the first decline of
// a message stands.
func (s *ChargeStore) RecordDecline(ctx context.Context, d billing.Decline) (billing.Decline, error) {
	d, err := billing.PrepareDecline(d, s.db.clock())
	if err != nil {
		return billing.Decline{}, err
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO billing_declines (tenant_id, message_id, channel, reason, detail, at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, message_id) DO NOTHING`,
		d.TenantID, d.MessageID, d.Channel, d.Reason, d.Detail, d.At)
	if err != nil {
		return billing.Decline{}, wrap(err, "postgres: record decline of message %s", d.MessageID)
	}
	return s.Decline(ctx, d.TenantID, d.MessageID)
}

// Decline implements billing.Charges.
func (s *ChargeStore) Decline(ctx context.Context, tenantID, messageID string) (billing.Decline, error) {
	var d billing.Decline
	err := s.db.pool.QueryRow(ctx, `SELECT tenant_id, message_id, channel, reason, detail, at FROM billing_declines
		WHERE tenant_id = $1 AND message_id = $2`, tenantID, messageID).Scan(&d.TenantID, &d.MessageID, &d.Channel, &d.Reason, &d.Detail, &d.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Decline{}, errs.E(errs.NotFound, "message %s of tenant %s has no recorded decline", messageID, tenantID)
	}
	d.At = d.At.UTC()
	return d, wrap(err, "postgres: decline of message %s", messageID)
}

// RecordRepair implements billing.Charges on billing_repairs.
func (s *ChargeStore) RecordRepair(ctx context.Context, r billing.Repair) (billing.Repair, error) {
	r, err := billing.PrepareRepair(r, s.db.clock())
	if err != nil {
		return billing.Repair{}, err
	}
	problems, err1 := json.Marshal(r.Problems)
	wallet, err2 := json.Marshal(r.Wallet)
	ledger, err3 := json.Marshal(r.Ledger)
	if err := errors.Join(err1, err2, err3); err != nil {
		return billing.Repair{}, errs.Wrap(errs.Internal, err, "repair %s: encode", r.ID)
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO billing_repairs (id, tenant_id, at, problems, wallet, ledger)
		VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb)`, r.ID, r.TenantID, r.At, problems, wallet, ledger)
	return r, wrap(err, "postgres: record repair of tenant %s", r.TenantID)
}

// Repairs implements billing.Charges.
func (s *ChargeStore) Repairs(ctx context.Context, tenantID string, limit int) ([]billing.Repair, error) {
	if limit <= 0 {
		return nil, errs.E(errs.Invalid, "repairs: limit must be positive")
	}
	rows, err := s.db.pool.Query(ctx, `SELECT id, tenant_id, at, problems, wallet, ledger FROM billing_repairs
		WHERE $1 = '' OR tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, wrap(err, "postgres: repairs")
	}
	defer rows.Close()
	out := []billing.Repair{}
	for rows.Next() {
		var r billing.Repair
		var problems, wallet, ledger []byte
		if err := rows.Scan(&r.ID, &r.TenantID, &r.At, &problems, &wallet, &ledger); err != nil {
			return nil, wrap(err, "postgres: repairs")
		}
		if err := errors.Join(json.Unmarshal(problems, &r.Problems), json.Unmarshal(wallet, &r.Wallet), json.Unmarshal(ledger, &r.Ledger)); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "postgres: repair %s: decode", r.ID)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, wrap(rows.Err(), "postgres: repairs")
}
