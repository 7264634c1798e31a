package message

// Input checks shared by every Store implementation (internal/postgres,
// internal/inmem), so that the adapters accept and reject exactly the same input.

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// PrepareUpdate checks the input of Store.Apply and normalizes it: MessageID becomes
// its canonical UUID form, and Entry.At (now when zero) becomes UTC, truncated to the
// microsecond. It returns an *errs.Error with code Invalid for an empty tenant id or
// event id, a message id that is not a UUID, an unknown status, or Content or
// Entry.Detail that is not JSON.
func PrepareUpdate(u Update, now time.Time) (Update, error) {
	id, err := uuid.Parse(u.MessageID)
	switch {
	case u.TenantID == "":
		return u, errs.E(errs.Invalid, "message update: tenant id is empty")
	case err != nil:
		return u, errs.E(errs.Invalid, "message update: message id %q is not a UUID", u.MessageID)
	case u.Entry.EventID == "":
		return u, errs.E(errs.Invalid, "message %s: event id is empty", u.MessageID)
	case !Valid(u.Entry.Status):
		return u, errs.E(errs.Invalid, "message %s: unknown status %q", u.MessageID, u.Entry.Status)
	case len(u.Content) > 0 && !json.Valid(u.Content):
		return u, errs.E(errs.Invalid, "message %s: content is not JSON", u.MessageID)
	case len(u.Entry.Detail) > 0 && !json.Valid(u.Entry.Detail):
		return u, errs.E(errs.Invalid, "message %s: event %s: detail is not JSON", u.MessageID, u.Entry.EventID)
	}
	u.MessageID = id.String()
	if u.Entry.At.IsZero() {
		u.Entry.At = now
	}
	u.Entry.At = u.Entry.At.UTC().Truncate(time.Microsecond)
	return u, nil
}

// NewMessage returns the record that u creates for a message not yet known: created
// and updated now, with what Advance takes from u.
func NewMessage(u Update, now time.Time) Message {
	m := Message{ID: u.MessageID, TenantID: u.TenantID, CreatedAt: now}
	m.Advance(u, now)
	return m
}

// Advance applies a newly recorded event to m, the one rule both stores follow: the
// status moves up only when the event's ranks higher, empty descriptive fields take
// the event's, and UpdatedAt becomes now. The first move to a terminal status sets
// FinishedAt to now (delivered → read keeps it); the first RequestedType entry sets
// AcceptedAt to its At, whenever it is recorded.
func (m *Message) Advance(u Update, now time.Time) {
	if Rank(u.Entry.Status) > Rank(m.Status) {
		if Terminal(u.Entry.Status) && !Terminal(m.Status) {
			m.FinishedAt = &now
		}
		m.Status = u.Entry.Status
	}
	if u.Entry.Type == RequestedType && m.AcceptedAt == nil {
		at := u.Entry.At
		m.AcceptedAt = &at
	}
	if m.Channel == "" {
		m.Channel = u.Channel
	}
	if m.To == "" {
		m.To = u.To
	}
	if m.From == "" {
		m.From = u.From
	}
	if len(m.Content) == 0 && len(u.Content) > 0 {
		m.Content = u.Content
	}
	m.UpdatedAt = now
}
