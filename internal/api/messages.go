package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// EventSource is the source attribute of events the API emits.
const EventSource = "/catalyst/api"

const maxIdempotencyKey = 255

// accepted is the answer to POST /api/v1/messages.
type accepted struct {
	MessageID string         `json:"message_id"`
	Status    message.Status `json:"status"`
}

// sendMessage validates a send request, emits io.catalyst.message.requested and
// answers 202.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, channel.MaxRequestBytes, func(body []byte) (int, any, error) {
		req, err := channel.Decode(body)
		if err != nil {
			return 0, nil, err
		}
		id, err := s.emitRequested(r, req)
		if err != nil {
			return 0, nil, err
		}
		w.Header().Set("Location", "/api/v1/messages/"+id)
		return http.StatusAccepted, accepted{MessageID: id, Status: message.Accepted}, nil
	})
}

// idempotent runs a state-changing request once per Idempotency-Key: it reads the
// body (at most limit bytes), and with a key a retry with the same body gets the first
// answer (Idempotent-Replayed: true) without running do again. do's work must be
// all-or-nothing: when it fails the key is released, so a retry does the work.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, limit int64, do func(body []byte) (int, any, error)) {
	t := tenantFrom(r.Context())
	body, err := readBody(w, r, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if done := s.beginIdempotent(w, r, t.ID, key, body); done {
			return
		}
	}
	status, v, err := do(body)
	if err != nil {
		s.release(r, t.ID, key)
		s.writeError(w, r, err)
		return
	}
	answer, err := json.Marshal(v)
	if err != nil {
		s.release(r, t.ID, key)
		s.writeError(w, r, errs.Wrap(errs.Internal, err, "encode answer"))
		return
	}
	if key != "" {
		if err := s.opts.Idempotency.Complete(r.Context(), t.ID, key, idempotency.Response{Status: status, Body: answer}); err != nil {
			// The work is done; only the replay record failed. A retry with the key
			// then answers 409 until the reservation expires, never repeats the work.
			s.opts.Logger.ErrorContext(r.Context(), "idempotency record not completed", "tenant_id", t.ID, "error", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

// beginIdempotent reserves the key or answers for it (replay, in progress, misuse);
// done reports that the answer has been written.
func (s *Server) beginIdempotent(w http.ResponseWriter, r *http.Request, tenantID, key string, body []byte) (done bool) {
	if len(key) > maxIdempotencyKey {
		s.writeError(w, r, &errs.Error{Code: errs.Invalid, Message: "Idempotency-Key too long",
			Fields: []errs.FieldViolation{{Field: "Idempotency-Key", Reason: "at most 255 characters"}}})
		return true
	}
	if s.opts.Idempotency == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "idempotency store not configured"))
		return true
	}
	sum := sha256.Sum256(body)
	outcome, stored, err := s.opts.Idempotency.Begin(r.Context(), tenantID, key, hex.EncodeToString(sum[:]), s.opts.IdempotencyTTL)
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case outcome == idempotency.Replay:
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(stored.Status)
		_, _ = w.Write(stored.Body)
	case outcome == idempotency.InProgress:
		s.writeError(w, r, errs.E(errs.Conflict, "a request with this Idempotency-Key is still in progress; retry later"))
	case outcome == idempotency.Mismatch:
		s.writeError(w, r, &errs.Error{Code: errs.Unprocessable, Message: "Idempotency-Key already used with a different request body",
			Fields: []errs.FieldViolation{{Field: "Idempotency-Key", Reason: "reused with a different body"}}})
	default:
		return false
	}
	return true
}

// emitRequested emits io.catalyst.message.requested for a validated request and
// returns the new message's id, once the broker has stored the event.
func (s *Server) emitRequested(r *http.Request, req channel.Request) (string, error) {
	if s.opts.Emitter == nil {
		return "", errs.E(errs.Unavailable, "event broker not configured")
	}
	t := tenantFrom(r.Context())
	if s.opts.Billing != nil {
		// A send billing could only decline as no_rate is refused now, with the reason.
		if err := s.opts.Billing.Priceable(r.Context(), t.ID, req.Channel); err != nil {
			return "", err
		}
	}
	if err := s.allowSend(r, t.ID, req); err != nil {
		return "", err
	}
	id, err := uuid.NewV7() // time-ordered: message ids sort by creation
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "message id")
	}
	data := catalog.MessageRequested{MessageID: id.String(), TenantID: t.ID, Channel: req.Channel, To: req.To, From: req.From, Content: req.Content, Options: req.Options}
	e, err := catalog.NewAt(s.opts.Now(), catalog.MessageRequestedType, EventSource, data, map[string]string{
		"tenantid": t.ID, "channel": req.Channel, "messageid": data.MessageID, "partitionkey": data.MessageID,
	})
	if err != nil {
		return "", err
	}
	if err := s.opts.Emitter.Emit(r.Context(), e); err != nil {
		return "", errs.Wrap(errs.Unavailable, err, "message not accepted: the event broker did not store it; retry")
	}
	return data.MessageID, nil
}

func (s *Server) release(r *http.Request, tenantID, key string) {
	if key == "" {
		return
	}
	if err := s.opts.Idempotency.Release(r.Context(), tenantID, key); err != nil {
		s.opts.Logger.ErrorContext(r.Context(), "idempotency key not released", "tenant_id", tenantID, "error", err)
	}
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Messages == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "message store not configured"))
		return
	}
	m, err := s.opts.Messages.Get(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	if s.opts.Messages == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "message store not configured"))
		return
	}
	f, err := parseFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.opts.Messages.List(r.Context(), tenantFrom(r.Context()).ID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if page.Messages == nil {
		page.Messages = []message.Message{}
	}
	writeJSON(w, http.StatusOK, page)
}

// parseFilter reads ?status=&channel=&since=&until=&cursor=&limit=, reporting every
// bad parameter.
func parseFilter(r *http.Request) (message.Filter, error) {
	q := r.URL.Query()
	var f message.Filter
	var fields []errs.FieldViolation
	bad := func(field, reason string) { fields = append(fields, errs.FieldViolation{Field: field, Reason: reason}) }
	if v := q.Get("status"); v != "" {
		if f.Status = message.Status(v); !message.Valid(f.Status) {
			bad("status", "unknown status")
		}
	}
	if v := q.Get("channel"); v != "" {
		if _, ok := channel.Lookup(v); !ok {
			bad("channel", "unknown channel")
		}
		f.Channel = v
	}
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				bad(p.name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
			*p.into = t
		}
	}
	f.Cursor = q.Get("cursor")
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > message.MaxLimit {
			bad("limit", fmt.Sprintf("must be an integer from 1 to %d", message.MaxLimit))
		}
		f.Limit = n
	}
	if len(fields) > 0 {
		return f, &errs.Error{Code: errs.Invalid, Message: "invalid query parameters", Fields: fields}
	}
	return f, nil
}
