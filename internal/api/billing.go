package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// maxRateCardBody bounds a rate card: destination and operator tables can be long.
const maxRateCardBody = 1 << 20

// fieldErrors collects every problem of a body, so a client fixes it in one round trip.
type fieldErrors []errs.FieldViolation

func (f *fieldErrors) add(field, reason string) {
	*f = append(*f, errs.FieldViolation{Field: field, Reason: reason})
}

// err is nil, or Unprocessable (422) with every field.
func (f fieldErrors) err(what string) error {
	if len(f) == 0 {
		return nil
	}
	return &errs.Error{Code: errs.Unprocessable, Message: "invalid " + what, Fields: f}
}

// unprocessable turns the stores' and billing's Invalid-with-fields (a body that
// parsed but does not validate) into the API's 422; a malformed body (JSON that does
// not parse, unknown or repeated members: errMalformed) stays a 400.
func unprocessable(err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Invalid && len(e.Fields) > 0 && !errors.Is(err, errMalformed) {
		return &errs.Error{Code: errs.Unprocessable, Message: e.Message, Fields: e.Fields, Err: e.Err}
	}
	return err
}

// jsonAmount is an amount field as sent: decoding never fails on it, so a JSON
// number ("rate": 1.1) is reported against its field rather than as a malformed body.
type jsonAmount struct {
	text   string
	quoted bool
	set    bool
}

func (a *jsonAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	a.set = true
	if b[0] == '"' {
		a.quoted = true
		return json.Unmarshal(b, &a.text)
	}
	a.text = string(b)
	return nil
}

// MarshalJSON lets a jsonAmount round-trip in tests and logs.
func (a jsonAmount) MarshalJSON() ([]byte, error) { return json.Marshal(a.text) }

// parse checks a as an amount >= 0 (> 0 when positive), recording a problem under
// field; an absent amount is def.
func (a jsonAmount) parse(f *fieldErrors, field string, positive bool, def decimal.Decimal) decimal.Decimal {
	if !a.set {
		if positive {
			f.add(field, "required")
		}
		return def
	}
	if !a.quoted {
		f.add(field, a.text+" is a JSON number: write amounts as decimal strings (\""+a.text+"\"), a float may already have lost digits")
		return def
	}
	d, err := ledger.ParseAmount(a.text)
	switch {
	case err != nil:
		f.add(field, "must be a decimal string such as \"1.10\" with at most 18 fractional digits")
	case positive && !d.IsPositive():
		f.add(field, "must be greater than zero")
	case d.IsNegative():
		f.add(field, "must not be negative")
	default:
		return d
	}
	return def
}

// parseTime parses an optional RFC 3339 time, recording a problem under field.
func parseTime(f *fieldErrors, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		f.add(field, "must be an RFC 3339 time such as \"2026-01-01T00:00:00Z\"")
		return nil
	}
	return &t
}

// checkTenant answers a 422 on field when tenantID names no tenant: the body refers
// to it, the URL does not, so 404 would say the endpoint is missing.
func (s *Server) checkTenant(r *http.Request, field, tenantID string) error {
	if s.opts.Tenants == nil {
		return errs.E(errs.Unavailable, "tenant store not configured")
	}
	if tenantID == "" {
		return nil // the validator reports it as required
	}
	_, err := s.opts.Tenants.GetTenant(r.Context(), tenantID)
	if errs.CodeOf(err) == errs.NotFound {
		return fieldErrors{{Field: field, Reason: "no such tenant"}}.err("request")
	}
	return err
}

func (s *Server) rateCardStore(w http.ResponseWriter, r *http.Request) billing.RateCards {
	if s.opts.RateCards == nil || s.opts.Tenants == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "rate cards not configured"))
		return nil
	}
	return s.opts.RateCards
}

