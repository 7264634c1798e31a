package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// PromoStore is billing.Promos on promos and promo_redemptions.
type PromoStore struct{ db *DB }

var _ billing.Promos = (*PromoStore)(nil)

// Promos returns the promo code store.
func (db *DB) Promos() billing.Promos { return &PromoStore{db: db} }

const promoColumns = "code, tenant_id, kind, value::text, free_count, expires_at, max_uses, uses, created_at"

func scanPromo(row pgx.Row) (billing.Promo, error) {
	var p billing.Promo
	var value string
	if err := row.Scan(&p.Code, &p.TenantID, &p.Kind, &value, &p.FreeCount, &p.ExpiresAt, &p.MaxUses, &p.Uses, &p.CreatedAt); err != nil {
		return billing.Promo{}, err
	}
	var err error
	p.Value, err = parseMoney(value)
	if p.ExpiresAt != nil {
		at := p.ExpiresAt.UTC()
		p.ExpiresAt = &at
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, err
}

// Create implements billing.Promos. A duplicate code is Conflict.
func (s *PromoStore) Create(ctx context.Context, p billing.Promo) (billing.Promo, error) {
	p, err := billing.PreparePromo(p, s.db.clock())
	if err != nil {
		return billing.Promo{}, err
	}
	out, err := scanPromo(s.db.pool.QueryRow(ctx, `INSERT INTO promos (code, tenant_id, kind, value, free_count, expires_at, max_uses, uses, created_at)
		VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, 0, $8) RETURNING `+promoColumns,
		p.Code, p.TenantID, p.Kind, p.Value.String(), p.FreeCount, p.ExpiresAt, p.MaxUses, p.CreatedAt))
	if err != nil {
		err = wrap(err, "postgres: create promo %s", p.Code)
		if errs.CodeOf(err) == errs.Conflict {
			return billing.Promo{}, errs.Wrap(errs.Conflict, err, "promo %s already exists", p.Code)
		}
		return billing.Promo{}, err
	}
	return out, nil
}

// Get implements billing.Promos.
func (s *PromoStore) Get(ctx context.Context, code string) (billing.Promo, error) {
	p, err := scanPromo(s.db.pool.QueryRow(ctx, `SELECT `+promoColumns+` FROM promos WHERE code = $1`, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Promo{}, errs.E(errs.NotFound, "promo %s not found", code)
	}
	return p, wrap(err, "postgres: get promo %s", code)
}

// Active implements billing.Promos: oldest first, then by code. Usability is decided
// by billing.PromoUsable, as in internal/inmem; a tenant has few promos.
func (s *PromoStore) Active(ctx context.Context, tenantID string, t time.Time) ([]billing.Promo, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return nil, err
	}
	t = billing.StoreTime(t)
	rows, _ := s.db.pool.Query(ctx, `SELECT `+promoColumns+` FROM promos
		WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at, code`, tenantID, t)
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (billing.Promo, error) { return scanPromo(row) })
	if err != nil {
		return nil, wrap(err, "postgres: active promos of tenant %s", tenantID)
	}
	out := []billing.Promo{}
	for _, p := range all {
		if billing.PromoUsable(p, t) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Redeem implements billing.Promos. It locks the promo row first, so redemptions of
// one code count one at a time and never pass the cap; then, under the lock, a
// recorded redemption of key answers a retry with its use number.
func (s *PromoStore) Redeem(ctx context.Context, code, tenantID, key string, t time.Time) (int64, bool, error) {
	if err := billing.CheckRedeem(code, tenantID, key); err != nil {
		return 0, false, err
	}
	t = billing.StoreTime(t)
	var use int64
	var ok bool
	err := s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		p, err := scanPromo(tx.QueryRow(ctx, `SELECT `+promoColumns+` FROM promos WHERE code = $1 FOR UPDATE`, code))
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && p.TenantID != tenantID) {
			return errs.E(errs.NotFound, "promo %s not found", code)
		}
		if err != nil {
			return wrap(err, "postgres: lock promo %s", code)
		}
		err = tx.QueryRow(ctx, `SELECT use_number FROM promo_redemptions WHERE code = $1 AND tenant_id = $2 AND key = $3`,
			code, tenantID, key).Scan(&use)
		if err == nil {
			ok = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return wrap(err, "postgres: read redemption of promo %s", code)
		}
		if !billing.PromoUsable(p, t) {
			use = 0
			return nil
		}
		use, ok = p.Uses+1, true
		if _, err := tx.Exec(ctx, `UPDATE promos SET uses = $2 WHERE code = $1`, code, use); err != nil {
			return wrap(err, "postgres: count use of promo %s", code)
		}
		_, err = tx.Exec(ctx, `INSERT INTO promo_redemptions (code, tenant_id, key, use_number, at) VALUES ($1, $2, $3, $4, $5)`,
			code, tenantID, key, use, s.db.clock())
		return wrap(err, "postgres: record redemption of promo %s", code)
	})
	if err != nil {
		return 0, false, err
	}
	return use, ok, nil
}
