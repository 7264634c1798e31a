package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
)

// maxFirewallBody bounds firewall request bodies.
const maxFirewallBody = 16 << 10

func (s *Server) firewallEngine(w http.ResponseWriter, r *http.Request) *screening.Engine {
	if s.opts.Firewall == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "firewall not configured"))
	}
	return s.opts.Firewall
}

// reputationRequest is the body of POST /api/v2/firewall/reputation.
type reputationRequest struct {
	TenantID  string     `json:"tenant_id,omitempty"`
	Kind      string     `json:"kind"`
	Value     string     `json:"value"`
	List      string     `json:"list"`
	Score     int        `json:"score,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// addReputation stores a reputation entry. The admin may add global entries (no
// tenant_id) or any tenant's; a tenant's key adds its own only (a complaint from its
// users, its own block or watch list).
func (s *Server) addReputation(w http.ResponseWriter, r *http.Request) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	var q reputationRequest
	body, err := readBody(w, r, maxFirewallBody)
	if err == nil {
		err = decodeJSON(body, &q)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	source := "admin"
	if t := tenantFrom(r.Context()); t.ID != "" {
		q.TenantID, source = t.ID, "tenant:"+t.ID
	}
	entry, err := e.AddReputation(r.Context(), firewall.ReputationEntry{
		TenantID: q.TenantID, Kind: q.Kind, Value: q.Value, List: q.List, Score: q.Score,
		Reason: q.Reason, Source: source, ExpiresAt: q.ExpiresAt,
	})
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	writeJSON(w, http.StatusCreated, entry)
}

// listReputation lists entries: a tenant sees its own, the admin global ones or a
// tenant's (?tenant_id=).
func (s *Server) listReputation(w http.ResponseWriter, r *http.Request) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	tenantID := r.URL.Query().Get("tenant_id")
	if t := tenantFrom(r.Context()); t.ID != "" {
		tenantID = t.ID
	}
	var fe fieldErrors
	limit := pageLimit(&fe, r)
	if err := fe.err("query"); err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, err := e.ListReputation(r.Context(), tenantID, r.URL.Query().Get("kind"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []firewall.ReputationEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// listReviews answers the review queue (?state=pending by default; ?state=all).
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	q := r.URL.Query()
	f := firewall.ReviewFilter{TenantID: q.Get("tenant_id"), State: q.Get("state"), Cursor: q.Get("cursor")}
	if t := tenantFrom(r.Context()); t.ID != "" {
		f.TenantID = t.ID
	}
	var fe fieldErrors
	switch f.State {
	case "":
		f.State = firewall.ReviewPending
	case "all":
		f.State = ""
	case firewall.ReviewPending, firewall.ReviewApproved, firewall.ReviewRejected, firewall.ReviewExpired:
	default:
		fe.add("state", "must be pending, approved, rejected, expired or all")
	}
	f.Limit = pageLimit(&fe, r)
	if err := fe.err("query"); err != nil {
		s.writeError(w, r, err)
		return
	}
	reviews, next, err := e.Reviews(r.Context(), f)
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	if reviews == nil {
		reviews = []firewall.Review{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": reviews, "next_cursor": next})
}

// getReview answers one review; another tenant's is 404.
func (s *Server) getReview(w http.ResponseWriter, r *http.Request) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	rv, err := e.GetReview(r.Context(), r.PathValue("id"))
	if err == nil {
		if t := tenantFrom(r.Context()); t.ID != "" && t.ID != rv.TenantID {
			err = errs.E(errs.NotFound, "review %s not found", r.PathValue("id"))
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}

// reviewDecision is the body of POST …/approve and …/reject.
type reviewDecision struct {
	Note string `json:"note,omitempty"`
	By   string `json:"by,omitempty"` // the operator's name, for the audit
}

func (s *Server) approveReview(w http.ResponseWriter, r *http.Request) { s.decideReview(w, r, true) }
func (s *Server) rejectReview(w http.ResponseWriter, r *http.Request)  { s.decideReview(w, r, false) }

// decideReview approves (the message goes on as a pass) or rejects (blocked) a held
// message, and emits its message.screened. Deciding again the same way answers the
// same review (and emits the same event id again); the other way is 409.
func (s *Server) decideReview(w http.ResponseWriter, r *http.Request, approve bool) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	if s.opts.Emitter == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "broker not configured"))
		return
	}
	var q reviewDecision
	body, err := readBody(w, r, maxFirewallBody)
	if err == nil && len(body) > 0 {
		err = decodeJSON(body, &q)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.By == "" {
		q.By = "admin"
	}
	rv, screen, err := e.Review(r.Context(), r.PathValue("id"), approve, q.By, q.Note)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := screening.RequestOf(screen)
	if err == nil {
		var out *event.Event
		out, err = screening.Screened(r.Context(), s.opts.Emitter, s.opts.Now(), req, screen, screen.Verdict.Phase)
		if err == nil {
			err = s.opts.Emitter.Emit(r.Context(), *out)
		}
	}
	if err != nil {
		s.writeError(w, r, errs.Wrap(errs.Unavailable, err,
			"review %s is decided but its event is not emitted yet: firewall-release sends it within %s, or repeat the request",
			rv.MessageID, firewall.DeliveryLease))
		return
	}
	// Not marked delivered (a store hiccup): firewall-release sends the same event id
	// again once the lease lapses, which consumers take as a duplicate.
	if err := e.Delivered(r.Context(), rv.MessageID); err != nil {
		s.opts.Logger.WarnContext(r.Context(), "firewall: review emitted but not marked delivered", "message_id", rv.MessageID, "error", err)
	} else if rv, err = e.GetReview(r.Context(), rv.MessageID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}

// listDecisions answers the firewall's audit records (?since=RFC3339, default the
// last hour; ?decision=; ?tenant_id= for the admin).
func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) {
	e := s.firewallEngine(w, r)
	if e == nil {
		return
	}
	q := r.URL.Query()
	var fe fieldErrors
	f := firewall.AuditFilter{TenantID: q.Get("tenant_id"), Decision: q.Get("decision"), Cursor: q.Get("cursor"),
		Since: s.opts.Now().Add(-time.Hour)}
	if t := tenantFrom(r.Context()); t.ID != "" {
		f.TenantID = t.ID
	}
	if t := parseTime(&fe, "since", q.Get("since")); t != nil {
		f.Since = *t
	}
	if t := parseTime(&fe, "until", q.Get("until")); t != nil {
		f.Until = *t
	}
	switch f.Decision {
	case "", firewall.Pass, firewall.Block, firewall.Hold, firewall.Throttle:
	default:
		fe.add("decision", "must be pass, block, hold or throttle")
	}
	f.Limit = pageLimit(&fe, r)
	if err := fe.err("decisions query"); err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, next, err := e.Decisions(r.Context(), f)
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	if recs == nil {
		recs = []firewall.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": recs, "next_cursor": next})
}

// pageLimit reads ?limit= for the firewall's lists: 0 when absent (the stores'
// default page), else 1 to firewall.MaxPageLimit.
func pageLimit(fe *fieldErrors, r *http.Request) int {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > firewall.MaxPageLimit {
		fe.add("limit", "must be 1 to "+strconv.Itoa(firewall.MaxPageLimit))
	}
	return n
}
