package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// AuditStore is firewall.Audit on firewall_audit, partitioned by month of at
// (migration 0009), with firewall_audit_ids keeping a record id unique across
// partitions. Record is one statement per batch, the records passed as arrays and
// unnested.
type AuditStore struct{ db *DB }

var _ firewall.Audit = (*AuditStore)(nil)

// FirewallAudit returns the decision audit.
func (db *DB) FirewallAudit() firewall.Audit { return &AuditStore{db: db} }

// auditMonthKey prefixes the audit's months in the DB's memo of partitions made
// (monthsMade, shared with the charges, whose keys are bare months).
const auditMonthKey = "firewall_audit/"

// ensurePartitions makes sure the months of ts, and the current and next month, have
// their partitions (firewall_audit_partition), in one statement and only for months
// this DB has not seen. It runs before, not within, the Record statement: attaching
// a partition locks the default partition until commit.
func (s *AuditStore) ensurePartitions(ctx context.Context, ts []time.Time) error {
	made := s.db.monthsMade()
	now := s.db.clock()
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var months []time.Time
	var keys []string
	for _, t := range append(ts, cur, cur.AddDate(0, 1, 0)) {
		k := auditMonthKey + t.Format("2006-01")
		if _, ok := made.Load(k); ok || slices.Contains(keys, k) {
			continue
		}
		keys = append(keys, k)
		months = append(months, time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
	}
	if len(months) == 0 {
		return nil
	}
	if _, err := s.db.pool.Exec(ctx, `SELECT firewall_audit_partition(m) FROM unnest($1::timestamptz[]) AS m`, months); err != nil {
		return wrap(err, "postgres: create audit partitions")
	}
	for _, k := range keys {
		made.Store(k, struct{}{})
	}
	return nil
}

// Record implements firewall.Audit. The batch is checked first (one bad record
// records none) and its duplicate ids dropped (the first wins); then one statement
// claims each id in firewall_audit_ids, ON CONFLICT DO NOTHING, and inserts the
// records whose claim it made: a recorded id is left as is, even when recorded
// concurrently or again with another at.
func (s *AuditStore) Record(ctx context.Context, recs ...firewall.AuditRecord) error {
	_, err := s.RecordFirst(ctx, recs...)
	return err
}

// RecordFirst implements firewall.Audit: Record, then, only for ids it did not
// claim (replays, rare), one read of the verdicts recorded first.
func (s *AuditStore) RecordFirst(ctx context.Context, recs ...firewall.AuditRecord) ([]*firewall.Verdict, error) {
	order := make([]string, len(recs))
	own := make(map[string]*firewall.Verdict, len(recs))
	for i, r := range recs {
		order[i] = r.ID
		if _, seen := own[r.ID]; !seen && r.Screen != nil {
			own[r.ID] = r.Screen.Verdict
		}
	}
	recs, err := firewall.CheckAuditRecords(recs, s.db.clock())
	if err != nil || len(recs) == 0 {
		return make([]*firewall.Verdict, len(order)), err
	}
	// Concurrent batches claim ids in one order, by id, so two batches sharing ids
	// wait for each other instead of deadlocking on their unique-index locks.
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b firewall.AuditRecord) int { return strings.Compare(a.ID, b.ID) })
	n := len(recs)
	ids, msgs, tenants, decisions, screens, rules, models := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	for i, r := range recs {
		b, err := json.Marshal(r.Screen)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "audit record %s: encode screen", r.ID)
		}
		ids[i], msgs[i], tenants[i], decisions[i], screens[i] = r.ID, r.MessageID, r.TenantID, firewall.AuditDecision(r), string(b)
		rules[i], models[i], at[i] = r.RulesVersion, r.ModelVersion, r.At
	}
	if err := s.ensurePartitions(ctx, at); err != nil {
		return nil, err
	}
	rows, err := s.db.pool.Query(ctx, `WITH input AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
				$7::text[], $8::text[]) AS i (id, message_id, tenant_id, at, decision, screen, rules_version, model_version)
		), claimed AS (
			INSERT INTO firewall_audit_ids (id, at) SELECT id, at FROM input
			ON CONFLICT (id) DO NOTHING
			RETURNING id
		)
		INSERT INTO firewall_audit (id, message_id, tenant_id, at, decision, screen, rules_version, model_version)
		SELECT i.id, i.message_id, i.tenant_id, i.at, i.decision, i.screen::jsonb, i.rules_version, i.model_version
		FROM input i JOIN claimed c ON c.id = i.id
		RETURNING id`,
		ids, msgs, tenants, at, decisions, screens, rules, models)
	if err != nil {
		return nil, wrap(err, "postgres: record %d audit records", n)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(err, "postgres: record %d audit records", n)
	}
	mine := make(map[string]bool, len(claimed))
	for _, id := range claimed {
		mine[id] = true
	}
	var replays []string
	for _, id := range ids {
		if !mine[id] {
			replays = append(replays, id)
		}
	}
	first := map[string]*firewall.Verdict{}
	if len(replays) > 0 {
		rows, err := s.db.pool.Query(ctx, `SELECT a.id, a.screen->'verdict' FROM firewall_audit a
			JOIN firewall_audit_ids k ON k.id = a.id AND k.at = a.at WHERE k.id = ANY($1)`, replays)
		if err != nil {
			return nil, wrap(err, "postgres: read %d recorded verdicts", len(replays))
		}
		for rows.Next() {
			var id string
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return nil, wrap(err, "postgres: read recorded verdicts")
			}
			var v *firewall.Verdict
			if len(raw) > 0 && string(raw) != "null" {
				if err := json.Unmarshal(raw, &v); err != nil {
					rows.Close()
					return nil, errs.Wrap(errs.Internal, err, "postgres: decode verdict of audit record %s", id)
				}
			}
			first[id] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap(err, "postgres: read recorded verdicts")
		}
	}
	standing := make([]*firewall.Verdict, len(order))
	for i, id := range order {
		if v, ok := first[id]; ok {
			standing[i] = v
		} else {
			standing[i] = own[id]
		}
	}
	return standing, nil
}

