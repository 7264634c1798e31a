package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
)

// NumberStore is numbers.Store on the numbers table.
type NumberStore struct{ db *DB }

var _ numbers.Store = (*NumberStore)(nil)

// Numbers returns the inbound-number store.
func (db *DB) Numbers() numbers.Store { return &NumberStore{db: db} }

// assignAttempts bounds Assign's insert-then-read loop: a read finds no row only when
// the number was released between the two statements.
const assignAttempts = 3

// Assign implements numbers.Store. It inserts the row with ON CONFLICT DO NOTHING;
// when the number is taken it reads the owner in a second statement (which, in READ
// COMMITTED, sees the row the conflicting insert committed): the same tenant gets
// the recorded row, another is Conflict. Concurrent assignments of one number wait on
// the primary key for the first to commit, so exactly one tenant wins. CreatedAt is
// the DB's clock.
func (s *NumberStore) Assign(ctx context.Context, n numbers.Number) (numbers.Number, error) {
	if err := numbers.Check(n); err != nil {
		return numbers.Number{}, err
	}
	for range assignAttempts {
		rec := numbers.Number{Channel: n.Channel, Number: n.Number, TenantID: n.TenantID, CreatedAt: s.db.clock()}
		tag, err := s.db.pool.Exec(ctx, `INSERT INTO numbers (channel, number, tenant_id, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (channel, number) DO NOTHING`,
			rec.Channel, rec.Number, rec.TenantID, rec.CreatedAt)
		if err != nil {
			return numbers.Number{}, wrap(err, "postgres: assign number %s on %s to tenant %s", n.Number, n.Channel, n.TenantID)
		}
		if tag.RowsAffected() == 1 {
			return rec, nil
		}
		owner, err := s.Owner(ctx, n.Channel, n.Number)
		if errs.CodeOf(err) == errs.NotFound {
			continue // released in between: try the insert again
		}
		if err != nil {
			return numbers.Number{}, err
		}
		if owner.TenantID != n.TenantID {
			return numbers.Number{}, ownedByAnother(n)
		}
		return owner, nil
	}
	return numbers.Number{}, errs.E(errs.Conflict, "number %s on %s changed owner while being assigned", n.Number, n.Channel)
}

// ownedByAnother is Assign's Conflict; it names neither tenant.
func ownedByAnother(n numbers.Number) error {
	return errs.E(errs.Conflict, "number %s on %s is owned by another tenant", n.Number, n.Channel)
}

// Release implements numbers.Store: it deletes the row only when tenantID owns it,
// and answers NotFound otherwise (whether the number is free or another tenant's).
func (s *NumberStore) Release(ctx context.Context, tenantID, channel, number string) error {
	if err := numbers.CheckRelease(tenantID, channel, number); err != nil {
		return err
	}
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM numbers WHERE channel = $1 AND number = $2 AND tenant_id = $3`,
		channel, number, tenantID)
	if err != nil {
		return wrap(err, "postgres: release number %s on %s of tenant %s", number, channel, tenantID)
	}
	if tag.RowsAffected() == 0 {
		return notOwned(tenantID, channel, number)
	}
	return nil
}

// notOwned is Release's NotFound.
func notOwned(tenantID, channel, number string) error {
	return errs.E(errs.NotFound, "tenant %s has no number %s on %s", tenantID, number, channel)
}

// Owner implements numbers.Store.
func (s *NumberStore) Owner(ctx context.Context, channel, number string) (numbers.Number, error) {
	if err := numbers.CheckAddress(channel, number); err != nil {
		return numbers.Number{}, err
	}
	n := numbers.Number{Channel: channel, Number: number}
	var at time.Time
	err := s.db.pool.QueryRow(ctx, `SELECT tenant_id, created_at FROM numbers WHERE channel = $1 AND number = $2`,
		channel, number).Scan(&n.TenantID, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return numbers.Number{}, errs.E(errs.NotFound, "number %s on %s is not assigned", number, channel)
	}
	if err != nil {
		return numbers.Number{}, wrap(err, "postgres: owner of number %s on %s", number, channel)
	}
	n.CreatedAt = at.UTC()
	return n, nil
}

// List implements numbers.Store. It sorts in the "C" collation, byte by byte, as
// internal/inmem does, whatever the database's collation.
func (s *NumberStore) List(ctx context.Context, tenantID string) ([]numbers.Number, error) {
	if err := numbers.CheckTenant(tenantID); err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `SELECT channel, number, created_at FROM numbers WHERE tenant_id = $1
		ORDER BY channel COLLATE "C", number COLLATE "C"`, tenantID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (numbers.Number, error) {
		n := numbers.Number{TenantID: tenantID}
		err := row.Scan(&n.Channel, &n.Number, &n.CreatedAt)
		n.CreatedAt = n.CreatedAt.UTC()
		return n, err
	})
	if err != nil {
		return nil, wrap(err, "postgres: list numbers of tenant %s", tenantID)
	}
	if out == nil {
		out = []numbers.Number{}
	}
	return out, nil
}
