package api

import (
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// balanceView is a balance with amounts as decimal strings (never JSON numbers: a
// float would lose digits).
type balanceView struct {
	TenantID  string `json:"tenant_id"`
	Currency  string `json:"currency"`
	Amount    string `json:"amount"`
	Blocked   string `json:"blocked"`
	Available string `json:"available"`
}

func viewOf(b ledger.Balance) balanceView {
	return balanceView{TenantID: b.TenantID, Currency: b.Currency,
		Amount: ledger.Format(b.Amount), Blocked: ledger.Format(b.Blocked), Available: ledger.Format(b.Available)}
}

// topupInput is the body of POST /api/v2/balances/{tenant_id}/topup.
type topupInput struct {
	Amount    string `json:"amount"`
	Currency  string `json:"currency,omitempty"` // defaults to the tenant's; must equal it
	Reference string `json:"reference,omitempty"`
}

// topupView answers a top-up.
type topupView struct {
	TransactionID string      `json:"transaction_id"`
	Amount        string      `json:"amount"`
	Currency      string      `json:"currency"`
	Reference     string      `json:"reference,omitempty"`
	Balance       balanceView `json:"balance"`
}

// ledgerTenant is the tenant of a balance request ({tenant_id}), once the ledger and
// tenant stores are known to be configured.
func (s *Server) ledgerTenant(r *http.Request) (tenant.Tenant, error) {
	if s.opts.Ledger == nil || s.opts.Tenants == nil {
		return tenant.Tenant{}, errs.E(errs.Unavailable, "ledger not configured")
	}
	return s.opts.Tenants.GetTenant(r.Context(), r.PathValue("tenant_id"))
}

func (s *Server) getBalance(w http.ResponseWriter, r *http.Request) {
	t, err := s.ledgerTenant(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.opts.Ledger.Balance(r.Context(), t.ID, t.Currency)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(b))
}

// topup credits a tenant's balance in its currency. The Idempotency-Key header is
// required and becomes the ledger key: a retried top-up is recorded once (answered 200
// with the first transaction), the same key with another amount is a conflict.
func (s *Server) topup(w http.ResponseWriter, r *http.Request) {
	t, err := s.ledgerTenant(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var in topupInput
	body, err := readBody(w, r, maxTenantBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var fields []errs.FieldViolation
	bad := func(field, reason string) { fields = append(fields, errs.FieldViolation{Field: field, Reason: reason}) }
	if key == "" || len(key) > maxIdempotencyKey {
		bad("Idempotency-Key", "required (1 to 255 characters): a retried top-up must not credit twice")
	}
	amount, err := ledger.ParseAmount(in.Amount)
	if err != nil {
		bad("amount", "must be a decimal string such as \"10.50\" with at most 18 fractional digits")
	} else if !amount.GreaterThan(decimal.Zero) {
		bad("amount", "must be greater than zero")
	}
	if in.Currency == "" {
		in.Currency = t.Currency
	} else if in.Currency != t.Currency {
		bad("currency", "must be the tenant's currency, "+t.Currency)
	}
	if len(in.Reference) > 255 {
		bad("reference", "at most 255 characters")
	}
	if len(fields) > 0 {
		s.writeError(w, r, &errs.Error{Code: errs.Unprocessable, Message: "invalid top-up", Fields: fields})
		return
	}
	tx, created, err := s.opts.Ledger.Post(r.Context(), ledger.NewTopup(t.ID, key, in.Reference, amount, in.Currency))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.opts.Ledger.Balance(r.Context(), t.ID, t.Currency)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	s.opts.Logger.InfoContext(r.Context(), "balance topped up", "tenant_id", t.ID, "transaction_id", tx.ID, "amount", ledger.Format(amount), "currency", in.Currency, "replayed", !created)
	writeJSON(w, status, topupView{TransactionID: tx.ID, Amount: ledger.Format(amount), Currency: in.Currency, Reference: tx.Reference, Balance: viewOf(b)})
}
