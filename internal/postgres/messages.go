package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// MessageStore is message.Store on the messages and message_events tables.
type MessageStore struct{ db *DB }

var _ message.Store = (*MessageStore)(nil)

// Messages returns the message store.
func (db *DB) Messages() message.Store { return &MessageStore{db: db} }

const messageColumns = `tenant_id, id, channel, "to", "from", content, status, created_at, updated_at, accepted_at, finished_at`

func scanMessage(row pgx.Row) (message.Message, error) {
	var m message.Message
	var content []byte
	err := row.Scan(&m.TenantID, &m.ID, &m.Channel, &m.To, &m.From, &content, &m.Status, &m.CreatedAt, &m.UpdatedAt,
		&m.AcceptedAt, &m.FinishedAt)
	if len(content) > 0 {
		m.Content = json.RawMessage(content)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	for _, t := range []*time.Time{m.AcceptedAt, m.FinishedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return m, err
}

// jsonArg is the query argument for an optional JSON document: NULL when empty.
func jsonArg(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// Apply implements message.Store. It inserts the message if absent, then locks its
// row (SELECT … FOR UPDATE) and records the event under the lock, so concurrent events
// of one message apply one after the other: each is recorded once and the status ends
// at the highest rank, in whatever order they commit. A missing Entry.At is set to
// now; a message id that is not a UUID, an unknown status or malformed JSON is
// Invalid. accepted_at and finished_at (message.Message.Advance) are written by the
// same INSERT or UPDATE as the status: no statement more than before.
func (s *MessageStore) Apply(ctx context.Context, u message.Update) (message.Message, error) {
	now := s.db.clock()
	u, err := message.PrepareUpdate(u, now)
	if err != nil {
		return message.Message{}, err
	}
	var out message.Message
	err = s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		n := message.NewMessage(u, now)
		tag, err := tx.Exec(ctx, `INSERT INTO messages (`+messageColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant_id, id) DO NOTHING`,
			n.TenantID, n.ID, n.Channel, n.To, n.From, jsonArg(n.Content), n.Status, n.CreatedAt, n.UpdatedAt,
			n.AcceptedAt, n.FinishedAt)
		if err != nil {
			return wrap(err, "postgres: create message %s", u.MessageID)
		}
		created := tag.RowsAffected() == 1
		m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, u.TenantID, u.MessageID))
		if err != nil {
			return wrap(err, "postgres: lock message %s", u.MessageID)
		}
		tag, err = tx.Exec(ctx, `INSERT INTO message_events (tenant_id, message_id, event_id, type, status, at, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, message_id, event_id) DO NOTHING`,
			u.TenantID, u.MessageID, u.Entry.EventID, u.Entry.Type, u.Entry.Status, u.Entry.At, jsonArg(u.Entry.Detail))
		if err != nil {
			return wrap(err, "postgres: record event %s of message %s", u.Entry.EventID, u.MessageID)
		}
		if tag.RowsAffected() == 1 && !created {
			m.Advance(u, now)
			_, err := tx.Exec(ctx, `UPDATE messages
				SET channel = $3, "to" = $4, "from" = $5, content = $6, status = $7, updated_at = $8,
					accepted_at = $9, finished_at = $10
				WHERE tenant_id = $1 AND id = $2`,
				m.TenantID, m.ID, m.Channel, m.To, m.From, jsonArg(m.Content), m.Status, m.UpdatedAt,
				m.AcceptedAt, m.FinishedAt)
			if err != nil {
				return wrap(err, "postgres: update message %s", u.MessageID)
			}
		}
		if m.History, err = history(ctx, tx, u.TenantID, u.MessageID); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return message.Message{}, err
	}
	return out, nil
}

// history reads a message's entries in recorded order.
func history(ctx context.Context, q pgx.Tx, tenantID, messageID string) ([]message.Entry, error) {
	rows, err := q.Query(ctx, `SELECT event_id, type, status, at, detail FROM message_events
		WHERE tenant_id = $1 AND message_id = $2 ORDER BY seq`, tenantID, messageID)
	if err != nil {
		return nil, wrap(err, "postgres: read history of message %s", messageID)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (message.Entry, error) {
		var e message.Entry
		var detail []byte
		err := row.Scan(&e.EventID, &e.Type, &e.Status, &e.At, &detail)
		if len(detail) > 0 {
			e.Detail = json.RawMessage(detail)
		}
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, wrap(err, "postgres: read history of message %s", messageID)
	}
	return entries, nil
}

// Get implements message.Store. The message and its history are read in one
// repeatable-read snapshot. An id that is not a UUID is NotFound.
func (s *MessageStore) Get(ctx context.Context, tenantID, messageID string) (message.Message, error) {
	id, err := uuid.Parse(messageID)
	if err != nil {
		return message.Message{}, errs.E(errs.NotFound, "message %s not found", messageID)
	}
	var out message.Message
	err = s.db.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
			WHERE tenant_id = $1 AND id = $2`, tenantID, id.String()))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "message %s not found", messageID)
		}
		if err != nil {
			return wrap(err, "postgres: get message %s", messageID)
		}
		if m.History, err = history(ctx, tx, tenantID, m.ID); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return message.Message{}, err
	}
	return out, nil
}

