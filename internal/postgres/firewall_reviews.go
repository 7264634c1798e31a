package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// ReviewStore is firewall.Reviews on firewall_reviews and firewall_deferred
// (migrations 0009, 0010). Decide is one conditional UPDATE of a pending review: of
// concurrent decisions of one review, the first to lock its row applies and the
// others find it decided. Undelivered and Due claim rows with FOR UPDATE SKIP
// LOCKED and a lease (claimed_until), so concurrent sweepers take disjoint rows.
type ReviewStore struct{ db *DB }

var _ firewall.Reviews = (*ReviewStore)(nil)

// FirewallReviews returns the review queue and the deferred (throttled) messages.
func (db *DB) FirewallReviews() firewall.Reviews { return &ReviewStore{db: db} }

const reviewColumns = `message_id, tenant_id, screen, state, created_at, deadline, decided_at, decided_by, outcome, note, delivered_at`

func scanReview(row pgx.Row) (firewall.Review, error) {
	var r firewall.Review
	var screen []byte
	if err := row.Scan(&r.MessageID, &r.TenantID, &screen, &r.State, &r.CreatedAt, &r.Deadline, &r.DecidedAt,
		&r.DecidedBy, &r.Outcome, &r.Note, &r.DeliveredAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal(screen, &r.Screen); err != nil {
		return r, errs.Wrap(errs.Internal, err, "postgres: decode screen of review %s", r.MessageID)
	}
	r.CreatedAt, r.Deadline = r.CreatedAt.UTC(), r.Deadline.UTC()
	r.DecidedAt, r.DeliveredAt = utcOrNil(r.DecidedAt), utcOrNil(r.DeliveredAt)
	return r, nil
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
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
		SET state = $2, outcome = $3, decided_by = $4, note = $5, decided_at = $6, claimed_until = $7
		WHERE message_id = $1 AND state = 'pending'
		RETURNING `+reviewColumns, messageID, state, outcome, by, note, at, at.Add(firewall.DeliveryLease)))
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

// Due implements firewall.Reviews: one UPDATE claims the rows its subquery locked
// (SKIP LOCKED passes over rows another sweeper is claiming).
func (s *ReviewStore) Due(ctx context.Context, t time.Time, limit int) ([]firewall.Deferred, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `UPDATE firewall_deferred d SET claimed_until = $2
		FROM (SELECT message_id FROM firewall_deferred
			WHERE released_at IS NULL AND release_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY release_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE d.message_id = c.message_id
		RETURNING d.message_id, d.tenant_id, d.screen, d.release_at`, t, t.Add(firewall.DeliveryLease), limit)
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
	slices.SortFunc(ds, func(a, b firewall.Deferred) int { // RETURNING has no order
		return cmp.Or(a.ReleaseAt.Compare(b.ReleaseAt), cmp.Compare(a.MessageID, b.MessageID))
	})
	if ds == nil {
		ds = []firewall.Deferred{}
	}
	return ds, nil
}

// Released implements firewall.Reviews: the row stays, released, so a redelivered
// Defer finds it and does not queue the message again.
func (s *ReviewStore) Released(ctx context.Context, messageID string, at time.Time) error {
	_, err := s.db.pool.Exec(ctx, `UPDATE firewall_deferred SET released_at = $2
		WHERE message_id = $1 AND released_at IS NULL`, messageID, firewall.StoreTime(at))
	return wrap(err, "postgres: release deferred message %s", messageID)
}

// Undelivered implements firewall.Reviews, claiming as Due does.
func (s *ReviewStore) Undelivered(ctx context.Context, t time.Time, limit int) ([]firewall.Review, error) {
	limit, err := firewall.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `UPDATE firewall_reviews r SET claimed_until = $2
		FROM (SELECT message_id FROM firewall_reviews
			WHERE state <> 'pending' AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY decided_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE r.message_id = c.message_id
		RETURNING `+prefixed("r.", reviewColumns), t, t.Add(firewall.DeliveryLease), limit)
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.Review, error) { return scanReview(row) })
	if err != nil {
		return nil, wrap(err, "postgres: undelivered reviews")
	}
	slices.SortFunc(rs, func(a, b firewall.Review) int {
		return cmp.Or(a.DecidedAt.Compare(*b.DecidedAt), cmp.Compare(a.MessageID, b.MessageID))
	})
	if rs == nil {
		rs = []firewall.Review{}
	}
	return rs, nil
}

// Delivered implements firewall.Reviews.
func (s *ReviewStore) Delivered(ctx context.Context, messageID string, at time.Time) error {
	var state string
	err := s.db.pool.QueryRow(ctx, `WITH u AS (UPDATE firewall_reviews SET delivered_at = coalesce(delivered_at, $2)
			WHERE message_id = $1 AND state <> 'pending' RETURNING state)
		SELECT coalesce((SELECT state FROM u), (SELECT state FROM firewall_reviews WHERE message_id = $1), '')`,
		messageID, firewall.StoreTime(at)).Scan(&state)
	switch {
	case err != nil:
		return wrap(err, "postgres: deliver review %s", messageID)
	case state == "":
		return errs.E(errs.NotFound, "review of message %s not found", messageID)
	case state == firewall.ReviewPending:
		return errs.E(errs.Conflict, "review of message %s is pending: nothing to deliver", messageID)
	}
	return nil
}

// Purge implements firewall.Reviews.
func (s *ReviewStore) Purge(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.db.pool.QueryRow(ctx, `WITH r AS (DELETE FROM firewall_reviews WHERE delivered_at IS NOT NULL AND decided_at < $1 RETURNING 1),
		d AS (DELETE FROM firewall_deferred WHERE released_at IS NOT NULL AND released_at < $1 RETURNING 1)
		SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM d)`, before).Scan(&n)
	return n, wrap(err, "postgres: purge reviews")
}

// prefixed qualifies each of a comma-separated column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
