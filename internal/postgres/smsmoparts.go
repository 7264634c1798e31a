package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
)

// SMSMOParts is smsgw.MOParts on sms_mo_messages and sms_mo_parts
// (migrations/0013). Add and Expire lock a message's row before deciding, in one
// transaction, so one part completing a message, its resend and the sweepers of any
// number of gateways hand it out once until its redo time.
type SMSMOParts struct{ db *DB }

// SMSMOParts returns the store of concatenated inbound SMS parts.
func (db *DB) SMSMOParts() *SMSMOParts { return &SMSMOParts{db: db} }

var _ smsgw.MOParts = (*SMSMOParts)(nil)

const moKeyWhere = `carrier = $1 AND sender = $2 AND recipient = $3 AND ref = $4 AND total = $5`

func moKeyArgs(k smsgw.MOKey, more ...any) []any {
	return append([]any{k.Carrier, k.From, k.To, k.Ref, k.Total}, more...)
}

func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (s *SMSMOParts) Add(ctx context.Context, p smsgw.MOPart, deadline, redo time.Time) (*smsgw.MOMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	body := p.Body
	if body == nil {
		body = []byte{} // NOT NULL
	}
	now := pgTime(p.ReceivedAt)
	var done *smsgw.MOMessage
	err := s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		done = nil
		if _, err := tx.Exec(ctx, `INSERT INTO sms_mo_messages (carrier, sender, recipient, ref, total, deadline)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, moKeyArgs(p.MOKey, pgTime(deadline))...); err != nil {
			return wrap(err, "postgres: add MO message from %s", p.From)
		}
		var at time.Time
		var finished bool
		if err := tx.QueryRow(ctx, `SELECT deadline, finished FROM sms_mo_messages WHERE `+moKeyWhere+` FOR UPDATE`,
			moKeyArgs(p.MOKey)...).Scan(&at, &finished); err != nil {
			return wrap(err, "postgres: lock MO message from %s", p.From)
		}
		if finished {
			var old []byte
			err := tx.QueryRow(ctx, `SELECT body FROM sms_mo_parts WHERE `+moKeyWhere+` AND seq = $6`,
				moKeyArgs(p.MOKey, p.Seq)...).Scan(&old)
			if err == nil && bytes.Equal(old, body) {
				return nil // resent after it was reported
			}
			if err != nil && err != pgx.ErrNoRows {
				return wrap(err, "postgres: read MO part from %s", p.From)
			}
			// The reference reused: a new message under the same key.
			if _, err := tx.Exec(ctx, `DELETE FROM sms_mo_parts WHERE `+moKeyWhere, moKeyArgs(p.MOKey)...); err != nil {
				return wrap(err, "postgres: clear MO message from %s", p.From)
			}
			at = pgTime(deadline)
			if _, err := tx.Exec(ctx, `UPDATE sms_mo_messages SET finished = false, tries = 0, deadline = $6 WHERE `+moKeyWhere,
				moKeyArgs(p.MOKey, at)...); err != nil {
				return wrap(err, "postgres: restart MO message from %s", p.From)
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO sms_mo_parts (carrier, sender, recipient, ref, total, seq, data_coding, body, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			moKeyArgs(p.MOKey, p.Seq, int16(p.DataCoding), body, now)...)
		if err != nil {
			return wrap(err, "postgres: add MO part from %s", p.From)
		}
		dup := tag.RowsAffected() == 0
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sms_mo_parts WHERE `+moKeyWhere, moKeyArgs(p.MOKey)...).Scan(&n); err != nil {
			return wrap(err, "postgres: count MO parts from %s", p.From)
		}
		if n < p.Total || dup && at.After(now) {
			return nil
		}
		m, err := handOutMO(ctx, tx, p.MOKey, redo, 0)
		if err != nil {
			return err
		}
		done = &m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}