// readRateCard reads and decodes a card body: DecodeRateCard is strict and names the
// JSON path of every problem; a key given twice is refused before it (400), as
// decodeJSON does for every other body.
func readRateCard(w http.ResponseWriter, r *http.Request) (billing.RateCard, error) {
	body, err := readBody(w, r, maxRateCardBody)
	if err == nil {
		err = checkDuplicateKeys(body)
	}
	if err != nil {
		return billing.RateCard{}, err
	}
	c, err := billing.DecodeRateCard(body)
	return c, unprocessable(err)
}

// rateCardView is a card version with how many versions the card has.
type rateCardView struct {
	billing.RateCard
	Versions int `json:"versions"`
}

func (s *Server) createRateCard(w http.ResponseWriter, r *http.Request) {
	store := s.rateCardStore(w, r)
	if store == nil {
		return
	}
	c, err := readRateCard(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A new card may not take effect before now either: it would reprice traffic
	// already charged. An absent effective_from is now, by the API's clock.
	now := billing.StoreTime(s.opts.Now())
	if c.EffectiveFrom.IsZero() {
		c.EffectiveFrom = now
	}
	err = s.checkTenant(r, "tenant_id", c.TenantID)
	if err == nil && c.EffectiveFrom.Before(now) {
		err = fieldErrors{{Field: "effective_from", Reason: "must not be before now: a card may not reprice traffic already charged"}}.err("rate card")
	}
	if err == nil {
		c, err = store.Create(r.Context(), c)
	}
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "rate card created", "rate_card_id", c.ID, "tenant_id", c.TenantID)
	w.Header().Set("Location", "/api/v2/rate-cards/"+c.ID)
	writeJSON(w, http.StatusCreated, rateCardView{RateCard: c, Versions: 1})
}

func (s *Server) listRateCards(w http.ResponseWriter, r *http.Request) {
	store := s.rateCardStore(w, r)
	if store == nil {
		return
	}
	cards, err := store.List(r.Context(), r.URL.Query().Get("tenant_id"))
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	if cards == nil {
		cards = []billing.RateCard{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rate_cards": cards})
}

// getRateCard answers the latest version, or ?version=N.
func (s *Server) getRateCard(w http.ResponseWriter, r *http.Request) {
	store := s.rateCardStore(w, r)
	if store == nil {
		return
	}
	want := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, fieldErrors{{Field: "version", Reason: "must be a version number, 1 or more"}}.err("query"))
			return
		}
		want = n
	}
	versions, err := store.Versions(r.Context(), r.PathValue("id"))
	if err == nil && len(versions) == 0 {
		err = errs.E(errs.NotFound, "rate card %s not found", r.PathValue("id"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	view := rateCardView{RateCard: versions[len(versions)-1], Versions: len(versions)}
	if want != 0 {
		found := false
		for _, v := range versions {
			if v.Version == want {
				view.RateCard, found = v, true
			}
		}
		if !found {
			s.writeError(w, r, errs.E(errs.NotFound, "rate card %s has no version %d", r.PathValue("id"), want))
			return
		}
	}
	writeJSON(w, http.StatusOK, view)
}

// updateRateCard stores a new version. Versions already in force are immutable, so
// the new one may not take effect before now (422 on effective_from); the store
// checks the same rule against the same clock.
func (s *Server) updateRateCard(w http.ResponseWriter, r *http.Request) {
	store := s.rateCardStore(w, r)
	if store == nil {
		return
	}
	id := r.PathValue("id")
	if _, err := store.Get(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := readRateCard(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var f fieldErrors
	if c.ID != "" && c.ID != id {
		f.add("rate_card_id", "must be the card's id in the URL, or absent")
	}
	now := s.opts.Now()
	if c.EffectiveFrom.Before(billing.StoreTime(now)) {
		f.add("effective_from", "must not be before now: versions already in force are immutable")
	}
	if err := f.err("rate card"); err != nil {
		s.writeError(w, r, err)
		return
	}
	c.ID = id
	c, err = store.Update(r.Context(), c, now)
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "rate card version added", "rate_card_id", c.ID, "version", c.Version, "effective_from", c.EffectiveFrom)
	writeJSON(w, http.StatusOK, rateCardView{RateCard: c, Versions: c.Version})
}
