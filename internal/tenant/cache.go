package tenant

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/readcache"
)

// Cached wraps a Store so that Authenticate and GetTenant, read for every request
// and every billed message, answer from memory for up to ttl (readcache). Writes go
// to the store and forget what they change: in this process they are seen at once,
// in another within ttl — so a key revoked or a tenant suspended elsewhere keeps
// working here for at most ttl.
func Cached(s Store, ttl time.Duration) Store {
	return &cached{Store: s, keys: readcache.New[string, authenticated](ttl), tenants: readcache.New[string, Tenant](ttl)}
}

type cached struct {
	Store
	keys    *readcache.Cache[string, authenticated] // by hex key hash
	tenants *readcache.Cache[string, Tenant]
}

type authenticated struct {
	t Tenant
	k APIKey
}

func (c *cached) Authenticate(ctx context.Context, keyHash []byte, now time.Time) (Tenant, APIKey, error) {
	if len(keyHash) == 0 {
		return c.Store.Authenticate(ctx, keyHash, now)
	}
	k := hex.EncodeToString(keyHash)
	a, err := c.keys.Get(ctx, k, func(ctx context.Context) (authenticated, error) {
		t, k, err := c.Store.Authenticate(ctx, keyHash, now)
		return authenticated{t, k}, err
	})
	if err != nil {
		return Tenant{}, APIKey{}, err
	}
	if a.k.ExpiresAt != nil && !a.k.ExpiresAt.After(now) {
		// Expired since it was kept: the store has the final word (and says so).
		c.keys.Forget(k)
		return c.Store.Authenticate(ctx, keyHash, now)
	}
	return a.t, a.k, nil
}

func (c *cached) GetTenant(ctx context.Context, id string) (Tenant, error) {
	return c.tenants.Get(ctx, id, func(ctx context.Context) (Tenant, error) { return c.Store.GetTenant(ctx, id) })
}

func (c *cached) CreateTenant(ctx context.Context, t Tenant, key APIKey) (Tenant, error) {
	out, err := c.Store.CreateTenant(ctx, t, key)
	c.tenants.Forget(out.ID) // a NotFound kept before it existed
	return out, err
}

func (c *cached) UpdateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	defer c.forget(t.ID)
	return c.Store.UpdateTenant(ctx, t)
}

func (c *cached) DeleteTenant(ctx context.Context, id string) error {
	defer c.forget(id)
	return c.Store.DeleteTenant(ctx, id)
}

func (c *cached) RotateKey(ctx context.Context, key APIKey, graceUntil time.Time, by string) error {
	defer c.forget(key.TenantID)
	return c.Store.RotateKey(ctx, key, graceUntil, by)
}

// forget drops a tenant and every kept key (keys are kept by hash, not by tenant;
// writes are rare enough that starting over costs nothing).
func (c *cached) forget(id string) {
	c.tenants.Forget(id)
	c.keys.ForgetAll()
}
