package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// ReviewStore is firewall.Reviews on firewall_reviews and firewall_deferred
// (migration 0009). Decide is one conditional UPDATE of a pending review: of
// concurrent decisions of one review, the first to lock its row applies and the
// others find it decided.
type ReviewStore struct{ db *DB }

var _ firewall.Reviews = (*ReviewStore)(nil)

// FirewallReviews returns the review queue and the deferred (throttled) messages.
func (db *DB) FirewallReviews() firewall.Reviews { return &ReviewStore{db: db} }

const reviewColumns = `message_id, tenant_id, screen, state, created_at, deadline, decided_at, decided_by, outcome, note`

func scanReview(row pgx.Row) (firewall.Review, error) {
	var r firewall.Review
	var screen []byte
	if err := row.Scan(&r.MessageID, &r.TenantID, &screen, &r.State, &r.CreatedAt, &r.Deadline, &r.DecidedAt,
		&r.DecidedBy, &r.Outcome, &r.Note); err != nil {
		return r, err
	}
	if err := json.Unmarshal(screen, &r.Screen); err != nil {
		return r, errs.Wrap(errs.Internal, err, "postgres: decode screen of review %s", r.MessageID)
	}
	r.CreatedAt, r.Deadline = r.CreatedAt.UTC(), r.Deadline.UTC()
	if r.DecidedAt != nil {
		at := r.DecidedAt.UTC()
		r.DecidedAt = &at
	}
	return r, nil
}

func encodeScreen(s firewall.Screen, id string) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "message %s: encode screen", id)
	}
	return b, nil
}

// Hold implements firewall.Reviews: INSERT … ON CONFLICT DO NOTHING, then the stored
// review when the message was held before.
func (s *ReviewStore) Hold(ctx context.Context, r firewall.Review) (firewall.Review, error) {
	r, err := firewall.CheckReview(r, s.db.clock())
	if err != nil {
		return firewall.Review{}, err
	}
	screen, err := encodeScreen(r.Screen, r.MessageID)
	if err != nil {
		return firewall.Review{}, err
	}
	got, err := scanReview(s.db.pool.QueryRow(ctx, `INSERT INTO firewall_reviews
		(message_id, tenant_id, screen, state, created_at, deadline)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING
		RETURNING `+reviewColumns, r.MessageID, r.TenantID, screen, r.State, r.CreatedAt, r.Deadline))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.Get(ctx, r.MessageID) // held before: the replay returns what is stored
	}
	return got, wrap(err, "postgres: hold message %s", r.MessageID)
}

// Get implements firewall.Reviews.
func (s *ReviewStore) Get(ctx context.Context, messageID string) (firewall.Review, error) {
	r, err := scanReview(s.db.pool.QueryRow(ctx, `SELECT `+reviewColumns+` FROM firewall_reviews WHERE message_id = $1`, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return firewall.Review{}, errs.E(errs.NotFound, "review of message %s not found", messageID)
	}
	return r, wrap(err, "postgres: get review %s", messageID)
}

// List implements firewall.Reviews: oldest first, keyset-paged on (created_at,
// message_id), one row more than the page to know whether another follows.
func (s *ReviewStore) List(ctx context.Context, f firewall.ReviewFilter) ([]firewall.Review, string, error) {
	f, curAt, curID, err := firewall.CheckReviewFilter(f)
	if err != nil {
		return nil, "", err
	}
	var q filter
	if f.TenantID != "" {
		q.add("tenant_id = ?", f.TenantID)
	}
	if f.State != "" {
		q.add("state = ?", f.State)
	}
	if curID != "" {
		q.add("(created_at, message_id) > (?, ?)", curAt, curID)
	}
	sql := q.query(`SELECT `+reviewColumns+` FROM firewall_reviews`, `created_at, message_id`, f.Limit+1)
	rows, _ := s.db.pool.Query(ctx, sql, q.args...)
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.Review, error) { return scanReview(row) })
	if err != nil {
		return nil, "", wrap(err, "postgres: list reviews")
	}
	if rs == nil {
		rs = []firewall.Review{}
	}
	next := ""
	if len(rs) > f.Limit {
		rs = rs[:f.Limit]
		last := rs[f.Limit-1]
		next = firewall.EncodeCursor(last.CreatedAt, last.MessageID)
	}
	return rs, next, nil
}

