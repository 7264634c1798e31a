package stores

import (
	"fmt"
	"log/slog"

	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Billing returns a billing engine over the stores. Ledger writes go through a
// ledger.Batcher, so concurrent billing steps share database round trips; the
// returned close func flushes it and the engine's charge batches.
// configDir holds the platform's default price list and exchange rates
// (charging.LoadDefaultCard, LoadDefaultFX).
func (s *Stores) Billing(log *slog.Logger, configDir string) (*charging.Engine, func(), error) {
	card, err := charging.LoadDefaultCard(configDir)
	if err != nil {
		return nil, nil, err
	}
	fx, err := charging.LoadDefaultFX(configDir)
	if err != nil {
		return nil, nil, err
	}
	batcher := ledger.NewBatcher(s.Ledger, ledger.BatcherOptions{Logger: log})
	e, err := charging.New(charging.Config{
		Tenants: s.Tenants, Cards: s.RateCards, FX: s.FXRates, Promos: s.Promos, Settings: s.BillingSettings,
		Charges: s.Charges, Wallet: s.Wallet, Ledger: batcher, Volume: s.Volume, Logger: log, DefaultCard: card, DefaultFX: fx,
	})
	if err != nil {
		batcher.Close()
		return nil, nil, fmt.Errorf("billing: %w", err)
	}
	return e, func() { e.Close(); batcher.Close() }, nil
}
