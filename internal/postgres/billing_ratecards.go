package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// RateCardStore is billing.RateCards on rate_cards: one row per version, the card as
// JSON in body. Amounts cross the driver only as text; JSON keeps decimals as strings.
type RateCardStore struct{ db *DB }

var _ billing.RateCards = (*RateCardStore)(nil)

// RateCards returns the rate card store.
func (db *DB) RateCards() billing.RateCards { return &RateCardStore{db: db} }

// parseMoney reads a numeric's text form as both adapters return amounts: normalized,
// and a zero as decimal.Zero.
func parseMoney(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errs.Wrap(errs.Internal, err, "postgres: numeric %q", s)
	}
	if d.IsZero() {
		return decimal.Zero, nil
	}
	return ledger.Normalize(d), nil
}

const cardColumns = "id, version, tenant_id, name, currency, effective_from, body, created_at"

func scanCard(row pgx.Row) (billing.RateCard, error) {
	var col billing.RateCard
	var body []byte
	if err := row.Scan(&col.ID, &col.Version, &col.TenantID, &col.Name, &col.Currency, &col.EffectiveFrom, &body, &col.CreatedAt); err != nil {
		return billing.RateCard{}, err
	}
	var c billing.RateCard
	if err := json.Unmarshal(body, &c); err != nil {
		return billing.RateCard{}, errs.Wrap(errs.Internal, err, "postgres: decode rate card %s v%d", col.ID, col.Version)
	}
	// The columns win over the body.
	c.ID, c.Version, c.TenantID, c.Name, c.Currency = col.ID, col.Version, col.TenantID, col.Name, col.Currency
	c.EffectiveFrom, c.CreatedAt = col.EffectiveFrom.UTC(), col.CreatedAt.UTC()
	return c, nil
}

func insertCard(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, c billing.RateCard) (billing.RateCard, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return billing.RateCard{}, errs.Wrap(errs.Invalid, err, "rate card %s: encode", c.ID)
	}
	out, err := scanCard(q.QueryRow(ctx, `INSERT INTO rate_cards (`+cardColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+cardColumns,
		c.ID, c.Version, c.TenantID, c.Name, c.Currency, c.EffectiveFrom, body, c.CreatedAt))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.ConstraintName == "rate_cards_one_card_per_instant" {
		return billing.RateCard{}, billing.ErrSameInstant(c)
	}
	if err != nil {
		return billing.RateCard{}, wrap(err, "postgres: store rate card %s v%d", c.ID, c.Version)
	}
	return out, nil
}

// Create implements billing.RateCards. A duplicate ID is Conflict.
func (s *RateCardStore) Create(ctx context.Context, c billing.RateCard) (billing.RateCard, error) {
	if c.ID == "" {
		c.ID = billing.NewRateCardID()
	}
	c, err := billing.PrepareRateCard(c, 1, s.db.clock())
	if err != nil {
		return billing.RateCard{}, err
	}
	out, err := insertCard(ctx, s.db.pool, c)
	if errs.CodeOf(err) == errs.Conflict {
		return billing.RateCard{}, errs.Wrap(errs.Conflict, err, "rate card %s already exists", c.ID)
	}
	return out, err
}

// Update implements billing.RateCards. The card's updates are serialized by a
// transaction-scoped advisory lock on its id, so each reads the latest version
// before it adds the next. A zero EffectiveFrom is now; the card keeps its tenant.
func (s *RateCardStore) Update(ctx context.Context, c billing.RateCard, now time.Time) (billing.RateCard, error) {
	if c.EffectiveFrom.IsZero() {
		c.EffectiveFrom = now
	}
	c, err := billing.PrepareRateCard(c, 0, s.db.clock())
	if err != nil {
		return billing.RateCard{}, err
	}
	if err := billing.CheckUpdateTime(c, now); err != nil {
		return billing.RateCard{}, err
	}
	var out billing.RateCard
	err = s.db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('rate_card:' || $1, 0))`, c.ID); err != nil {
			return wrap(err, "postgres: lock rate card %s", c.ID)
		}
		var tenantID string
		err := tx.QueryRow(ctx, `SELECT version, tenant_id FROM rate_cards WHERE id = $1 ORDER BY version DESC LIMIT 1`,
			c.ID).Scan(&c.Version, &tenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "rate card %s not found", c.ID)
		}
		if err != nil {
			return wrap(err, "postgres: read rate card %s", c.ID)
		}
		if err := billing.InheritTenant(&c, tenantID); err != nil {
			return err
		}
		c.Version++
		out, err = insertCard(ctx, tx, c)
		return err
	})
	return out, err
}

// Get implements billing.RateCards.
func (s *RateCardStore) Get(ctx context.Context, id string) (billing.RateCard, error) {
	c, err := scanCard(s.db.pool.QueryRow(ctx, `SELECT `+cardColumns+` FROM rate_cards WHERE id = $1
		ORDER BY version DESC LIMIT 1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.RateCard{}, errs.E(errs.NotFound, "rate card %s not found", id)
	}
	return c, wrap(err, "postgres: get rate card %s", id)
}

func (s *RateCardStore) query(ctx context.Context, what, sql string, args ...any) ([]billing.RateCard, error) {
	rows, _ := s.db.pool.Query(ctx, sql, args...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (billing.RateCard, error) { return scanCard(row) })
	if err != nil {
		return nil, wrap(err, "postgres: %s", what)
	}
	if out == nil {
		out = []billing.RateCard{}
	}
	return out, nil
}

// Versions implements billing.RateCards.
func (s *RateCardStore) Versions(ctx context.Context, id string) ([]billing.RateCard, error) {
	out, err := s.query(ctx, "versions of rate card "+id,
		`SELECT `+cardColumns+` FROM rate_cards WHERE id = $1 ORDER BY version`, id)
	if err == nil && len(out) == 0 {
		return nil, errs.E(errs.NotFound, "rate card %s not found", id)
	}
	return out, err
}

// List implements billing.RateCards: sorted by ID (byte-wise: id is COLLATE "C").
func (s *RateCardStore) List(ctx context.Context, tenantID string) ([]billing.RateCard, error) {
	return s.query(ctx, "list rate cards of tenant "+tenantID,
		`SELECT DISTINCT ON (id) `+cardColumns+` FROM rate_cards WHERE $1 = '' OR tenant_id = $1
		ORDER BY id, version DESC`, tenantID)
}

// InForce implements billing.RateCards: an EffectiveFrom tie (versions of one card:
// rate_cards_one_card_per_instant) goes to the highest version; id DESC only makes
// the order total.
func (s *RateCardStore) InForce(ctx context.Context, tenantID string, t time.Time) (billing.RateCard, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return billing.RateCard{}, err
	}
	t = billing.StoreTime(t)
	c, err := scanCard(s.db.pool.QueryRow(ctx, `SELECT `+cardColumns+` FROM rate_cards
		WHERE tenant_id = $1 AND effective_from <= $2 ORDER BY effective_from DESC, version DESC, id DESC LIMIT 1`,
		tenantID, t))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.RateCard{}, errs.E(errs.NotFound, "no rate card in force for tenant %s at %s", tenantID, t.Format(time.RFC3339Nano))
	}
	return c, wrap(err, "postgres: rate card in force for tenant %s", tenantID)
}
