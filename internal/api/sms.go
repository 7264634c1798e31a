package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// The SMS API is the messages API in SMS terms: a text, a number, and the parts it
// will be charged for. Every request becomes an ordinary io.catalyst.message.requested.

// maxBulk bounds the items of one bulk request.
const maxBulk = 1000

// smsInput is one SMS: the body of /sms/send and an item of /sms/bulk.
type smsInput struct {
	To      string `json:"to"`
	Message string `json:"message,omitempty"`
	From    string `json:"from,omitempty"`
	Flash   bool   `json:"flash,omitempty"` // class 0: shown at once, not stored
	// Binary is an 8-bit payload in base64, sent instead of a message (data_coding 4).
	Binary string `json:"binary,omitempty"`
}

// smsAccepted answers an accepted SMS.
type smsAccepted struct {
	MessageID string         `json:"message_id"`
	Status    message.Status `json:"status"`
	Parts     int            `json:"parts"`
	Encoding  string         `json:"encoding"`
}

// request validates an SMS as the messages API would (prefixing field paths) and
// counts its parts.
func (in smsInput) request(prefix string) (channel.Request, error) {
	req := channel.Request{Channel: "sms", To: in.To, From: in.From, Content: catalog.Content{Type: "text", Text: in.Message}}
	if in.Binary != "" {
		req.Content = catalog.Content{Type: "binary", Data: in.Binary, Text: in.Message}
	}
	if in.Flash {
		req.Options = map[string]any{"flash": true}
	}
	out, err := channel.Validate(req)
	if e, ok := err.(*errs.Error); ok {
		for i := range e.Fields {
			e.Fields[i].Field = prefix + smsField(e.Fields[i].Field)
		}
	}
	return out, err
}

// partsOf is the encoding and part count of an accepted SMS request.
func partsOf(req channel.Request) (string, int) {
	if req.Content.Type == "binary" {
		raw, _ := base64.StdEncoding.DecodeString(req.Content.Data)
		return "binary", channel.BinaryParts(len(raw))
	}
	return channel.SMSParts(req.Content.Text)
}

// smsField maps a messages-API field to its name in the SMS API.
func smsField(f string) string {
	switch f {
	case "content.text", "content", "content.type":
		return "message"
	case "content.data":
		return "binary"
	}
	return f
}

func (s *Server) sendSMS(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, channel.MaxRequestBytes, func(body []byte) (int, any, error) {
		var in smsInput
		if err := decodeJSON(body, &in); err != nil {
			return 0, nil, err
		}
		req, err := in.request("")
		if err != nil {
			return 0, nil, err
		}
		id, err := s.emitRequested(r, req)
		if err != nil {
			return 0, nil, err
		}
		enc, parts := partsOf(req)
		w.Header().Set("Location", "/api/v1/sms/"+id+"/status")
		return http.StatusAccepted, smsAccepted{MessageID: id, Status: message.Accepted, Parts: parts, Encoding: enc}, nil
	})
}

// bulkInput is many SMS in one call: either messages, or one message to many numbers.
type bulkInput struct {
	Messages []smsInput `json:"messages,omitempty"`
	To       []string   `json:"to,omitempty"`
	Message  string     `json:"message,omitempty"`
	From     string     `json:"from,omitempty"`
	Flash    bool       `json:"flash,omitempty"`
}

// bulkResult is one item's outcome, in request order.
type bulkResult struct {
	Index int `json:"index"`
	*smsAccepted
	Error *errorDetail `json:"error,omitempty"`
}

type bulkAnswer struct {
	Accepted int          `json:"accepted"`
	Rejected int          `json:"rejected"`
	Results  []bulkResult `json:"results"`
}

// sendBulk accepts every valid item and reports each invalid one, in request order;
// it answers 202 when at least one item was accepted, 422 when none was valid.
func (s *Server) sendBulk(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, 4*channel.MaxRequestBytes, func(body []byte) (int, any, error) {
		var in bulkInput
		if err := decodeJSON(body, &in); err != nil {
			return 0, nil, err
		}
		items := in.Messages
		if len(in.To) > 0 {
			if len(items) > 0 {
				return 0, nil, errs.E(errs.Invalid, "give either messages or to+message, not both")
			}
			for _, to := range in.To {
				items = append(items, smsInput{To: to, Message: in.Message, From: in.From, Flash: in.Flash})
			}
		}
		if len(items) == 0 || len(items) > maxBulk {
			return 0, nil, &errs.Error{Code: errs.Unprocessable, Message: "invalid bulk request",
				Fields: []errs.FieldViolation{{Field: "messages", Reason: fmt.Sprintf("1 to %d messages (or numbers in to)", maxBulk)}}}
		}
		answer := bulkAnswer{Results: make([]bulkResult, len(items))}
		var down error // set once the broker refuses: later items are not attempted
		for i, item := range items {
			answer.Results[i].Index = i
			req, err := item.request(fmt.Sprintf("messages[%d].", i))
			if err == nil && down != nil {
				err = errs.E(errs.Unavailable, "not sent: the event broker is unavailable; retry this item")
			}
			if err == nil {
				var id string
				if id, err = s.emitRequested(r, req); err == nil {
					enc, parts := partsOf(req)
					answer.Results[i].smsAccepted = &smsAccepted{MessageID: id, Status: message.Accepted, Parts: parts, Encoding: enc}
					answer.Accepted++
					continue
				}
				if errs.CodeOf(err) == errs.Unavailable {
					down = err
				}
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				e = errs.Wrap(errs.Internal, err, "item %d", i)
			}
			answer.Results[i].Error = &errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}
			answer.Rejected++
		}
		// Nothing emitted: fail the request as a whole, so a retry with the same key
		// does the work. Something emitted: the answer (kept for the key) says which
		// items went, so a retry never sends one twice.
		status := http.StatusAccepted
		switch {
		case answer.Accepted == 0 && down != nil:
			return 0, nil, down
		case answer.Accepted == 0:
			status = http.StatusUnprocessableEntity
		}
		return status, answer, nil
	})
}

// smsStatus is GET /api/v1/sms/{id}/status: the message record of an SMS.
func (s *Server) smsStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.Messages == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "message store not configured"))
		return
	}
	m, err := s.opts.Messages.Get(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"))
	if err == nil && m.Channel != "sms" {
		err = errs.E(errs.NotFound, "SMS %s not found", r.PathValue("id"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// smsHistory is GET /api/v1/sms/history: the tenant's SMS, newest first, paged.
func (s *Server) smsHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	q.Set("channel", "sms")
	r.URL.RawQuery = q.Encode()
	s.listMessages(w, r)
}
