package charging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// DefaultFXFile holds the platform's default exchange rates in the config directory.
const DefaultFXFile = "fx-rates.json"

// fxFile is config/fx-rates.json.
type fxFile struct {
	Comment   string    `json:"comment"`
	ValidFrom time.Time `json:"valid_from"`
	Rates     []struct {
		From string `json:"from"`
		To   string `json:"to"`
		Rate string `json:"rate"`
	} `json:"rates"`
}

// LoadDefaultFX reads the platform's default exchange rates from dir/fx-rates.json
// (nil, nil when there is none): the rates a tenant is priced with when the store
// has none for the pair. Each is checked as the FX store checks a rate, and every
// problem is reported with its JSON path.
func LoadDefaultFX(dir string) ([]billing.FXRate, error) {
	path := filepath.Join(dir, DefaultFXFile)
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: default FX rates: %w", err)
	}
	var f fxFile
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("billing: %s: %w", path, err)
	}
	var bad []errs.FieldViolation
	if f.ValidFrom.IsZero() {
		bad = append(bad, errs.FieldViolation{Field: "valid_from", Reason: "required: the date the rates are from"})
	}
	seen := map[[2]string]bool{}
	out := make([]billing.FXRate, 0, len(f.Rates))
	for i, r := range f.Rates {
		at := fmt.Sprintf("rates[%d].", i)
		for _, c := range []struct{ field, code string }{{"from", r.From}, {"to", r.To}} {
			if err := ledger.CheckCurrency(c.code); err != nil {
				bad = append(bad, errs.FieldViolation{Field: at + c.field, Reason: err.Error()})
			}
		}
		rate, err := ledger.ParseAmount(r.Rate)
		switch {
		case err != nil:
			bad = append(bad, errs.FieldViolation{Field: at + "rate", Reason: err.Error()})
		case !rate.IsPositive():
			bad = append(bad, errs.FieldViolation{Field: at + "rate", Reason: "must be greater than zero"})
		}
		k := [2]string{r.From, r.To}
		switch {
		case r.From == r.To:
			bad = append(bad, errs.FieldViolation{Field: at + "to", Reason: "same as from"})
		case seen[k]:
			bad = append(bad, errs.FieldViolation{Field: at + "to", Reason: "a second rate for " + r.From + "→" + r.To})
		}
		seen[k] = true
		out = append(out, billing.FXRate{From: r.From, To: r.To, Rate: rate, ValidFrom: f.ValidFrom.UTC()})
	}
	if len(bad) > 0 {
		return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("billing: %s: %s %s", path, bad[0].Field, bad[0].Reason), Fields: bad}
	}
	return out, nil
}

// fxRate is the rate from → to at t: the store's (a rate set by the operator always
// wins), else the platform's default for the pair once it is valid.
func (e *Engine) fxRate(ctx context.Context, from, to string, t time.Time) (billing.FXRate, error) {
	r, err := e.cfg.FX.Rate(ctx, from, to, t)
	if errs.CodeOf(err) != errs.NotFound {
		return r, err
	}
	for _, d := range e.cfg.DefaultFX {
		if d.From == from && d.To == to && !t.Before(d.ValidFrom) {
			return d, nil
		}
	}
	return r, err
}

// cardInForce is the rate card pricing the tenant's messages at t: its own, else the
// platform's price list once in force (NotFound when neither).
func (e *Engine) cardInForce(ctx context.Context, tenantID string, t time.Time) (billing.RateCard, error) {
	card, err := e.cfg.Cards.InForce(ctx, tenantID, t)
	if errs.CodeOf(err) == errs.NotFound && e.cfg.DefaultCard != nil && !t.Before(e.cfg.DefaultCard.EffectiveFrom) {
		return *e.cfg.DefaultCard, nil
	}
	return card, err
}

// Priceable says why a message on channel could not be priced for the tenant now
// (Unprocessable, naming the field), or nil: a rate card is in force with a rate for
// the channel, and its currency converts to the tenant's. The API refuses such a send
// (422) instead of accepting it for billing to decline as no_rate.
func (e *Engine) Priceable(ctx context.Context, tenantID, channel string) error {
	now := e.cfg.Now()
	t, err := e.cfg.Tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	refuse := func(field, reason string) error {
		return &errs.Error{Code: errs.Unprocessable, Message: "the message cannot be priced: " + reason,
			Fields: []errs.FieldViolation{{Field: field, Reason: reason}}}
	}
	card, err := e.cardInForce(ctx, t.ID, now)
	if errs.CodeOf(err) == errs.NotFound {
		return refuse("channel", "no rate card is in force for the tenant, and the platform has no price list")
	}
	if err != nil {
		return err
	}
	if _, ok := card.Rates[channel]; !ok {
		return refuse("channel", fmt.Sprintf("the rate card in force (%s v%d) has no %s rate", card.ID, card.Version, channel))
	}
	if card.Currency == t.Currency {
		return nil
	}
	_, err = e.fxRate(ctx, card.Currency, t.Currency, now)
	if errs.CodeOf(err) == errs.NotFound {
		return refuse("currency", fmt.Sprintf("no exchange rate from the rate card's %s to the tenant's %s (set one: PUT /api/v2/fx-rates)", card.Currency, t.Currency))
	}
	return err
}
