package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/message"
)

type messageKey struct{ tenant, id string }

// ApplyBatch implements message.Store in one transaction of five statements,
// whatever the batch's size: create the unknown messages, lock every message of the
// batch (in key order, so concurrent batches do not deadlock), insert the events
// (a repeated event id is skipped, as Apply skips it), apply the new ones to their
// messages in Go (message.Message.Advance, Apply's rule) and write back the
// messages that changed.
func (s *MessageStore) ApplyBatch(ctx context.Context, us []message.Update) error {
	if len(us) == 0 {
		return nil
	}
	now := s.db.clock()
	prepared := make([]message.Update, len(us))
	for i, u := range us {
		p, err := message.PrepareUpdate(u, now)
		if err != nil {
			return err
		}
		prepared[i] = p
	}
	// The first update of each message creates it when unknown, as Apply would.
	first := map[messageKey]int{}
	var keys []messageKey
	for i, u := range prepared {
		k := messageKey{u.TenantID, u.MessageID}
		if _, ok := first[k]; !ok {
			first[k] = i
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b messageKey) int { return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.id, b.id)) })
	return s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		created, err := createMessages(ctx, tx, keys, first, prepared, now)
		if err != nil {
			return err
		}
		msgs, err := lockMessages(ctx, tx, keys)
		if err != nil {
			return err
		}
		recorded, err := insertEvents(ctx, tx, prepared)
		if err != nil {
			return err
		}
		changed := map[messageKey]bool{}
		for i, u := range prepared {
			k := messageKey{u.TenantID, u.MessageID}
			if !recorded[i] || (created[k] && first[k] == i) {
				continue // a repeat, or the event that created its message
			}
			if m := msgs[k]; m != nil {
				m.Advance(u, now)
				changed[k] = true
			}
		}
		return updateMessages(ctx, tx, keys, msgs, changed)
	})
}

// createMessages inserts the batch's messages not yet stored, each from its first
// update, and says which it created.
func createMessages(ctx context.Context, tx pgx.Tx, keys []messageKey, first map[messageKey]int, us []message.Update, now time.Time) (map[messageKey]bool, error) {
	n := len(keys)
	tenants, ids, channels, tos, froms, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	contents := make([]*string, n)
	accepted, finished := make([]*time.Time, n), make([]*time.Time, n)
	for i, k := range keys {
		m := message.NewMessage(us[first[k]], now)
		tenants[i], ids[i], channels[i], tos[i], froms[i], statuses[i] = m.TenantID, m.ID, m.Channel, m.To, m.From, string(m.Status)
		if len(m.Content) > 0 {
			c := string(m.Content)
			contents[i] = &c
		}
		accepted[i], finished[i] = m.AcceptedAt, m.FinishedAt
	}
	rows, err := tx.Query(ctx, `INSERT INTO messages (`+messageColumns+`)
		SELECT t, i::uuid, c, "to", f, content::jsonb, st, $9, $9, acc, fin
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $10::timestamptz[])
			AS u (t, i, c, "to", f, content, st, acc, fin)
		ON CONFLICT (tenant_id, id) DO NOTHING
		RETURNING tenant_id, id::text`, tenants, ids, channels, tos, froms, contents, statuses, accepted, now, finished)
	if err != nil {
		return nil, wrap(err, "postgres: create %d messages", n)
	}
	created := map[messageKey]bool{}
	for rows.Next() {
		var k messageKey
		if err := rows.Scan(&k.tenant, &k.id); err != nil {
			rows.Close()
			return nil, wrap(err, "postgres: create messages")
		}
		created[k] = true
	}
	return created, wrap(rows.Err(), "postgres: create messages")
}

