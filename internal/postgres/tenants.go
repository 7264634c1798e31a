package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// TenantStore is tenant.Store on the tenants and api_keys tables.
type TenantStore struct{ db *DB }

var _ tenant.Store = (*TenantStore)(nil)

// Tenants returns the tenant store.
func (db *DB) Tenants() tenant.Store { return &TenantStore{db: db} }

const tenantColumns = "id, name, email, currency, status, created_at, updated_at"

func scanTenant(row pgx.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Name, &t.Email, &t.Currency, &t.Status, &t.CreatedAt, &t.UpdatedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// CreateTenant implements tenant.Store. An empty Status means Active; key.TenantID,
// when set, must be t.ID; a zero key.CreatedAt is set to now. A duplicate tenant id,
// key id or key hash is Conflict, and then nothing is stored.
func (s *TenantStore) CreateTenant(ctx context.Context, t tenant.Tenant, key tenant.APIKey) (tenant.Tenant, error) {
	now := s.db.clock()
	t, key, err := tenant.PrepareCreate(t, key, now)
	if err != nil {
		return tenant.Tenant{}, err
	}
	var out tenant.Tenant
	err = s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `INSERT INTO tenants (`+tenantColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+tenantColumns,
			t.ID, t.Name, t.Email, t.Currency, t.Status, now)
		var err error
		if out, err = scanTenant(row); err != nil {
			return wrap(err, "postgres: create tenant %s", t.ID)
		}
		return insertKey(ctx, tx, key)
	})
	if err != nil {
		return tenant.Tenant{}, err
	}
	return out, nil
}

func insertKey(ctx context.Context, tx pgx.Tx, k tenant.APIKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, prefix, hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, k.ID, k.TenantID, k.Prefix, k.Hash, k.CreatedAt, k.ExpiresAt)
	return wrap(err, "postgres: store key %s of tenant %s", k.ID, k.TenantID)
}

// GetTenant implements tenant.Store.
func (s *TenantStore) GetTenant(ctx context.Context, id string) (tenant.Tenant, error) {
	t, err := scanTenant(s.db.pool.QueryRow(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE id = $1 AND status <> 'deleted'`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, errs.E(errs.NotFound, "tenant %s not found", id)
	}
	if err != nil {
		return tenant.Tenant{}, wrap(err, "postgres: get tenant %s", id)
	}
	return t, nil
}

// UpdateTenant implements tenant.Store. Status must be Active or Suspended (delete
// with DeleteTenant); anything else is Invalid.
func (s *TenantStore) UpdateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	if err := tenant.CheckUpdate(t); err != nil {
		return tenant.Tenant{}, err
	}
	out, err := scanTenant(s.db.pool.QueryRow(ctx, `UPDATE tenants
		SET name = $2, email = $3, currency = $4, status = $5, updated_at = $6
		WHERE id = $1 AND status <> 'deleted' RETURNING `+tenantColumns,
		t.ID, t.Name, t.Email, t.Currency, t.Status, s.db.clock()))
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, errs.E(errs.NotFound, "tenant %s not found", t.ID)
	}
	if err != nil {
		return tenant.Tenant{}, wrap(err, "postgres: update tenant %s", t.ID)
	}
	return out, nil
}

// DeleteTenant implements tenant.Store: every key of the tenant expires now.
func (s *TenantStore) DeleteTenant(ctx context.Context, id string) error {
	now := s.db.clock()
	return s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET status = 'deleted', updated_at = $2
			WHERE id = $1 AND status <> 'deleted'`, id, now)
		if err != nil {
			return wrap(err, "postgres: delete tenant %s", id)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "tenant %s not found", id)
		}
		_, err = tx.Exec(ctx, `UPDATE api_keys SET expires_at = $2
			WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, now)
		return wrap(err, "postgres: expire keys of tenant %s", id)
	})
}

// RotateKey implements tenant.Store. The tenant row is locked for the rotation, so
// concurrent rotations of one tenant apply one after the other.
func (s *TenantStore) RotateKey(ctx context.Context, key tenant.APIKey, graceUntil time.Time, by string) error {
	key, err := tenant.PrepareKey(key, s.db.clock())
	if err != nil {
		return err
	}
	grace := graceUntil.UTC().Truncate(time.Microsecond)
	return s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 AND status <> 'deleted' FOR UPDATE`,
			key.TenantID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "tenant %s not found", key.TenantID)
		}
		if err != nil {
			return wrap(err, "postgres: lock tenant %s", key.TenantID)
		}
		if err := checkRotatedBy(ctx, tx, key.TenantID, by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET expires_at = $2
			WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2)`, key.TenantID, grace); err != nil {
			return wrap(err, "postgres: expire keys of tenant %s", key.TenantID)
		}
		return insertKey(ctx, tx, key)
	})
}

// checkRotatedBy refuses a rotation asked for by a key that expires or is not the
// tenant's (tenant.Store.RotateKey); by "" is the admin. The caller holds the tenant's
// row lock, which every rotation takes, so the key cannot be rotated away meanwhile.
func checkRotatedBy(ctx context.Context, tx pgx.Tx, tenantID, by string) error {
	if by == "" {
		return nil
	}
	var prefix string
	var expires *time.Time
	err := tx.QueryRow(ctx, `SELECT prefix, expires_at FROM api_keys WHERE id = $1 AND tenant_id = $2`, by, tenantID).Scan(&prefix, &expires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return tenant.ErrRotateByOther(by)
	case err != nil:
		return wrap(err, "postgres: read key %s", by)
	case expires != nil:
		return tenant.ErrRotateByExpiring(prefix, *expires)
	}
	return nil
}

// Authenticate implements tenant.Store. An unknown hash, an expired key and a
// deleted tenant's key are all Unauthenticated, indistinguishably.
func (s *TenantStore) Authenticate(ctx context.Context, keyHash []byte, now time.Time) (tenant.Tenant, tenant.APIKey, error) {
	if len(keyHash) == 0 {
		return tenant.Tenant{}, tenant.APIKey{}, errs.E(errs.Unauthenticated, "no API key")
	}
	var t tenant.Tenant
	var k tenant.APIKey
	err := s.db.pool.QueryRow(ctx, `SELECT t.id, t.name, t.email, t.currency, t.status, t.created_at, t.updated_at,
			k.id, k.prefix, k.hash, k.created_at, k.expires_at
		FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
		WHERE k.hash = $1 AND (k.expires_at IS NULL OR k.expires_at > $2) AND t.status <> 'deleted'`,
		keyHash, now.UTC().Truncate(time.Microsecond)).Scan(&t.ID, &t.Name, &t.Email, &t.Currency, &t.Status, &t.CreatedAt, &t.UpdatedAt,
		&k.ID, &k.Prefix, &k.Hash, &k.CreatedAt, &k.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, tenant.APIKey{}, errs.E(errs.Unauthenticated, "unknown or expired API key")
	}
	if err != nil {
		return tenant.Tenant{}, tenant.APIKey{}, wrap(err, "postgres: authenticate")
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	k.TenantID, k.CreatedAt = t.ID, k.CreatedAt.UTC()
	if k.ExpiresAt != nil {
		e := k.ExpiresAt.UTC()
		k.ExpiresAt = &e
	}
	return t, k, nil
}
