package inmem

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// billingStores holds the billing stores of one DB (one field in DB, so inmem.go
// stays as it was).
type billingStores struct {
	rateCards *RateCardStore
	fx        *FXRateStore
	promos    *PromoStore
	settings  *SettingsStore
	charges   *ChargeStore
}

func newBillingStores(now func() time.Time) *billingStores {
	return &billingStores{
		rateCards: &RateCardStore{now: now, cards: map[string][]storedCard{}},
		fx:        &FXRateStore{now: now, rates: map[fxPair][]billing.FXRate{}},
		promos:    &PromoStore{now: now, promos: map[string]*billing.Promo{}, redemptions: map[redemptionKey]int64{}},
		settings:  &SettingsStore{now: now, byTenant: map[string]billing.Settings{}},
		charges:   &ChargeStore{now: now, byID: map[chargeKey]*storedCharge{}},
	}
}

// RateCards returns the rate card store.
func (db *DB) RateCards() billing.RateCards { return db.billing.rateCards }

// FXRates returns the exchange rate store.
func (db *DB) FXRates() billing.FXRates { return db.billing.fx }

// Promos returns the promo code store.
func (db *DB) Promos() billing.Promos { return db.billing.promos }

// BillingSettings returns the tenants' balance settings.
func (db *DB) BillingSettings() billing.SettingsStore { return db.billing.settings }

// Charges returns the charge records.
func (db *DB) Charges() billing.Charges { return db.billing.charges }

// money is d as postgres returns a NUMERIC: the canonical decimal of its text form,
// without trailing zeros, so both adapters hand out identical values.
func money(d decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return decimal.Zero
	}
	return ledger.Normalize(decimal.RequireFromString(d.String()))
}

// RateCardStore is billing.RateCards in memory: every version of every card, kept
// as the JSON postgres keeps in rate_cards.body, so reads decode the same values.
type RateCardStore struct {
	now   func() time.Time
	mu    sync.Mutex
	cards map[string][]storedCard // id → versions, oldest first
}

type storedCard struct {
	card billing.RateCard // the columns: ID, Version, TenantID, times
	body []byte
}

var _ billing.RateCards = (*RateCardStore)(nil)

func encodeCard(c billing.RateCard) (storedCard, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return storedCard{}, errs.Wrap(errs.Invalid, err, "rate card %s: encode", c.ID)
	}
	return storedCard{card: c, body: body}, nil
}

// decode returns the stored card, its columns winning over the body.
func (sc storedCard) decode() billing.RateCard {
	var c billing.RateCard
	_ = json.Unmarshal(sc.body, &c) // encoded by encodeCard
	c.ID, c.Version, c.TenantID, c.Name, c.Currency = sc.card.ID, sc.card.Version, sc.card.TenantID, sc.card.Name, sc.card.Currency
	c.EffectiveFrom, c.CreatedAt = sc.card.EffectiveFrom, sc.card.CreatedAt
	return c
}