// List implements firewall.Audit: by at, then id byte-wise, keyset-paged, one row
// more than the page to know whether another follows.
func (s *AuditStore) List(ctx context.Context, f firewall.AuditFilter) ([]firewall.AuditRecord, string, error) {
	f, curAt, curID, err := firewall.CheckAuditFilter(f)
	if err != nil {
		return nil, "", err
	}
	var q filter
	if f.TenantID != "" {
		q.add("tenant_id = ?", f.TenantID)
	}
	if f.Decision != "" {
		q.add("decision = ?", f.Decision)
	}
	if !f.Since.IsZero() {
		q.add("at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q.add("at < ?", f.Until)
	}
	if curID != "" {
		q.add("(at, id) > (?, ?)", curAt, curID)
	}
	sql := q.query(`SELECT id, message_id, tenant_id, at, screen, rules_version, model_version FROM firewall_audit`, `at, id`, f.Limit+1)
	rows, _ := s.db.pool.Query(ctx, sql, q.args...)
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.AuditRecord, error) {
		var r firewall.AuditRecord
		var screen []byte
		if err := row.Scan(&r.ID, &r.MessageID, &r.TenantID, &r.At, &screen, &r.RulesVersion, &r.ModelVersion); err != nil {
			return r, err
		}
		r.At = r.At.UTC()
		r.Screen = new(firewall.Screen)
		if err := json.Unmarshal(screen, r.Screen); err != nil {
			return r, errs.Wrap(errs.Internal, err, "postgres: decode screen of audit record %s", r.ID)
		}
		return r, nil
	})
	if err != nil {
		return nil, "", wrap(err, "postgres: list audit records")
	}
	if recs == nil {
		recs = []firewall.AuditRecord{}
	}
	next := ""
	if len(recs) > f.Limit {
		recs = recs[:f.Limit]
		last := recs[f.Limit-1]
		next = firewall.EncodeCursor(last.At, last.ID)
	}
	return recs, next, nil
}
