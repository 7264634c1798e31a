package api

import (
	"net/http"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// transactionsQuery is the body of POST /api/v2/transactions/list (a POST, so filters
// and cursors stay out of URLs and access logs).
type transactionsQuery struct {
	TenantID string `json:"tenant_id,omitempty"`
	Channel  string `json:"channel,omitempty"`
	Status   string `json:"status,omitempty"`
	From     string `json:"from,omitempty"` // RFC 3339, inclusive
	To       string `json:"to,omitempty"`   // RFC 3339, exclusive
	Limit    int    `json:"limit,omitempty"`
	Cursor   string `json:"cursor,omitempty"`
}

// filter checks q and returns the store filter; a tenant caller's is its own tenant,
// whatever the body says.
func (q transactionsQuery) filter(caller string) (billing.ChargeFilter, error) {
	var f fieldErrors
	cf := billing.ChargeFilter{TenantID: q.TenantID, Channel: q.Channel, Status: billing.ChargeStatus(q.Status), Limit: q.Limit, Cursor: q.Cursor}
	if caller != "" {
		cf.TenantID = caller
	}
	switch cf.Status {
	case "", billing.ChargeReserved, billing.ChargeCommitted, billing.ChargeReleased:
	default:
		f.add("status", "must be reserved, committed or released")
	}
	if q.Limit < 0 || q.Limit > billing.MaxChargeLimit {
		f.add("limit", "must be 1 to 1000 (default 100)")
	}
	if t := parseTime(&f, "from", q.From); t != nil {
		cf.From = *t
	}
	if t := parseTime(&f, "to", q.To); t != nil {
		cf.To = *t
	}
	if !cf.From.IsZero() && !cf.To.IsZero() && !cf.From.Before(cf.To) {
		f.add("to", "must be after from")
	}
	return cf, f.err("transactions query")
}

func (s *Server) chargeStore(w http.ResponseWriter, r *http.Request) billing.Charges {
	if s.opts.Charges == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "transactions not configured"))
	}
	return s.opts.Charges
}

func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request) {
	store := s.chargeStore(w, r)
	if store == nil {
		return
	}
	var q transactionsQuery
	body, err := readBody(w, r, maxBillingBody)
	if err == nil && len(body) > 0 {
		err = decodeJSON(body, &q)
	}
	var f billing.ChargeFilter
	if err == nil {
		f, err = q.filter(tenantFrom(r.Context()).ID)
	}
	var page billing.ChargePage
	if err == nil {
		page, err = store.List(r.Context(), f)
	}
	if err != nil {
		s.writeError(w, r, unprocessable(err)) // a cursor the store cannot read is a 422 on cursor
		return
	}
	if page.Charges == nil {
		page.Charges = []billing.Charge{}
	}
	writeJSON(w, http.StatusOK, page)
}

// getTransaction answers one charge with its price breakdown. A tenant asking for
// another tenant's charge gets 404, as for an unknown id.
func (s *Server) getTransaction(w http.ResponseWriter, r *http.Request) {
	store := s.chargeStore(w, r)
	if store == nil {
		return
	}
	c, err := store.Get(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
