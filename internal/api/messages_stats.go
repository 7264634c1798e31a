package api

import (
	"net/http"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// messageStats answers GET /api/v1/messages/stats: the tenant's messages created in
// [since, until) counted by status, with the latency from the API accepting a message
// to its delivery being recorded (message.Stats).
func (s *Server) messageStats(w http.ResponseWriter, r *http.Request) {
	if s.opts.Messages == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "message store not configured"))
		return
	}
	f, err := parseStatsFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.opts.Messages.Stats(r.Context(), tenantFrom(r.Context()).ID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// parseStatsFilter reads ?since=&until= (RFC 3339; since required), reporting every
// bad parameter. The store checks that until is after since.
func parseStatsFilter(r *http.Request) (message.StatsFilter, error) {
	q := r.URL.Query()
	var f message.StatsFilter
	var fields []errs.FieldViolation
	for _, p := range []struct {
		name     string
		into     *time.Time
		required bool
	}{{"since", &f.Since, true}, {"until", &f.Until, false}} {
		v := q.Get(p.name)
		if v == "" {
			if p.required {
				fields = append(fields, errs.FieldViolation{Field: p.name, Reason: "required: an RFC 3339 time such as 2026-01-02T15:04:05Z"})
			}
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fields = append(fields, errs.FieldViolation{Field: p.name, Reason: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
		}
		*p.into = t
	}
	if len(fields) > 0 {
		return f, &errs.Error{Code: errs.Invalid, Message: "invalid query parameters", Fields: fields}
	}
	return f, nil
}