// handOutMO moves a locked message's deadline to redo, adds try to its tries, and
// returns it with its parts.
func handOutMO(ctx context.Context, tx pgx.Tx, k smsgw.MOKey, redo time.Time, try int) (smsgw.MOMessage, error) {
	m := smsgw.MOMessage{MOKey: k}
	if err := tx.QueryRow(ctx, `UPDATE sms_mo_messages SET deadline = $6, tries = tries + $7 WHERE `+moKeyWhere+`
		RETURNING deadline, tries`, moKeyArgs(k, pgTime(redo), try)...).Scan(&m.Deadline, &m.Tries); err != nil {
		return m, wrap(err, "postgres: hand out MO message from %s", k.From)
	}
	m.Deadline = m.Deadline.UTC()
	rows, err := tx.Query(ctx, `SELECT seq, data_coding, body, received_at FROM sms_mo_parts WHERE `+moKeyWhere+` ORDER BY seq`,
		moKeyArgs(k)...)
	if err != nil {
		return m, wrap(err, "postgres: read MO parts from %s", k.From)
	}
	defer rows.Close()
	for rows.Next() {
		p := smsgw.MOPart{MOKey: k}
		var dc int16
		if err := rows.Scan(&p.Seq, &dc, &p.Body, &p.ReceivedAt); err != nil {
			return m, wrap(err, "postgres: read MO part from %s", k.From)
		}
		p.DataCoding, p.ReceivedAt = byte(dc), p.ReceivedAt.UTC()
		m.Parts = append(m.Parts, p)
	}
	return m, wrap(rows.Err(), "postgres: read MO parts from %s", k.From)
}

func (s *SMSMOParts) Expire(ctx context.Context, now, redo time.Time, limit int) ([]smsgw.MOMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	now = pgTime(now)
	var out []smsgw.MOMessage
	err := s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		out = nil
		// Rows another sweeper (or an Add) holds are skipped, not waited for: no
		// two sweepers lock the same rows in different orders.
		if _, err := tx.Exec(ctx, `DELETE FROM sms_mo_messages WHERE (carrier, sender, recipient, ref, total) IN (
			SELECT carrier, sender, recipient, ref, total FROM sms_mo_messages WHERE finished AND deadline <= $1
			FOR UPDATE SKIP LOCKED)`, now); err != nil {
			return wrap(err, "postgres: drop finished MO messages")
		}
		rows, err := tx.Query(ctx, `SELECT carrier, sender, recipient, ref, total FROM sms_mo_messages
			WHERE NOT finished AND deadline <= $1 ORDER BY deadline, carrier, sender, recipient, ref, total
			LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return wrap(err, "postgres: find expired MO messages")
		}
		keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (smsgw.MOKey, error) {
			var k smsgw.MOKey
			err := r.Scan(&k.Carrier, &k.From, &k.To, &k.Ref, &k.Total)
			return k, err
		})
		if err != nil {
			return wrap(err, "postgres: read expired MO messages")
		}
		for _, k := range keys {
			m, err := handOutMO(ctx, tx, k, redo, 1)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SMSMOParts) Release(ctx context.Context, k smsgw.MOKey, at time.Time) error {
	_, err := s.db.pool.Exec(ctx, `UPDATE sms_mo_messages SET deadline = $6 WHERE `+moKeyWhere+` AND NOT finished`,
		moKeyArgs(k, pgTime(at))...)
	return wrap(err, "postgres: release MO message from %s", k.From)
}

func (s *SMSMOParts) Finish(ctx context.Context, k smsgw.MOKey, keep time.Time) error {
	_, err := s.db.pool.Exec(ctx, `UPDATE sms_mo_messages SET finished = true, deadline = $6 WHERE `+moKeyWhere,
		moKeyArgs(k, pgTime(keep))...)
	return wrap(err, "postgres: finish MO message from %s", k.From)
}

func (s *SMSMOParts) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var at *time.Time
	if err := s.db.pool.QueryRow(ctx, `SELECT min(deadline) FROM sms_mo_messages`).Scan(&at); err != nil {
		return time.Time{}, false, wrap(err, "postgres: next MO deadline")
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return at.UTC(), true, nil
}
