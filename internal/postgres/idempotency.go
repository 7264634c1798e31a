package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
)

// IdempotencyStore is idempotency.Store on the idempotency_keys table. Expiry is
// decided with the DB's clock (WithClock), not the server's now().
type IdempotencyStore struct{ db *DB }

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Idempotency returns the idempotency-key store.
func (db *DB) Idempotency() idempotency.Store { return &IdempotencyStore{db: db} }

// beginAttempts bounds Begin's retries when the row it found vanishes before it reads
// it (a concurrent Release, or expiry).
const beginAttempts = 3

// Begin implements idempotency.Store. One statement reserves the key: it inserts the
// row, or takes over an expired one, and reports whether it did; PostgreSQL's row
// lock on the conflicting row makes exactly one of concurrent callers succeed. The
// others read the row to tell InProgress, Replay and Mismatch apart. An empty tenant
// or key, or a ttl ≤ 0, is Invalid.
func (s *IdempotencyStore) Begin(ctx context.Context, tenantID, key, fingerprint string, ttl time.Duration) (idempotency.Outcome, idempotency.Response, error) {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return 0, idempotency.Response{}, err
	}
	if ttl <= 0 {
		return 0, idempotency.Response{}, errs.E(errs.Invalid, "idempotency key %q: ttl %v is not positive", key, ttl)
	}
	for range beginAttempts {
		now := s.db.clock()
		tag, err := s.db.pool.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, key) DO UPDATE
			SET fingerprint = EXCLUDED.fingerprint, status = NULL, body = NULL,
				created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
			WHERE idempotency_keys.expires_at <= EXCLUDED.created_at`,
			tenantID, key, fingerprint, now, now.Add(ttl))
		if err != nil {
			return 0, idempotency.Response{}, wrap(err, "postgres: reserve idempotency key %q", key)
		}
		if tag.RowsAffected() == 1 {
			return idempotency.Started, idempotency.Response{}, nil
		}
		var fp string
		var status *int32
		var body []byte
		var expires time.Time
		err = s.db.pool.QueryRow(ctx, `SELECT fingerprint, status, body, expires_at FROM idempotency_keys
			WHERE tenant_id = $1 AND key = $2`, tenantID, key).Scan(&fp, &status, &body, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released meanwhile: try to reserve again
		}
		if err != nil {
			return 0, idempotency.Response{}, wrap(err, "postgres: read idempotency key %q", key)
		}
		switch {
		case !expires.After(now):
			continue // expired meanwhile
		case fp != fingerprint:
			return idempotency.Mismatch, idempotency.Response{}, nil
		case status == nil:
			return idempotency.InProgress, idempotency.Response{}, nil
		}
		if len(body) == 0 {
			body = nil
		}
		return idempotency.Replay, idempotency.Response{Status: int(*status), Body: body}, nil
	}
	return 0, idempotency.Response{}, errs.E(errs.Conflict, "idempotency key %q: contended, try again", key)
}

// Complete implements idempotency.Store. A key that is not reserved (never, released
// or expired) is NotFound; one already completed is Conflict.
func (s *IdempotencyStore) Complete(ctx context.Context, tenantID, key string, r idempotency.Response) error {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return err
	}
	if r.Status < 100 || r.Status > 599 {
		return errs.E(errs.Invalid, "idempotency key %q: status %d is not an HTTP status", key, r.Status)
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	now := s.db.clock()
	tag, err := s.db.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, body = $4
		WHERE tenant_id = $1 AND key = $2 AND status IS NULL AND expires_at > $5`,
		tenantID, key, r.Status, body, now)
	if err != nil {
		return wrap(err, "postgres: complete idempotency key %q", key)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if done, err := s.completed(ctx, tenantID, key, now); err != nil {
		return err
	} else if done {
		return errs.E(errs.Conflict, "idempotency key %q already completed", key)
	}
	return errs.E(errs.NotFound, "idempotency key %q is not reserved", key)
}

// Release implements idempotency.Store. Releasing a free key does nothing; releasing
// a completed one is Conflict (its answer stays).
func (s *IdempotencyStore) Release(ctx context.Context, tenantID, key string) error {
	if err := idempotency.CheckKey(tenantID, key); err != nil {
		return err
	}
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM idempotency_keys
		WHERE tenant_id = $1 AND key = $2 AND status IS NULL`, tenantID, key)
	if err != nil {
		return wrap(err, "postgres: release idempotency key %q", key)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if done, err := s.completed(ctx, tenantID, key, s.db.clock()); err != nil {
		return err
	} else if done {
		return errs.E(errs.Conflict, "idempotency key %q is completed; it cannot be released", key)
	}
	return nil
}

// completed reports whether the key holds an unexpired answer.
func (s *IdempotencyStore) completed(ctx context.Context, tenantID, key string, now time.Time) (bool, error) {
	var done bool
	err := s.db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM idempotency_keys
		WHERE tenant_id = $1 AND key = $2 AND status IS NOT NULL AND expires_at > $3)`,
		tenantID, key, now).Scan(&done)
	return done, wrap(err, "postgres: read idempotency key %q", key)
}