// lockMessages reads the batch's messages FOR UPDATE, in key order.
func lockMessages(ctx context.Context, tx pgx.Tx, keys []messageKey) (map[messageKey]*message.Message, error) {
	tenants, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		tenants[i], ids[i] = k.tenant, k.id
	}
	rows, err := tx.Query(ctx, `SELECT `+prefixed("m.", messageColumns)+` FROM messages m
		JOIN unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS k (t, i, n) ON m.tenant_id = k.t AND m.id = k.i
		ORDER BY k.n FOR UPDATE OF m`, tenants, ids)
	if err != nil {
		return nil, wrap(err, "postgres: lock %d messages", len(keys))
	}
	defer rows.Close()
	out := make(map[messageKey]*message.Message, len(keys))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, wrap(err, "postgres: lock messages")
		}
		out[messageKey{m.TenantID, m.ID}] = &m
	}
	return out, wrap(rows.Err(), "postgres: lock messages")
}

// insertEvents records the batch's events, in batch order, and says which were new
// (by index into us); a repeated event id, in the store or earlier in the batch, is
// not.
func insertEvents(ctx context.Context, tx pgx.Tx, us []message.Update) (map[int]bool, error) {
	n := len(us)
	tenants, ids, events, types, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at, details, ord := make([]time.Time, n), make([]*string, n), make([]int32, n)
	for i, u := range us {
		tenants[i], ids[i], events[i], types[i], statuses[i] = u.TenantID, u.MessageID, u.Entry.EventID, u.Entry.Type, string(u.Entry.Status)
		at[i], ord[i] = u.Entry.At, int32(i)
		if len(u.Entry.Detail) > 0 {
			d := string(u.Entry.Detail)
			details[i] = &d
		}
	}
	// ORDER BY keeps seq (the recorded order) in batch order.
	rows, err := tx.Query(ctx, `INSERT INTO message_events (tenant_id, message_id, event_id, type, status, at, detail)
		SELECT t, i::uuid, e, ty, st, a, d::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::int[])
			AS u (t, i, e, ty, st, a, d, n)
		ORDER BY n
		ON CONFLICT (tenant_id, message_id, event_id) DO NOTHING
		RETURNING tenant_id, message_id::text, event_id`, tenants, ids, events, types, statuses, at, details, ord)
	if err != nil {
		return nil, wrap(err, "postgres: record %d events", n)
	}
	type eventKey struct{ tenant, id, event string }
	inserted := map[eventKey]bool{}
	for rows.Next() {
		var k eventKey
		if err := rows.Scan(&k.tenant, &k.id, &k.event); err != nil {
			rows.Close()
			return nil, wrap(err, "postgres: record events")
		}
		inserted[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "postgres: record events")
	}
	recorded := map[int]bool{}
	for i, u := range us {
		k := eventKey{u.TenantID, u.MessageID, u.Entry.EventID}
		if inserted[k] {
			recorded[i] = true
			delete(inserted, k) // a second update with the same event id is a repeat
		}
	}
	return recorded, nil
}

// updateMessages writes back the messages Advance changed.
func updateMessages(ctx context.Context, tx pgx.Tx, keys []messageKey, msgs map[messageKey]*message.Message, changed map[messageKey]bool) error {
	var tenants, ids, channels, tos, froms, statuses []string
	var contents []*string
	var updated []time.Time
	var accepted, finished []*time.Time
	for _, k := range keys {
		m := msgs[k]
		if !changed[k] || m == nil {
			continue
		}
		tenants, ids, channels, tos, froms, statuses = append(tenants, m.TenantID), append(ids, m.ID), append(channels, m.Channel),
			append(tos, m.To), append(froms, m.From), append(statuses, string(m.Status))
		var c *string
		if len(m.Content) > 0 {
			s := string(m.Content)
			c = &s
		}
		contents, updated, accepted, finished = append(contents, c), append(updated, m.UpdatedAt), append(accepted, m.AcceptedAt), append(finished, m.FinishedAt)
	}
	if len(tenants) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET channel = u.c, "to" = u."to", "from" = u.f, content = u.content::jsonb,
			status = u.st, updated_at = u.up, accepted_at = u.acc, finished_at = u.fin
		FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
			AS u (t, i, c, "to", f, content, st, up, acc, fin)
		WHERE m.tenant_id = u.t AND m.id = u.i`,
		tenants, ids, channels, tos, froms, contents, statuses, updated, accepted, finished)
	return wrap(err, "postgres: update %d messages", len(tenants))
}
