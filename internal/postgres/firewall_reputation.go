package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/batch"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// ReputationStore is firewall.ReputationStore on firewall_reputation (migration
// 0009). Concurrent Standings calls share one query (a group commit of reads: one
// runs at once per pair of flushes, the rest gather meanwhile), so a busy firewall
// pays a round trip per batch of messages, not per message. Put a
// firewall.ReputationCache in front of it on the screening path.
type ReputationStore struct {
	db   *DB
	asks *batch.Batcher[*standingsAsk]
}

var _ firewall.ReputationStore = (*ReputationStore)(nil)

// FirewallReputation returns the reputation entries.
func (db *DB) FirewallReputation() firewall.ReputationStore {
	s := &ReputationStore{db: db}
	s.asks = batch.NewSerial(512, 0, 2, s.standingsOf)
	return s
}

const reputationColumns = `id::text, tenant_id, kind, value, list, score, reason, source, created_at, expires_at`

func scanReputation(row pgx.Row) (firewall.ReputationEntry, error) {
	var e firewall.ReputationEntry
	var score int16
	if err := row.Scan(&e.ID, &e.TenantID, &e.Kind, &e.Value, &e.List, &score, &e.Reason, &e.Source, &e.CreatedAt, &e.ExpiresAt); err != nil {
		return e, err
	}
	e.Score, e.CreatedAt = int(score), e.CreatedAt.UTC()
	if e.ExpiresAt != nil {
		exp := e.ExpiresAt.UTC()
		e.ExpiresAt = &exp
	}
	return e, nil
}

// Add implements firewall.ReputationStore.
func (s *ReputationStore) Add(ctx context.Context, e firewall.ReputationEntry) (firewall.ReputationEntry, error) {
	e.ID, e.CreatedAt = uuid.NewString(), s.db.clock()
	e, err := firewall.ValidateReputationEntry(e)
	if err != nil {
		return firewall.ReputationEntry{}, err
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO firewall_reputation
		(id, tenant_id, kind, value, list, score, reason, source, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.TenantID, e.Kind, e.Value, e.List, e.Score, e.Reason, e.Source, e.CreatedAt, e.ExpiresAt)
	if err != nil {
		return firewall.ReputationEntry{}, wrap(err, "postgres: add reputation entry for %s %s", e.Kind, e.Value)
	}
	return e, nil
}

// standingsAsk is one Standings call in a batch: its keys (normalised, distinct)
// and, once flushed, the standings found.
type standingsAsk struct {
	tenantID string
	t        time.Time
	keys     []firewall.ReputationKey
	found    map[firewall.ReputationKey]firewall.Standing
}

// Standings implements firewall.ReputationStore: the keys, normalised and
// deduplicated, are joined to their live entries of the tenant and global, in one
// query with the other calls of its batch. A key with an unknown kind or an empty
// value is absent.
func (s *ReputationStore) Standings(ctx context.Context, tenantID string, keys []firewall.ReputationKey, t time.Time) (map[firewall.ReputationKey]firewall.Standing, error) {
	out := make(map[firewall.ReputationKey]firewall.Standing, len(keys))
	asked := make(map[firewall.ReputationKey][]firewall.ReputationKey, len(keys)) // normalised → as given
	ask := &standingsAsk{tenantID: tenantID, t: t, found: map[firewall.ReputationKey]firewall.Standing{}}
	for _, k := range keys {
		nk := firewall.ReputationKey{Kind: k.Kind, Value: firewall.NormalizeValue(k.Kind, k.Value)}
		if nk.Value == "" {
			continue
		}
		if _, ok := asked[nk]; !ok {
			ask.keys = append(ask.keys, nk)
		}
		asked[nk] = append(asked[nk], k)
	}
	if len(ask.keys) == 0 {
		return out, nil
	}
	if err := s.asks.Add(ctx, ask); err != nil {
		return nil, err
	}
	for nk, st := range ask.found {
		for _, k := range asked[nk] {
			out[k] = st
		}
	}
	return out, nil
}

// standingsOf answers a batch of Standings calls in one query; each key carries its
// call's tenant and time, so the answers are those of separate queries.
func (s *ReputationStore) standingsOf(ctx context.Context, asks []*standingsAsk) error {
	var tenants, kinds, values []string
	var times []time.Time
	var owners []int32
	for i, a := range asks {
		for _, k := range a.keys {
			tenants, kinds, values = append(tenants, a.tenantID), append(kinds, k.Kind), append(values, k.Value)
			times, owners = append(times, a.t), append(owners, int32(i))
		}
	}
	rows, _ := s.db.pool.Query(ctx, `SELECT k.n, k.kind, k.value,
			least(100, coalesce(max(r.score) FILTER (WHERE r.list IN ('blocklist', 'watchlist')), 0)
				+ coalesce(sum(r.score) FILTER (WHERE r.list IN ('complaint', 'carrier')), 0))::int,
			count(*) FILTER (WHERE r.list IN ('complaint', 'carrier'))::int,
			bool_or(r.list = 'watchlist')
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[]) AS k (tenant, kind, value, t, n)
		JOIN firewall_reputation r ON r.kind = k.kind AND r.value = k.value
		WHERE r.tenant_id IN ('', k.tenant) AND (r.expires_at IS NULL OR r.expires_at > k.t)
		GROUP BY k.n, k.kind, k.value`, tenants, kinds, values, times, owners)
	var n int32
	var nk firewall.ReputationKey
	var st firewall.Standing
	_, err := pgx.ForEachRow(rows, []any{&n, &nk.Kind, &nk.Value, &st.Score, &st.Complaints, &st.WatchListed}, func() error {
		asks[n].found[nk] = st
		return nil
	})
	return wrap(err, "postgres: reputation standings of %d keys", len(kinds))
}

// List implements firewall.ReputationStore: newest first (ties by id). An unknown
// kind or a negative limit is Invalid; limit 0 is firewall.DefaultPageLimit.
func (s *ReputationStore) List(ctx context.Context, tenantID, kind string, limit int) ([]firewall.ReputationEntry, error) {
	limit, err := firewall.CheckReputationList(kind, limit)
	if err != nil {
		return nil, err
	}
	rows, _ := s.db.pool.Query(ctx, `SELECT `+reputationColumns+` FROM firewall_reputation
		WHERE tenant_id = $1 AND ($2 = '' OR kind = $2) ORDER BY created_at DESC, id DESC LIMIT $3`, tenantID, kind, limit)
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firewall.ReputationEntry, error) { return scanReputation(row) })
	if err != nil {
		return nil, wrap(err, "postgres: list reputation entries of tenant %q", tenantID)
	}
	if es == nil {
		es = []firewall.ReputationEntry{}
	}
	return es, nil
}

// Delete implements firewall.ReputationStore; an id that is not a UUID is NotFound.
func (s *ReputationStore) Delete(ctx context.Context, id string) error {
	u, err := uuid.Parse(id)
	if err != nil {
		return errs.E(errs.NotFound, "reputation entry %s not found", id)
	}
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM firewall_reputation WHERE id = $1`, u)
	if err != nil {
		return wrap(err, "postgres: delete reputation entry %s", id)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "reputation entry %s not found", id)
	}
	return nil
}