// Decide implements firewall.Reviews. The UPDATE applies only to a pending review; a
// concurrent Decide waits for the row and, re-checking state, updates nothing. When
// nothing was updated the review is read (a new snapshot, so it sees the winner) and
// compared with this decision.
func (s *ReviewStore) Decide(ctx context.Context, messageID, state, outcome, by, note string, at time.Time) (firewall.Review, error) {
	at, err := firewall.CheckDecision(state, outcome, by, at, s.db.clock())
	if err != nil {
		return firewall.Review{}, err
	}
	r, err := scanReview(s.db.pool.QueryRow(ctx, `UPDATE firewall_reviews
		SET state = $2, outcome = $3, decided_by = $4, note = $5, decided_at = $6
		WHERE message_id = $1 AND state = 'pending'
		RETURNING `+reviewColumns, messageID, state, outcome, by, note, at))
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return firewall.Review{}, wrap(err, "postgres: decide review %s", messageID)
	}
	r, err = s.Get(ctx, messageID)
	if err != nil {
		return firewall.Review{}, err
	}
	if r.State != state || r.Outcome != outcome {
		return firewall.Review{}, errs.E(errs.Conflict, "review of message %s is already %s (%s)", messageID, r.State, r.Outcome)
	}
	return r, nil
}

// Overdue implements firewall.Reviews, by deadline (ties by message id); limit 0 is
// firewall.DefaultPageLimit.
func (s *ReviewStore) Overdue(ctx context.Context, t time.Time, limit int) ([]firewall.Review, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `SELECT `+reviewColumns+` FROM firewall_reviews
		WHERE state = 'pending' AND deadline <= $1 ORDER BY deadline, message_id LIMIT $2`, t, limit)
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.Review, error) { return scanReview(row) })
	if err != nil {
		return nil, wrap(err, "postgres: overdue reviews")
	}
	if rs == nil {
		rs = []firewall.Review{}
	}
	return rs, nil
}

// Defer implements firewall.Reviews.
func (s *ReviewStore) Defer(ctx context.Context, d firewall.Deferred) error {
	d, err := firewall.CheckDeferred(d)
	if err != nil {
		return err
	}
	screen, err := encodeScreen(d.Screen, d.MessageID)
	if err != nil {
		return err
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO firewall_deferred (message_id, tenant_id, screen, release_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING`, d.MessageID, d.TenantID, screen, d.ReleaseAt)
	return wrap(err, "postgres: defer message %s", d.MessageID)
}

// Due implements firewall.Reviews, by release time (ties by message id); limit 0 is
// firewall.DefaultPageLimit.
func (s *ReviewStore) Due(ctx context.Context, t time.Time, limit int) ([]firewall.Deferred, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `SELECT message_id, tenant_id, screen, release_at FROM firewall_deferred
		WHERE release_at <= $1 ORDER BY release_at, message_id LIMIT $2`, t, limit)
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.Deferred, error) {
		var d firewall.Deferred
		var screen []byte
		if err := row.Scan(&d.MessageID, &d.TenantID, &screen, &d.ReleaseAt); err != nil {
			return d, err
		}
		d.ReleaseAt = d.ReleaseAt.UTC()
		if err := json.Unmarshal(screen, &d.Screen); err != nil {
			return d, errs.Wrap(errs.Internal, err, "postgres: decode screen of deferred message %s", d.MessageID)
		}
		return d, nil
	})
	if err != nil {
		return nil, wrap(err, "postgres: due deferred messages")
	}
	if ds == nil {
		ds = []firewall.Deferred{}
	}
	return ds, nil
}

// Released implements firewall.Reviews; releasing a message that is not deferred (a
// retry) is a no-op.
func (s *ReviewStore) Released(ctx context.Context, messageID string) error {
	_, err := s.db.pool.Exec(ctx, `DELETE FROM firewall_deferred WHERE message_id = $1`, messageID)
	return wrap(err, "postgres: release deferred message %s", messageID)
}
