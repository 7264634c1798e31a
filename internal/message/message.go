// Package message is the message record: every message's current status and its full
// history, built from the io.catalyst.message.* events by the message-record
// function and read through the messages API. Adapters (internal/postgres,
// internal/inmem) implement Store and pass storetest's contract.
package message

import (
	"context"
	"encoding/json"
	"time"
)

// Status is where a message stands. Statuses are ordered (Rank); an event only moves
// a message forward, so events arriving out of order never move a terminal status
// backwards.
type Status string

const (
	Accepted  Status = "accepted"  // io.catalyst.message.requested
	Screened  Status = "screened"  // message.screened, decision pass
	Held      Status = "held"      // message.screened, decision hold (review queue)
	Throttled Status = "throttled" // message.screened, decision throttle
	Sent      Status = "sent"      // message.sent: handed to the channel
	Delivered Status = "delivered" // message.delivered (terminal)
	Read      Status = "read"      // message.read (terminal; may follow delivered)
	Failed    Status = "failed"    // message.failed (terminal)
	Blocked   Status = "blocked"   // message.screened, decision block (terminal)
	Received  Status = "received"  // message.inbound: a message from a user (terminal)
)

var rank = map[Status]int{
	Accepted: 0, Screened: 1, Held: 1, Throttled: 1, Sent: 2,
	Delivered: 3, Failed: 3, Blocked: 3, Received: 3, Read: 4,
}

// Rank orders statuses; an update applies only when it ranks higher than the current
// status. Terminal statuses rank 3 or more: once delivered, failed or blocked, only
// read (after delivered) can follow.
func Rank(s Status) int {
	r, ok := rank[s]
	if !ok {
		return -1
	}
	return r
}

// Terminal reports whether no later event may change s (except delivered → read).
func Terminal(s Status) bool { return Rank(s) >= 3 }

// Valid reports whether s is a known status.
func Valid(s Status) bool { _, ok := rank[s]; return ok }

// Message is one message's record.
type Message struct {
	ID        string          `json:"message_id"`
	TenantID  string          `json:"tenant_id"`
	Channel   string          `json:"channel"`
	To        string          `json:"to"`
	From      string          `json:"from,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	Status    Status          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// AcceptedAt is the At of the message's RequestedType entry: when the API
	// accepted it. Nil until that entry is recorded (and for inbound messages).
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	// FinishedAt is when the store recorded the message's first terminal status (its
	// clock, like UpdatedAt); nil while the status is not terminal. A later status
	// (delivered → read) does not move it.
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	History    []Entry    `json:"history"`
}

// RequestedType is the event type of a message's request, the entry that sets
// AcceptedAt (catalog.MessageRequestedType; message does not import the catalogue).
const RequestedType = "io.catalyst.message.requested"

// Entry is one event in a message's history, in the order it was recorded.
type Entry struct {
	EventID string          `json:"event_id"`
	Type    string          `json:"type"`
	Status  Status          `json:"status"` // the status this event signals
	At      time.Time       `json:"at"`     // the event's time (or when recorded, if it had none)
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// Update is one message event to record.
type Update struct {
	TenantID  string
	MessageID string
	// Channel, To, From and Content describe the message; the first event of a message
	// that carries them (message.requested) sets them, later ones leave them.
	Channel string
	To      string
	From    string
	Content json.RawMessage
	Entry   Entry
}

// Filter selects messages for List. Zero fields do not filter.
type Filter struct {
	Status  Status
	Channel string
	Since   time.Time // created at or after
	Until   time.Time // created before
	Cursor  string    // from the previous page's NextCursor
	Limit   int       // 0 means DefaultLimit (50); at most MaxLimit (200)
}

// Page is one page of List, newest first; NextCursor is empty on the last page.
type Page struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Store persists message records. Errors are *errs.Error: NotFound for an unknown
// message (or one of another tenant), Invalid for a bad cursor or filter.
type Store interface {
	// Apply records one event idempotently: a repeated event id changes nothing. It
	// creates the message when unknown, appends the entry to its history and moves
	// its status to Entry.Status when that ranks higher. It returns the record after.
	Apply(ctx context.Context, u Update) (Message, error)
	// ApplyBatch records every update as Apply does, in order, in one transaction
	// where the store has them: the message record's writer under load, one round
	// trip per batch instead of per event. It is all or nothing; an update Apply
	// would refuse (PrepareUpdate) fails the whole batch, so callers check each
	// first.
	ApplyBatch(ctx context.Context, us []Update) error
	// Get returns the tenant's message with its history (History in recorded order).
	Get(ctx context.Context, tenantID, messageID string) (Message, error)
	// List returns the tenant's messages, newest first, without histories.
	List(ctx context.Context, tenantID string, f Filter) (Page, error)
	// Stats counts the tenant's messages created in [f.Since, f.Until) by status and
	// summarises the latency of the delivered ones (see Stats). A zero f.Since, or an
	// f.Until not after it, is Invalid with the field named.
	Stats(ctx context.Context, tenantID string, f StatsFilter) (Stats, error)
}