// List implements message.Store with keyset paging on (created_at, id), newest
// first: a page goes on strictly after the previous page's last message, so messages
// inserted meanwhile (newer) never shift or repeat what follows.
func (s *MessageStore) List(ctx context.Context, tenantID string, f message.Filter) (message.Page, error) {
	f, cur, err := f.Normalize()
	if err != nil {
		return message.Page{}, err
	}
	args := []any{tenantID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{"tenant_id = $1"}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Channel != "" {
		where = append(where, "channel = "+arg(f.Channel))
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < "+arg(f.Until))
	}
	if !cur.IsZero() {
		where = append(where, "(created_at, id) < ("+arg(cur.CreatedAt)+", "+arg(cur.ID)+"::uuid)")
	}
	args = append(args, f.Limit+1)
	query := `SELECT ` + messageColumns + ` FROM messages WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := s.db.pool.Query(ctx, query, args...)
	if err != nil {
		return message.Page{}, wrap(err, "postgres: list messages of tenant %s", tenantID)
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (message.Message, error) { return scanMessage(row) })
	if err != nil {
		return message.Page{}, wrap(err, "postgres: list messages of tenant %s", tenantID)
	}
	page := message.Page{Messages: msgs}
	if len(msgs) > f.Limit {
		page.Messages = msgs[:f.Limit]
		page.NextCursor = message.EncodeCursor(page.Messages[f.Limit-1])
	}
	if page.Messages == nil {
		page.Messages = []message.Message{}
	}
	return page, nil
}

// Stats implements message.Store in one query over the tenant's messages created in
// the range (an index range scan of messages_tenant_created): the counts by status,
// and over the delivered or read messages with both times, the latency in whole
// microseconds (finished_at - accepted_at, exact: both are microsecond timestamps)
// with percentile_disc, max and sum. message.NewLatency converts them as
// internal/inmem does, so both stores give the same numbers.
func (s *MessageStore) Stats(ctx context.Context, tenantID string, f message.StatsFilter) (message.Stats, error) {
	f, err := f.Normalize()
	if err != nil {
		return message.Stats{}, err
	}
	var q filter
	q.add("tenant_id = ?", tenantID)
	q.add("created_at >= ?", f.Since)
	if !f.Until.IsZero() {
		q.add("created_at < ?", f.Until)
	}
	q.args = append(q.args, message.StatsPercentiles[:])
	query := `WITH m AS (
			SELECT status, CASE WHEN status IN ('` + string(message.Delivered) + `', '` + string(message.Read) + `')
				THEN (extract(epoch FROM finished_at - accepted_at) * 1000000)::bigint END AS us
			FROM messages WHERE ` + strings.Join(q.where, " AND ") + `
		)
		SELECT (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (SELECT status, count(*) AS n FROM m GROUP BY status) c),
			count(us),
			percentile_disc($` + strconv.Itoa(len(q.args)) + `::float8[]) WITHIN GROUP (ORDER BY us) FILTER (WHERE us IS NOT NULL),
			max(us), coalesce(sum(us), 0)::text
		FROM m`
	var (
		byStatus map[message.Status]int64
		count    int64
		pct      []int64
		maxUS    *int64
		sumText  string
	)
	err = s.db.pool.QueryRow(ctx, query, q.args...).Scan(&byStatus, &count, &pct, &maxUS, &sumText)
	if err != nil {
		return message.Stats{}, wrap(err, "postgres: message stats of tenant %s", tenantID)
	}
	st := message.NewStats(f)
	for status, n := range byStatus {
		st.ByStatus[status] = n
		st.Total += n
	}
	if count > 0 {
		sum, ok := new(big.Int).SetString(sumText, 10)
		if !ok || maxUS == nil || len(pct) != len(message.StatsPercentiles) {
			return message.Stats{}, errs.E(errs.Internal, "postgres: message stats of tenant %s: unexpected latency summary", tenantID)
		}
		st.Latency = message.NewLatency(count, [len(message.StatsPercentiles)]int64(pct), *maxUS, sum)
	}
	return st, nil
}
