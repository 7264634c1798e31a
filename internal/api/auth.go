package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// KeyPrefix starts every API key, so a leaked key is recognisable (secret scanners).
const KeyPrefix = "ck_"

// NewAPIKey returns a fresh secret (shown to its owner once) and its stored form.
func NewAPIKey() (secret string, hash []byte, display string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux (Go 1.24+ panics instead)
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashAPIKey(secret), secret[:len(KeyPrefix)+6]
}

// HashAPIKey is the stored form of a key (tenant.HashKey).
func HashAPIKey(secret string) []byte { return tenant.HashKey(secret) }

type ctxKey int

const (
	tenantKey ctxKey = iota
	apiKeyKey
)

// tenantFrom is the authenticated tenant of a request that passed s.tenant.
func tenantFrom(ctx context.Context) tenant.Tenant {
	t, _ := ctx.Value(tenantKey).(tenant.Tenant)
	return t
}

// apiKeyFrom is the API key a request that passed s.tenant authenticated with.
func apiKeyFrom(ctx context.Context) tenant.APIKey {
	k, _ := ctx.Value(apiKeyKey).(tenant.APIKey)
	return k
}

func bearer(r *http.Request) (string, bool) {
	return tenant.BearerToken(r.Header.Get("Authorization"))
}

func (s *Server) isAdmin(r *http.Request) bool {
	token, ok := bearer(r)
	return ok && s.opts.AdminToken != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AdminToken)) == 1
}

// authenticate resolves the request's API key to its tenant and key
// (tenant.AuthenticateKey, the check the broker ingress makes too).
func (s *Server) authenticate(r *http.Request) (tenant.Tenant, tenant.APIKey, error) {
	token, _ := bearer(r)
	return tenant.AuthenticateKey(r.Context(), s.opts.Tenants, token, s.opts.Now())
}

// admin lets only the admin token through.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(r) {
			s.writeError(w, r, errs.E(errs.Unauthenticated, "admin token required"))
			return
		}
		h(w, r)
	})
}

// tenant lets a request with a valid API key through, its tenant in the context.
func (s *Server) tenant(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, k, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), tenantKey, t), apiKeyKey, k)
		h(w, r.WithContext(ctx))
	})
}

// adminOrTenant admits the admin (no tenant in the context: every tenant's data) or
// a tenant's API key (its tenant in the context: only its own data). Unlike
// adminOrSelf there is no tenant in the path; the handler scopes by tenantFrom.
func (s *Server) adminOrTenant(h http.HandlerFunc) http.Handler {
	asTenant := s.tenant(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.isAdmin(r) {
			h(w, r)
			return
		}
		asTenant.ServeHTTP(w, r)
	})
}

// adminOrSelf admits the admin, or a tenant acting on its own id (the path value
// param). Another tenant's id answers 404, exactly as an unknown id would: a tenant
// cannot even learn that another tenant exists.
func (s *Server) adminOrSelf(param string, h http.HandlerFunc) http.Handler {
	return s.adminOrTenant(func(w http.ResponseWriter, r *http.Request) {
		if t := tenantFrom(r.Context()); t.ID != "" && t.ID != r.PathValue(param) {
			s.writeError(w, r, errs.E(errs.NotFound, "tenant %s not found", r.PathValue(param)))
			return
		}
		h(w, r)
	})
}
