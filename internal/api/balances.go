package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// balanceView is a balance with amounts as decimal strings (never JSON numbers: a
// float would lose digits). With the billing engine it also carries the tenant's
// settings (a nil embedded pointer leaves those fields out of the ledger-only view).
type balanceView struct {
	TenantID  string `json:"tenant_id"`
	Currency  string `json:"currency"`
	Amount    string `json:"amount"`
	Blocked   string `json:"blocked"`
	Available string `json:"available"`
	*settingsView
}

type settingsView struct {
	CriticalLevel string     `json:"critical_level"`
	SuspendLevel  string     `json:"suspend_level"`
	Expiry        *time.Time `json:"expiry,omitempty"`
	B2B           bool       `json:"b2b"`
	Suspended     bool       `json:"suspended"`
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

// ledgerTenant is the tenant of a balance request ({tenant_id}), once the tenant
// store and the ledger (or the billing engine, which keeps one) are configured.
func (s *Server) ledgerTenant(r *http.Request) (tenant.Tenant, error) {
	if (s.opts.Ledger == nil && s.opts.Billing == nil) || s.opts.Tenants == nil {
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
	b, err := s.balance(r.Context(), t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// balance is the tenant's balance: the billing engine's wallet account and settings
// (what authorizing a message sees), else the ledger's sums.
func (s *Server) balance(ctx context.Context, t tenant.Tenant) (balanceView, error) {
	if s.opts.Billing == nil {
		b, err := s.opts.Ledger.Balance(ctx, t.ID, t.Currency)
		return viewOf(b), err
	}
	a, err := s.opts.Billing.Account(ctx, t.ID)
	if errors.Is(err, charging.ErrUnloadable) {
		// The wallet cannot hold it: answer the ledger's truth, and log why the
		// tenant cannot spend (its messages are declined with the reason).
		s.opts.Logger.ErrorContext(ctx, "balance answered from the ledger", "tenant_id", t.ID, "error", err)
		b, err := s.opts.Billing.LedgerBalance(ctx, t.ID, t.Currency)
		return viewOf(b), err
	}
	if err != nil {
		return balanceView{}, err
	}
	st, err := s.opts.Billing.Settings(ctx, t.ID)
	if err != nil {
		return balanceView{}, err
	}
	return balanceView{TenantID: t.ID, Currency: a.Currency,
		Amount: ledger.Format(a.Balance), Blocked: ledger.Format(a.Blocked), Available: ledger.Format(a.Available),
		settingsView: &settingsView{CriticalLevel: ledger.Format(st.CriticalLevel), SuspendLevel: ledger.Format(st.SuspendLevel),
			Expiry: st.Expiry, B2B: st.B2B, Suspended: st.Suspended}}, nil
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
	tx, created, err := s.credit(r.Context(), t.ID, key, in.Reference, amount, in.Currency)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.balance(r.Context(), t)
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
	writeJSON(w, status, topupView{TransactionID: tx.ID, Amount: ledger.Format(amount), Currency: in.Currency, Reference: tx.Reference, Balance: b})
}

// credit posts a top-up: through the billing engine when there is one (it credits
// the wallet too and re-checks the thresholds, so a top-up can reinstate a suspended
// tenant), else straight to the ledger.
func (s *Server) credit(ctx context.Context, tenantID, key, reference string, amount decimal.Decimal, currency string) (ledger.Transaction, bool, error) {
	if s.opts.Billing == nil {
		bal, err := s.opts.Ledger.Balance(ctx, tenantID, currency)
		if err == nil {
			err = charging.CheckTopUp(bal, amount) // nothing is written past the limit
		}
		if err != nil {
			return ledger.Transaction{}, false, err
		}
		return s.opts.Ledger.Post(ctx, ledger.NewTopup(tenantID, key, reference, amount, currency))
	}
	tx, created, alerts, err := s.opts.Billing.TopUp(ctx, tenantID, key, reference, amount, currency)
	if err != nil {
		return tx, created, err
	}
	s.emitAlerts(ctx, tenantID, alerts)
	return tx, created, nil
}

// emitAlerts emits the tenant events a balance change called for, each under the id
// it is stored with, and clears those emitted. The money has moved and the alerts are
// stored with the thresholds state, so a failed emit is logged, not answered: the
// settle function's sweep emits what stays stored.
func (s *Server) emitAlerts(ctx context.Context, tenantID string, a charging.Alerts) {
	if s.opts.Emitter == nil || len(a.Outbox) == 0 {
		return
	}
	var done []string
	for _, al := range a.Outbox {
		e, err := charging.AlertEvent(al, EventSource)
		if err == nil {
			err = s.opts.Emitter.Emit(ctx, e)
		}
		if err != nil {
			s.opts.Logger.ErrorContext(ctx, "tenant event not emitted yet; the billing sweep emits it again", "type", al.Type, "tenant_id", tenantID, "error", err)
			continue
		}
		done = append(done, al.ID)
	}
	if err := s.opts.Billing.AlertsEmitted(ctx, tenantID, done); err != nil {
		s.opts.Logger.ErrorContext(ctx, "emitted tenant events not cleared; the billing sweep emits them again", "tenant_id", tenantID, "error", err)
	}
}

// settingsInput is the body of PUT /api/v2/balances/{tenant_id}/settings; absent
// levels are 0 (off).
type settingsInput struct {
	CriticalLevel jsonAmount `json:"critical_level"`
	SuspendLevel  jsonAmount `json:"suspend_level"`
	Expiry        string     `json:"expiry,omitempty"` // RFC 3339
	B2B           bool       `json:"b2b"`
}

func (in settingsInput) settings(tenantID string) (billing.Settings, error) {
	var f fieldErrors
	st := billing.Settings{TenantID: tenantID, B2B: in.B2B}
	st.CriticalLevel = in.CriticalLevel.parse(&f, "critical_level", false, decimal.Zero)
	st.SuspendLevel = in.SuspendLevel.parse(&f, "suspend_level", false, decimal.Zero)
	if st.CriticalLevel.IsPositive() && st.SuspendLevel.GreaterThan(st.CriticalLevel) {
		f.add("suspend_level", "must not be above critical_level: the low-balance alert comes before the suspension")
	}
	st.Expiry = parseTime(&f, "expiry", in.Expiry)
	return st, f.err("balance settings")
}

// putBalanceSettings replaces a tenant's levels, expiry and b2b flag, then re-checks
// the thresholds (which may suspend or reinstate the tenant, and emit its events).
func (s *Server) putBalanceSettings(w http.ResponseWriter, r *http.Request) {
	if s.opts.Billing == nil || s.opts.Tenants == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "billing not configured"))
		return
	}
	t, err := s.opts.Tenants.GetTenant(r.Context(), r.PathValue("tenant_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in settingsInput
	body, err := readBody(w, r, maxTenantBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	var st billing.Settings
	if err == nil {
		st, err = in.settings(t.ID)
	}
	if err == nil {
		_, err = s.opts.Billing.PutSettings(r.Context(), st)
	}
	// New levels apply at once: otherwise a tenant whose suspend level was lowered
	// would stay suspended until a top-up, as a suspended tenant makes no charges
	// that would re-check them.
	var alerts charging.Alerts
	if err == nil {
		alerts, err = s.opts.Billing.Thresholds(r.Context(), t.ID)
	}
	if err == nil {
		s.emitAlerts(r.Context(), t.ID, alerts)
	}
	var b balanceView
	if err == nil {
		b, err = s.balance(r.Context(), t)
	}
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "balance settings updated", "tenant_id", t.ID, "critical_level", b.CriticalLevel, "suspend_level", b.SuspendLevel)
	writeJSON(w, http.StatusOK, b)
}
