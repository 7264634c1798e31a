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
// answers 202. With an Idempotency-Key, a retry with the same body gets the first
// answer and emits nothing; the key is released when nothing was emitted, so a retry
// after a failure does the work.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Emitter == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "event broker not configured"))
		return
	}
	t := tenantFrom(r.Context())
	body, err := readBody(w, r, channel.MaxRequestBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := channel.Decode(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if len(key) > maxIdempotencyKey {
			s.writeError(w, r, &errs.Error{Code: errs.Invalid, Message: "Idempotency-Key too long",
				Fields: []errs.FieldViolation{{Field: "Idempotency-Key", Reason: "at most 255 characters"}}})
			return
		}
		if s.opts.Idempotency == nil {
			s.writeError(w, r, errs.E(errs.Unavailable, "idempotency store not configured"))
			return
		}
		sum := sha256.Sum256(body)
		outcome, stored, err := s.opts.Idempotency.Begin(r.Context(), t.ID, key, hex.EncodeToString(sum[:]), s.opts.IdempotencyTTL)
		switch {
		case err != nil:
			s.writeError(w, r, err)
			return
		case outcome == idempotency.Replay:
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(stored.Body)
			return
		case outcome == idempotency.InProgress:
			s.writeError(w, r, errs.E(errs.Conflict, "a request with this Idempotency-Key is still in progress; retry later"))
			return
		case outcome == idempotency.Mismatch:
			s.writeError(w, r, &errs.Error{Code: errs.Unprocessable, Message: "Idempotency-Key already used with a different request body",
				Fields: []errs.FieldViolation{{Field: "Idempotency-Key", Reason: "reused with a different body"}}})
			return
		}
	}
	id, err := uuid.NewV7() // time-ordered: message ids sort by creation
	if err != nil {
		s.release(r, t.ID, key)
		s.writeError(w, r, errs.Wrap(errs.Internal, err, "message id"))
		return
	}
	data := catalog.MessageRequested{MessageID: id.String(), TenantID: t.ID, Channel: req.Channel, To: req.To, From: req.From, Content: req.Content, Options: req.Options}
	e, err := catalog.New(catalog.MessageRequestedType, EventSource, data, map[string]string{
		"tenantid": t.ID, "channel": req.Channel, "messageid": data.MessageID, "partitionkey": data.MessageID,
	})
	if err == nil {
		err = s.opts.Emitter.Emit(r.Context(), e)
		if err != nil {
			err = errs.Wrap(errs.Unavailable, err, "message not accepted: the event broker did not store it; retry")
		}
	}
	if err != nil {
		s.release(r, t.ID, key)
		s.writeError(w, r, err)
		return
	}
	answer, _ := json.Marshal(accepted{MessageID: data.MessageID, Status: message.Accepted})
	if key != "" {
		if err := s.opts.Idempotency.Complete(r.Context(), t.ID, key, idempotency.Response{Status: http.StatusAccepted, Body: answer}); err != nil {
			// The message is accepted; only the replay record failed. A retry with the
			// key would then answer 409 until the reservation expires, never duplicate.
			s.opts.Logger.ErrorContext(r.Context(), "idempotency record not completed", "tenant_id", t.ID, "error", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/api/v1/messages/"+data.MessageID)
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(answer)
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
