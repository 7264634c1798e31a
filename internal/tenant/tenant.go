// Package tenant is the tenant and API-key domain: a tenant owns messages, balances and
// keys; a request is authenticated by exactly one API key, stored hashed. Adapters
// (internal/postgres, internal/inmem) implement Store and pass storetest's contract.
package tenant

import (
	"context"
	"time"
)

// Status is a tenant's lifecycle state.
type Status string

const (
	Active    Status = "active"
	Suspended Status = "suspended"
	Deleted   Status = "deleted"
)

// Tenant is one customer of the platform.
type Tenant struct {
	ID       string `json:"tenant_id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Currency string `json:"currency"` // ISO 4217, upper case: the tenant's billing currency
	Status   Status `json:"status"`
	// CreatedAt and UpdatedAt are set by the store (UTC, microsecond precision).
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// APIKey is one credential. The secret is shown once, at creation; only its SHA-256
// hash is stored, and Prefix (the first characters) identifies it to humans.
type APIKey struct {
	ID        string     `json:"key_id"`
	TenantID  string     `json:"tenant_id"`
	Prefix    string     `json:"prefix"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // nil: valid until rotated away
}

// Store persists tenants and keys. Every method returns an *errs.Error with code
// NotFound for an unknown (or deleted) tenant, Conflict for a duplicate id.
type Store interface {
	// CreateTenant stores a new tenant together with its first key, atomically.
	CreateTenant(ctx context.Context, t Tenant, key APIKey) (Tenant, error)
	// GetTenant returns a tenant that is not deleted.
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// UpdateTenant replaces name, email, currency and status of a tenant that is not
	// deleted and returns the stored result.
	UpdateTenant(ctx context.Context, t Tenant) (Tenant, error)
	// DeleteTenant marks the tenant deleted and expires every key at once.
	DeleteTenant(ctx context.Context, id string) error
	// RotateKey adds key to its tenant and makes every other key of that tenant
	// expire at graceUntil (keys already expiring sooner keep their earlier time).
	// by is the id of the tenant's key asking for it ("" for the admin): a key that
	// has an expiry (rotated away, in its grace) or is not the tenant's is refused
	// with PermissionDenied and nothing changes — checked under the rotation's lock,
	// so no key it minted outlives it, even when rotations race or a replica's read
	// cache still holds it unexpired.
	RotateKey(ctx context.Context, key APIKey, graceUntil time.Time, by string) error
	// Authenticate finds the tenant owning the key with this hash, if the key has not
	// expired at now and the tenant is not deleted.
	Authenticate(ctx context.Context, keyHash []byte, now time.Time) (Tenant, APIKey, error)
}
