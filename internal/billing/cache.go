package billing

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/readcache"
)

// The billing stores' hot reads, cached (readcache): every message reads its
// tenant's settings twice (authorize, thresholds), the rate card in force and the
// active promos. Writes through these wrappers forget what they change, so this
// process sees them at once; another process's writes are seen within the TTL.

// CachedSettings wraps a SettingsStore so that Get answers from memory for ttl.
func CachedSettings(s SettingsStore, ttl time.Duration) SettingsStore {
	return &cachedSettings{SettingsStore: s, c: readcache.New[string, Settings](ttl)}
}

type cachedSettings struct {
	SettingsStore
	c *readcache.Cache[string, Settings]
}

func (c *cachedSettings) Get(ctx context.Context, tenantID string) (Settings, error) {
	return c.c.Get(ctx, tenantID, func(ctx context.Context) (Settings, error) { return c.SettingsStore.Get(ctx, tenantID) })
}

func (c *cachedSettings) Put(ctx context.Context, s Settings) (Settings, error) {
	defer c.c.Forget(s.TenantID)
	return c.SettingsStore.Put(ctx, s)
}

// Swap forgets the tenant's settings whatever the outcome: after a Conflict the
// caller reads again, and must see the write that won.
func (c *cachedSettings) Swap(ctx context.Context, s Settings) (Settings, error) {
	defer c.c.Forget(s.TenantID)
	return c.SettingsStore.Swap(ctx, s)
}

// CachedRateCards wraps RateCards so that InForce answers from memory for ttl. A
// kept answer serves only later times than it was read for, and none at or after
// the EffectiveFrom of a version written through this wrapper since: that version
// takes over on time.
func CachedRateCards(s RateCards, ttl time.Duration) RateCards {
	return &cachedRateCards{RateCards: s, c: readcache.New[string, inForce](ttl)}
}

type cachedRateCards struct {
	RateCards
	c *readcache.Cache[string, inForce]

	mu       sync.Mutex
	upcoming []time.Time // EffectiveFrom of versions written here and not yet in force
}

type inForce struct {
	card RateCard
	at   time.Time // the time it was read for
}

func (c *cachedRateCards) InForce(ctx context.Context, tenantID string, t time.Time) (RateCard, error) {
	c.mu.Lock()
	if len(c.upcoming) > 0 && !t.Before(c.upcoming[0]) {
		c.upcoming = slices.DeleteFunc(c.upcoming, func(e time.Time) bool { return !t.Before(e) })
		c.c.ForgetAll()
	}
	c.mu.Unlock()
	f, err := c.c.Get(ctx, tenantID, func(ctx context.Context) (inForce, error) {
		card, err := c.RateCards.InForce(ctx, tenantID, t)
		return inForce{card: card, at: t}, err
	})
	if t.Before(f.at) {
		// An earlier time than the kept answer's (a contract's past period): ask.
		return c.RateCards.InForce(ctx, tenantID, t)
	}
	return f.card, err
}

func (c *cachedRateCards) Create(ctx context.Context, card RateCard) (RateCard, error) {
	out, err := c.RateCards.Create(ctx, card)
	c.written(out.EffectiveFrom)
	return out, err
}

func (c *cachedRateCards) Update(ctx context.Context, card RateCard, now time.Time) (RateCard, error) {
	out, err := c.RateCards.Update(ctx, card, now)
	c.written(out.EffectiveFrom)
	return out, err
}

func (c *cachedRateCards) written(effective time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.ForgetAll()
	if !effective.IsZero() {
		c.upcoming = append(c.upcoming, effective)
		slices.SortFunc(c.upcoming, time.Time.Compare)
	}
}

// CachedPromos wraps Promos so that Active answers from memory for ttl, filtered by
// expiry at the time asked. A redemption through it forgets its tenant's answer
// (the uses changed), so what it keeps is mostly "no promos": the common case.
func CachedPromos(s Promos, ttl time.Duration) Promos {
	return &cachedPromos{Promos: s, c: readcache.New[string, activePromos](ttl)}
}

type cachedPromos struct {
	Promos
	c *readcache.Cache[string, activePromos]
}

type activePromos struct {
	promos []Promo
	at     time.Time
}

func (c *cachedPromos) Active(ctx context.Context, tenantID string, t time.Time) ([]Promo, error) {
	a, err := c.c.Get(ctx, tenantID, func(ctx context.Context) (activePromos, error) {
		ps, err := c.Promos.Active(ctx, tenantID, t)
		return activePromos{promos: ps, at: t}, err
	})
	if err != nil || t.Before(a.at) {
		return c.Promos.Active(ctx, tenantID, t)
	}
	out := []Promo{}
	for _, p := range a.promos {
		if PromoUsable(p, t) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *cachedPromos) Create(ctx context.Context, p Promo) (Promo, error) {
	defer c.c.Forget(p.TenantID)
	return c.Promos.Create(ctx, p)
}

func (c *cachedPromos) Redeem(ctx context.Context, code, tenantID, key string, t time.Time) (int64, bool, error) {
	defer c.c.Forget(tenantID)
	return c.Promos.Redeem(ctx, code, tenantID, key, t)
}
