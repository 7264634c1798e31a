package tenant

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// HashKey is the stored form of an API key. Keys carry 256 random bits, so an
// unsalted SHA-256 is enough: there is nothing to brute-force.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// AuthenticateKey is the one check of an API key, shared by the REST API and the
// broker ingress: it resolves secret to its tenant and key at now (the key says
// whether it is in its grace: such a key may not rotate, Store.RotateKey). An
// unknown, expired or revoked key is Unauthenticated; a suspended tenant's key is
// PermissionDenied; a store failure keeps its own code (Unavailable, Internal).
func AuthenticateKey(ctx context.Context, s Store, secret string, now time.Time) (Tenant, APIKey, error) {
	if s == nil {
		return Tenant{}, APIKey{}, errs.E(errs.Unavailable, "tenant store not configured")
	}
	if secret == "" {
		return Tenant{}, APIKey{}, errs.E(errs.Unauthenticated, "missing Authorization: Bearer <api key>")
	}
	t, k, err := s.Authenticate(ctx, HashKey(secret), now)
	if errs.CodeOf(err) == errs.NotFound {
		return Tenant{}, APIKey{}, errs.E(errs.Unauthenticated, "invalid or expired API key")
	}
	if err != nil {
		return Tenant{}, APIKey{}, err
	}
	if t.Status == Suspended {
		return Tenant{}, APIKey{}, errs.E(errs.PermissionDenied, "tenant %s is suspended", t.ID)
	}
	return t, k, nil
}
