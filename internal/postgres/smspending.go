package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
)

// SMSPending is smsgw.Pending on the sms_pending table (migrations/0006): one row
// per accepted part, keyed by (carrier, smsc_id). Receipt and Expire lock a
// message's rows (in part order) before deciding, in one transaction, and hand a
// message out by moving its deadline to the redo time, so a receipt and the sweepers
// of any number of gateways hand it out once until that time; Finish deletes it.
type SMSPending struct{ db *DB }

// SMSPending returns the pending SMS receipts store.
func (db *DB) SMSPending() *SMSPending { return &SMSPending{db: db} }

var _ smsgw.Pending = (*SMSPending)(nil)

func (s *SMSPending) Add(ctx context.Context, e smsgw.PendingEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	deadline := e.Deadline.UTC().Truncate(time.Microsecond)
	return s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, id := range e.SMSCIDs {
			var state *int16
			code := ""
			if i < len(e.States) && e.States[i] != 0 {
				st := int16(e.States[i])
				state = &st
				if i < len(e.Codes) {
					code = e.Codes[i]
				}
			}
			b.Queue(`INSERT INTO sms_pending (carrier, smsc_id, tenant_id, message_id, part, parts, state, error_code, deadline, tries)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (carrier, smsc_id) DO UPDATE SET tenant_id = $3, message_id = $4, part = $5, parts = $6,
					state = $7, error_code = $8, deadline = $9, tries = $10`,
				e.Carrier, id, e.TenantID, e.MessageID, i, len(e.SMSCIDs), state, code, deadline, e.Tries)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return wrap(err, "postgres: add pending sms %s", e.MessageID)
		}
		return nil
	})
}

// pendingRow is one locked row of a message.
type pendingRow struct {
	smscID, code string
	part, parts  int
	state        *int16
	deadline     time.Time
	tries        int
}

// lockMessage locks and returns the rows of a message, in part order.
func lockMessage(ctx context.Context, tx pgx.Tx, carrier, tenantID, messageID string) ([]pendingRow, error) {
	rows, err := tx.Query(ctx, `SELECT smsc_id, part, parts, state, error_code, deadline, tries FROM sms_pending
		WHERE carrier = $1 AND tenant_id = $2 AND message_id = $3 ORDER BY part, smsc_id FOR UPDATE`,
		carrier, tenantID, messageID)
	if err != nil {
		return nil, wrap(err, "postgres: lock pending sms %s", messageID)
	}
	var out []pendingRow
	for rows.Next() {
		var r pendingRow
		if err := rows.Scan(&r.smscID, &r.part, &r.parts, &r.state, &r.code, &r.deadline, &r.tries); err != nil {
			rows.Close()
			return nil, wrap(err, "postgres: read pending sms %s", messageID)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "postgres: read pending sms %s", messageID)
	}
	return out, nil
}

// entry builds the message from its rows.
func entry(carrier, tenantID, messageID string, rs []pendingRow) smsgw.PendingEntry {
	n := rs[0].parts
	e := smsgw.PendingEntry{Carrier: carrier, TenantID: tenantID, MessageID: messageID,
		SMSCIDs: make([]string, n), States: make([]sms.State, n), Codes: make([]string, n),
		Deadline: rs[0].deadline.UTC()}
	for _, r := range rs {
		if r.part >= n {
			continue
		}
		e.SMSCIDs[r.part] = r.smscID
		if r.state != nil {
			e.States[r.part], e.Codes[r.part] = sms.State(*r.state), r.code
		}
		e.Tries = max(e.Tries, r.tries)
		if r.deadline.Before(e.Deadline) {
			e.Deadline = r.deadline.UTC()
		}
	}
	return e
}

// handOut moves e's deadline to redo (and, expiring, counts the try), in the
// table and in e.
func handOut(ctx context.Context, tx pgx.Tx, e *smsgw.PendingEntry, redo time.Time, try int) error {
	e.Deadline, e.Tries = redo.UTC().Truncate(time.Microsecond), e.Tries+try
	_, err := tx.Exec(ctx, `UPDATE sms_pending SET deadline = $4, tries = tries + $5
		WHERE carrier = $1 AND tenant_id = $2 AND message_id = $3`,
		e.Carrier, e.TenantID, e.MessageID, e.Deadline, try)
	return wrap(err, "postgres: hand out pending sms %s", e.MessageID)
}