// Create implements billing.RateCards.
func (s *RateCardStore) Create(_ context.Context, c billing.RateCard) (billing.RateCard, error) {
	if c.ID == "" {
		c.ID = billing.NewRateCardID()
	}
	c, err := billing.PrepareRateCard(c, 1, s.now())
	if err != nil {
		return billing.RateCard{}, err
	}
	sc, err := encodeCard(c)
	if err != nil {
		return billing.RateCard{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cards[c.ID]; ok {
		return billing.RateCard{}, errs.E(errs.Conflict, "rate card %s already exists", c.ID)
	}
	if err := s.checkInstant(c); err != nil {
		return billing.RateCard{}, err
	}
	s.cards[c.ID] = []storedCard{sc}
	return sc.decode(), nil
}

// Update implements billing.RateCards; see postgres.RateCardStore.Update.
func (s *RateCardStore) Update(_ context.Context, c billing.RateCard, now time.Time) (billing.RateCard, error) {
	if c.EffectiveFrom.IsZero() {
		c.EffectiveFrom = now
	}
	c, err := billing.PrepareRateCard(c, 0, s.now())
	if err != nil {
		return billing.RateCard{}, err
	}
	if err := billing.CheckUpdateTime(c, now); err != nil {
		return billing.RateCard{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.cards[c.ID]
	if !ok {
		return billing.RateCard{}, cardNotFound(c.ID)
	}
	last := versions[len(versions)-1].card
	if err := billing.InheritTenant(&c, last.TenantID); err != nil {
		return billing.RateCard{}, err
	}
	if err := s.checkInstant(c); err != nil {
		return billing.RateCard{}, err
	}
	c.Version = last.Version + 1
	sc, err := encodeCard(c)
	if err != nil {
		return billing.RateCard{}, err
	}
	s.cards[c.ID] = append(versions, sc)
	return sc.decode(), nil
}

// checkInstant refuses c when another card of its tenant has a version effective at
// the same instant, as postgres's rate_cards_one_card_per_instant does. Callers hold
// mu.
func (s *RateCardStore) checkInstant(c billing.RateCard) error {
	for id, versions := range s.cards {
		if id == c.ID {
			continue
		}
		for _, v := range versions {
			if v.card.TenantID == c.TenantID && v.card.EffectiveFrom.Equal(c.EffectiveFrom) {
				return billing.ErrSameInstant(c)
			}
		}
	}
	return nil
}

func cardNotFound(id string) error { return errs.E(errs.NotFound, "rate card %s not found", id) }

// Get implements billing.RateCards.
func (s *RateCardStore) Get(_ context.Context, id string) (billing.RateCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.cards[id]
	if !ok {
		return billing.RateCard{}, cardNotFound(id)
	}
	return versions[len(versions)-1].decode(), nil
}

// Versions implements billing.RateCards.
func (s *RateCardStore) Versions(_ context.Context, id string) ([]billing.RateCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.cards[id]
	if !ok {
		return nil, cardNotFound(id)
	}
	out := make([]billing.RateCard, len(versions))
	for i, v := range versions {
		out[i] = v.decode()
	}
	return out, nil
}

// List implements billing.RateCards: sorted by ID, byte-wise.
func (s *RateCardStore) List(_ context.Context, tenantID string) ([]billing.RateCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []billing.RateCard{}
	for _, versions := range s.cards {
		if last := versions[len(versions)-1]; tenantID == "" || last.card.TenantID == tenantID {
			out = append(out, last.decode())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// InForce implements billing.RateCards: the latest EffectiveFrom <= t, then the
// highest version, then the greatest ID (as postgres orders them).
func (s *RateCardStore) InForce(_ context.Context, tenantID string, t time.Time) (billing.RateCard, error) {
	if err := billing.CheckTenantID(tenantID); err != nil {
		return billing.RateCard{}, err
	}
	t = billing.StoreTime(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *storedCard
	for _, versions := range s.cards {
		for i := range versions {
			v := &versions[i]
			if v.card.TenantID != tenantID || v.card.EffectiveFrom.After(t) {
				continue
			}
			if best == nil || cardNewer(v.card, best.card) {
				best = v
			}
		}
	}
	if best == nil {
		return billing.RateCard{}, errs.E(errs.NotFound, "no rate card in force for tenant %s at %s", tenantID, t.Format(time.RFC3339Nano))
	}
	return best.decode(), nil
}

func cardNewer(a, b billing.RateCard) bool {
	switch {
	case !a.EffectiveFrom.Equal(b.EffectiveFrom):
		return a.EffectiveFrom.After(b.EffectiveFrom)
	case a.Version != b.Version:
		return a.Version > b.Version
	}
	return a.ID > b.ID
}

// FXRateStore is billing.FXRates in memory: each pair's rates by ValidFrom.
type FXRateStore struct {
	now   func() time.Time
	mu    sync.Mutex
	rates map[fxPair][]billing.FXRate // sorted by ValidFrom
}

type fxPair struct{ from, to string }

var _ billing.FXRates = (*FXRateStore)(nil)

// Put implements billing.FXRates.
func (s *FXRateStore) Put(_ context.Context, r billing.FXRate) (billing.FXRate, error) {
	r, err := billing.PrepareFXRate(r, s.now())
	if err != nil {
		return billing.FXRate{}, err
	}
	r.Rate = money(r.Rate)
	k := fxPair{r.From, r.To}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.rates[k]
	i := sort.Search(len(rs), func(i int) bool { return !rs[i].ValidFrom.Before(r.ValidFrom) })
	if i < len(rs) && rs[i].ValidFrom.Equal(r.ValidFrom) {
		rs[i] = r
	} else {
		rs = append(rs[:i], append([]billing.FXRate{r}, rs[i:]...)...)
	}
	s.rates[k] = rs
	return r, nil
}

// Rate implements billing.FXRates.
func (s *FXRateStore) Rate(_ context.Context, from, to string, t time.Time) (billing.FXRate, error) {
	if err := billing.CheckRateQuery(from, to); err != nil {
		return billing.FXRate{}, err
	}
	if from == to {
		return billing.FXRate{From: from, To: to, Rate: decimal.NewFromInt(1)}, nil
	}
	t = billing.StoreTime(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.rates[fxPair{from, to}]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].ValidFrom.After(t) })
	if i == 0 {
		return billing.FXRate{}, errs.E(errs.NotFound, "no %s → %s rate valid at %s", from, to, t.Format(time.RFC3339Nano))
	}
	return rs[i-1], nil
}
