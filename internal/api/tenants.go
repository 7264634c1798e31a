package api

import (
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/currency"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

const maxTenantBody = 16 << 10

// tenantInput is the body of POST and PUT /api/v2/tenants.
type tenantInput struct {
	Name     string        `json:"name"`
	Email    string        `json:"email"`
	Currency string        `json:"currency"`
	Status   tenant.Status `json:"status,omitempty"` // PUT only: active or suspended
}

// validate reports every problem with its field.
func (in *tenantInput) validate(update bool) error {
	var fields []errs.FieldViolation
	bad := func(field, reason string) { fields = append(fields, errs.FieldViolation{Field: field, Reason: reason}) }
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 200 {
		bad("name", "required, at most 200 characters")
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || a.Name != "" {
		bad("email", "must be a plain e-mail address such as ops@example.com")
	}
	if u, err := currency.ParseISO(in.Currency); err != nil || u.String() != in.Currency {
		bad("currency", "must be an ISO 4217 code in upper case, such as EUR or USD")
	}
	switch {
	case !update && in.Status != "":
		bad("status", "cannot be set at creation; a new tenant is active")
	case update && in.Status == "":
		in.Status = tenant.Active
	case update && in.Status != tenant.Active && in.Status != tenant.Suspended:
		bad("status", "must be active or suspended")
	}
	if len(fields) > 0 {
		return &errs.Error{Code: errs.Unprocessable, Message: "invalid tenant", Fields: fields}
	}
	return nil
}

// readTenantInput reads, decodes and validates a tenant body.
func readTenantInput(w http.ResponseWriter, r *http.Request, update bool) (tenantInput, error) {
	var in tenantInput
	body, err := readBody(w, r, maxTenantBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	if err == nil {
		err = in.validate(update)
	}
	return in, err
}

// createdTenant is the answer to POST /api/v2/tenants: the tenant and its first key,
// whose secret is never shown again.
type createdTenant struct {
	tenant.Tenant
	APIKey       string `json:"api_key"`
	APIKeyID     string `json:"api_key_id"`
	APIKeyPrefix string `json:"api_key_prefix"`
}

func (s *Server) tenantStore(w http.ResponseWriter, r *http.Request) tenant.Store {
	if s.opts.Tenants == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "tenant store not configured"))
	}
	return s.opts.Tenants
}

func (s *Server) newKey(tenantID string) (string, tenant.APIKey) {
	secret, hash, prefix := NewAPIKey()
	return secret, tenant.APIKey{ID: uuid.NewString(), TenantID: tenantID, Prefix: prefix, Hash: hash, CreatedAt: s.opts.Now().UTC()}
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) {
	store := s.tenantStore(w, r)
	if store == nil {
		return
	}
	in, err := readTenantInput(w, r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := uuid.NewString()
	secret, key := s.newKey(id)
	t, err := store.CreateTenant(r.Context(), tenant.Tenant{ID: id, Name: in.Name, Email: in.Email, Currency: in.Currency, Status: tenant.Active}, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "tenant created", "tenant_id", t.ID, "api_key_prefix", key.Prefix)
	w.Header().Set("Location", "/api/v2/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, createdTenant{Tenant: t, APIKey: secret, APIKeyID: key.ID, APIKeyPrefix: key.Prefix})
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) {
	store := s.tenantStore(w, r)
	if store == nil {
		return
	}
	t, err := store.GetTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) {
	store := s.tenantStore(w, r)
	if store == nil {
		return
	}
	in, err := readTenantInput(w, r, true)
	if err == nil {
		err = s.checkCurrencyChange(r, r.PathValue("id"), in.Currency)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := store.UpdateTenant(r.Context(), tenant.Tenant{ID: r.PathValue("id"), Name: in.Name, Email: in.Email, Currency: in.Currency, Status: in.Status})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// checkCurrencyChange refuses to change a tenant's currency while it holds money in
// the old one: its balance would silently read zero in the new currency.
func (s *Server) checkCurrencyChange(r *http.Request, id, currency string) error {
	current, err := s.opts.Tenants.GetTenant(r.Context(), id)
	if err != nil || current.Currency == currency || s.opts.Ledger == nil {
		return err
	}
	b, err := s.opts.Ledger.Balance(r.Context(), id, current.Currency)
	if err != nil {
		return err
	}
	if !b.Amount.IsZero() {
		return &errs.Error{Code: errs.Unprocessable, Message: "invalid tenant", Fields: []errs.FieldViolation{{
			Field: "currency", Reason: "cannot change while the balance in " + current.Currency + " is not zero"}}}
	}
	return nil
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) {
	store := s.tenantStore(w, r)
	if store == nil {
		return
	}
	if err := store.DeleteTenant(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotatedKey is the answer to POST /api/v2/tenants/{id}/api-keys.
type rotatedKey struct {
	KeyID                string    `json:"key_id"`
	APIKey               string    `json:"api_key"`
	Prefix               string    `json:"prefix"`
	CreatedAt            time.Time `json:"created_at"`
	PreviousKeysExpireAt time.Time `json:"previous_keys_expire_at"`
}

func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) {
	store := s.tenantStore(w, r)
	if store == nil {
		return
	}
	id := r.PathValue("id")
	if _, err := store.GetTenant(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, key := s.newKey(id)
	grace := key.CreatedAt.Add(s.opts.KeyGrace)
	// A tenant's key rotates as itself; the store refuses a key in its grace.
	if err := store.RotateKey(r.Context(), key, grace, apiKeyFrom(r.Context()).ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "api key rotated", "tenant_id", id, "api_key_prefix", key.Prefix, "previous_expire_at", grace)
	writeJSON(w, http.StatusCreated, rotatedKey{KeyID: key.ID, APIKey: secret, Prefix: key.Prefix, CreatedAt: key.CreatedAt, PreviousKeysExpireAt: grace})
}
