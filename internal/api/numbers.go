package api

import (
	"net/http"
	"strings"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
)

// numberInput is the body of POST /api/v2/tenants/{id}/numbers.
type numberInput struct {
	Channel string `json:"channel"`
	Number  string `json:"number"`
}

// normalizeNumber checks an inbound SMS address: +E.164 (normalised the way the
// messages API normalises destinations) or a short code of 3 to 8 digits.
func normalizeNumber(in numberInput) (numberInput, error) {
	bad := func(field, reason string) error {
		return &errs.Error{Code: errs.Unprocessable, Message: "invalid number", Fields: []errs.FieldViolation{{Field: field, Reason: reason}}}
	}
	if in.Channel != "sms" {
		return in, bad("channel", "only sms numbers can be assigned so far")
	}
	n := strings.TrimSpace(in.Number)
	if l := len(n); l >= 3 && l <= 8 && strings.Trim(n, "0123456789") == "" {
		in.Number = n
		return in, nil
	}
	req, err := channel.Validate(channel.Request{Channel: "sms", To: n, Content: catalog.Content{Type: "text", Text: "x"}})
	if err != nil || !strings.HasPrefix(n, "+") {
		return in, bad("number", "must be a +E.164 number or a short code of 3 to 8 digits")
	}
	in.Number = req.To
	return in, nil
}

func (s *Server) numberStore(w http.ResponseWriter, r *http.Request) (numbers.Store, bool) {
	if s.opts.Numbers == nil || s.opts.Tenants == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "number store not configured"))
		return nil, false
	}
	if _, err := s.opts.Tenants.GetTenant(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return s.opts.Numbers, true
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	store, ok := s.numberStore(w, r)
	if !ok {
		return
	}
	list, err := store.List(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]numbers.Number{"numbers": list})
}

// assignNumber gives a tenant an inbound number (admin): SMS sent to it become that
// tenant's io.catalyst.message.inbound events.
func (s *Server) assignNumber(w http.ResponseWriter, r *http.Request) {
	store, ok := s.numberStore(w, r)
	if !ok {
		return
	}
	var in numberInput
	body, err := readBody(w, r, maxTenantBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	if err == nil {
		in, err = normalizeNumber(in)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := store.Assign(r.Context(), numbers.Number{Channel: in.Channel, Number: in.Number, TenantID: r.PathValue("id")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request) {
	store, ok := s.numberStore(w, r)
	if !ok {
		return
	}
	if err := store.Release(r.Context(), r.PathValue("id"), r.PathValue("channel"), r.PathValue("number")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