func (s *SMSPending) Receipt(ctx context.Context, carrier, smscID string, state sms.State, errorCode string, redo time.Time) (*smsgw.PendingEntry, bool, error) {
	if state == 0 {
		return nil, false, errs.E(errs.Invalid, "postgres: pending sms receipt without a state")
	}
	// Found first without a transaction: a receipt for an id not stored (one that came
	// before its submit_sm_resp was handled) costs one round trip. The rows are
	// locked, and the part looked for again, inside the transaction.
	var tenantID, messageID string
	err := s.db.pool.QueryRow(ctx, `SELECT tenant_id, message_id FROM sms_pending WHERE carrier = $1 AND smsc_id = $2`,
		carrier, smscID).Scan(&tenantID, &messageID)
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(err, "postgres: find pending sms %s", smscID)
	}
	var done *smsgw.PendingEntry
	known := false
	err = s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		done, known = nil, false
		rs, err := lockMessage(ctx, tx, carrier, tenantID, messageID)
		if err != nil {
			return err
		}
		mine := slices.IndexFunc(rs, func(r pendingRow) bool { return r.smscID == smscID })
		if mine < 0 { // finished meanwhile
			return nil
		}
		known = true
		e := entry(carrier, tenantID, messageID, rs)
		if e.Tries > 0 {
			return nil // expired: its outcome is the receipt timeout
		}
		if rs[mine].state == nil {
			e.States[rs[mine].part], e.Codes[rs[mine].part] = state, errorCode
			if _, err := tx.Exec(ctx, `UPDATE sms_pending SET state = $3, error_code = $4 WHERE carrier = $1 AND smsc_id = $2`,
				carrier, smscID, int16(state), errorCode); err != nil {
				return wrap(err, "postgres: record sms receipt %s", smscID)
			}
		}
		if !e.Complete() { // a part missing or still open (a duplicate changes nothing)
			return nil
		}
		if err := handOut(ctx, tx, &e, redo, 0); err != nil {
			return err
		}
		done = &e
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return done, known, nil
}

func (s *SMSPending) Expire(ctx context.Context, now, redo time.Time, limit int) ([]smsgw.PendingEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	now = now.UTC()
	rows, err := s.db.pool.Query(ctx, `SELECT carrier, tenant_id, message_id FROM sms_pending WHERE deadline <= $1
		GROUP BY carrier, tenant_id, message_id ORDER BY min(deadline), carrier, tenant_id, message_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, wrap(err, "postgres: find expired sms")
	}
	type msg struct{ carrier, tenantID, messageID string }
	var due []msg
	for rows.Next() {
		var m msg
		if err := rows.Scan(&m.carrier, &m.tenantID, &m.messageID); err != nil {
			rows.Close()
			return nil, wrap(err, "postgres: read expired sms")
		}
		due = append(due, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "postgres: read expired sms")
	}
	var out []smsgw.PendingEntry
	for _, m := range due {
		err := s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			rs, err := lockMessage(ctx, tx, m.carrier, m.tenantID, m.messageID)
			if err != nil || len(rs) == 0 {
				return err // gone: finished meanwhile
			}
			e := entry(m.carrier, m.tenantID, m.messageID, rs)
			if e.Deadline.After(now) {
				return nil // handed out by another sweeper, or added back, meanwhile
			}
			if err := handOut(ctx, tx, &e, redo, 1); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *SMSPending) Finish(ctx context.Context, carrier, tenantID, messageID string) error {
	_, err := s.db.pool.Exec(ctx, `DELETE FROM sms_pending WHERE carrier = $1 AND tenant_id = $2 AND message_id = $3`,
		carrier, tenantID, messageID)
	return wrap(err, "postgres: finish pending sms %s", messageID)
}

func (s *SMSPending) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var d *time.Time
	if err := s.db.pool.QueryRow(ctx, `SELECT min(deadline) FROM sms_pending`).Scan(&d); err != nil {
		return time.Time{}, false, wrap(err, "postgres: next sms deadline")
	}
	if d == nil {
		return time.Time{}, false, nil
	}
	return d.UTC(), true, nil
}
