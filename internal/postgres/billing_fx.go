package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// FXRateStore is billing.FXRates on fx_rates.
type FXRateStore struct{ db *DB }

var _ billing.FXRates = (*FXRateStore)(nil)

// FXRates returns the exchange rate store.
func (db *DB) FXRates() billing.FXRates { return &FXRateStore{db: db} }

func scanFX(row pgx.Row) (billing.FXRate, error) {
	var r billing.FXRate
	var rate string
	if err := row.Scan(&r.From, &r.To, &r.ValidFrom, &rate, &r.CreatedAt); err != nil {
		return billing.FXRate{}, err
	}
	var err error
	r.Rate, err = parseMoney(rate)
	r.ValidFrom, r.CreatedAt = r.ValidFrom.UTC(), r.CreatedAt.UTC()
	return r, err
}

const fxColumns = "from_currency, to_currency, valid_from, rate::text, created_at"

// Put implements billing.FXRates.
func (s *FXRateStore) Put(ctx context.Context, r billing.FXRate) (billing.FXRate, error) {
	r, err := billing.PrepareFXRate(r, s.db.clock())
	if err != nil {
		return billing.FXRate{}, err
	}
	out, err := scanFX(s.db.pool.QueryRow(ctx, `INSERT INTO fx_rates (from_currency, to_currency, valid_from, rate, created_at)
		VALUES ($1, $2, $3, $4::numeric, $5)
		ON CONFLICT (from_currency, to_currency, valid_from) DO UPDATE SET rate = EXCLUDED.rate, created_at = EXCLUDED.created_at
		RETURNING `+fxColumns, r.From, r.To, r.ValidFrom, r.Rate.String(), r.CreatedAt))
	return out, wrap(err, "postgres: put fx rate %s → %s", r.From, r.To)
}

// Rate implements billing.FXRates.
func (s *FXRateStore) Rate(ctx context.Context, from, to string, t time.Time) (billing.FXRate, error) {
	if err := billing.CheckRateQuery(from, to); err != nil {
		return billing.FXRate{}, err
	}
	if from == to {
		return billing.FXRate{From: from, To: to, Rate: decimal.NewFromInt(1)}, nil
	}
	t = billing.StoreTime(t)
	r, err := scanFX(s.db.pool.QueryRow(ctx, `SELECT `+fxColumns+` FROM fx_rates
		WHERE from_currency = $1 AND to_currency = $2 AND valid_from <= $3 ORDER BY valid_from DESC LIMIT 1`, from, to, t))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.FXRate{}, errs.E(errs.NotFound, "no %s → %s rate valid at %s", from, to, t.Format(time.RFC3339Nano))
	}
	return r, wrap(err, "postgres: fx rate %s → %s", from, to)
}
