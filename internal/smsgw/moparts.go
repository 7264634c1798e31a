package smsgw

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// MOParts keeps the parts of concatenated mobile-originated messages until they are
// all in, where they survive the gateway: with a durable MOParts (internal/postgres)
// a gateway started after a crash completes the messages whose first parts an
// earlier one acknowledged. Every method takes ctx first; errors are *errs.Error.
// Implementations are safe for concurrent use, also by several gateways sharing one
// store.
//
// A message is known by its MOKey. Like Pending, it is handed out in two steps so
// that a crash between them cannot lose it: Add (its last part came) or Expire (its
// deadline passed) hands it out with its Deadline moved to a redo time; whoever got
// it reports it and then calls Finish, or Release when the report failed. Finish
// keeps the message, parts and all, as finished until a time given, so that a part
// the SMSC sends again (its deliver_sm_resp was lost) is recognised and dropped.
type MOParts interface {
	// Add records a part; p.ReceivedAt is now. A message's first part sets its
	// Deadline to deadline. A part whose Seq the message holds already is a
	// duplicate and changes nothing (the first is kept). When the message holds
	// every part 1..Total and either p completed it or it is not handed out (its
	// Deadline is not after p.ReceivedAt: released), it is handed out: returned
	// with its Deadline moved to redo. A part of a finished message with the Seq
	// and Body of one it held is a resend and changes nothing; any other part of a
	// finished message starts a new message under its key (the sender reused the
	// reference).
	Add(ctx context.Context, p MOPart, deadline, redo time.Time) (done *MOMessage, err error)
	// Expire hands out up to limit unfinished messages whose Deadline is not after
	// now, earliest first, each with Tries one more than before (also in the store)
	// and its Deadline moved to redo, complete or not. Finished messages whose
	// Deadline passed are removed.
	Expire(ctx context.Context, now, redo time.Time, limit int) ([]MOMessage, error)
	// Release makes a handed-out message due at at (its report failed): its next
	// part, or Expire from at on, hands it out again.
	Release(ctx context.Context, k MOKey, at time.Time) error
	// Finish marks a message reported and keeps it until keep to drop resent parts.
	// Finishing a message not (or no longer) held is no error.
	Finish(ctx context.Context, k MOKey, keep time.Time) error
	// NextDeadline returns the earliest Deadline; ok is false when nothing is held.
	NextDeadline(ctx context.Context) (deadline time.Time, ok bool, err error)
}

// MOKey names a concatenated message: the carrier it came from, its sender and
// recipient, its reference (sms.Concat.Ref: kind and number) and its part count.
type MOKey struct {
	Carrier, From, To, Ref string
	Total                  int
}

// MOPart is one part of a concatenated mobile-originated message.
type MOPart struct {
	MOKey
	Seq        int    // 1..Total
	DataCoding byte   // as received
	Body       []byte // the user data after the UDH, GSM-7 unpacked (client.MO.Body)
	ReceivedAt time.Time
}

// MOMessage is a concatenated message handed out: its parts so far, in Seq order.
type MOMessage struct {
	MOKey
	Parts    []MOPart
	Deadline time.Time // when it is handed out again unless finished
	Tries    int       // times Expire handed it out
}

// Complete reports whether every part is in.
func (m MOMessage) Complete() bool { return len(m.Parts) == m.Total }

// FirstReceived is when its earliest part arrived.
func (m MOMessage) FirstReceived() time.Time {
	var first time.Time
	for _, p := range m.Parts {
		if first.IsZero() || p.ReceivedAt.Before(first) {
			first = p.ReceivedAt
		}
	}
	return first
}

// Validate checks p can be added.
func (p MOPart) Validate() error {
	var v []errs.FieldViolation
	if p.Carrier == "" {
		v = append(v, errs.FieldViolation{Field: "carrier", Reason: "must not be empty"})
	}
	if p.Ref == "" {
		v = append(v, errs.FieldViolation{Field: "ref", Reason: "must not be empty"})
	}
	if p.Total < 2 || p.Total > 255 {
		v = append(v, errs.FieldViolation{Field: "total", Reason: "must be 2 to 255"})
	}
	if p.Seq < 1 || p.Seq > p.Total {
		v = append(v, errs.FieldViolation{Field: "seq", Reason: "must be 1 to total"})
	}
	if p.ReceivedAt.IsZero() {
		v = append(v, errs.FieldViolation{Field: "received_at", Reason: "must be set"})
	}
	if len(v) == 0 {
		return nil
	}
	e := errs.E(errs.Invalid, "smsgw: invalid MO part")
	e.Fields = v
	return e
}

// MemMOParts is an in-memory MOParts: what a gateway keeps without WithMOParts.
// Nothing survives the process.
type MemMOParts struct {
	mu   sync.Mutex
	msgs map[MOKey]*memMO
}

type memMO struct {
	parts    map[int]MOPart
	deadline time.Time
	tries    int
	finished bool
}

// NewMemMOParts returns an empty MemMOParts.
func NewMemMOParts() *MemMOParts { return &MemMOParts{msgs: make(map[MOKey]*memMO)} }

var _ MOParts = (*MemMOParts)(nil)

func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (m *MemMOParts) Add(ctx context.Context, p MOPart, deadline, redo time.Time) (*MOMessage, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "smsgw: add MO part")
	}
	p.Body, p.ReceivedAt = slices.Clone(p.Body), storedTime(p.ReceivedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.msgs[p.MOKey]
	if g != nil && g.finished {
		if old, ok := g.parts[p.Seq]; ok && bytes.Equal(old.Body, p.Body) {
			return nil, nil // resent after it was reported
		}
		g = nil // the reference reused: a new message
	}
	if g == nil {
		g = &memMO{parts: make(map[int]MOPart), deadline: storedTime(deadline)}
		m.msgs[p.MOKey] = g
	}
	_, dup := g.parts[p.Seq]
	if !dup {
		g.parts[p.Seq] = p
	}
	if len(g.parts) < p.Total || dup && g.deadline.After(p.ReceivedAt) {
		return nil, nil
	}
	g.deadline = storedTime(redo)
	out := g.message(p.MOKey)
	return &out, nil
}

func (g *memMO) message(k MOKey) MOMessage {
	out := MOMessage{MOKey: k, Deadline: g.deadline, Tries: g.tries}
	for _, p := range g.parts {
		p.Body = slices.Clone(p.Body)
		out.Parts = append(out.Parts, p)
	}
	slices.SortFunc(out.Parts, func(a, b MOPart) int { return a.Seq - b.Seq })
	return out
}

func (m *MemMOParts) Expire(ctx context.Context, now, redo time.Time, limit int) ([]MOMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "smsgw: expire MO parts")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []MOKey
	for k, g := range m.msgs {
		switch {
		case g.deadline.After(now):
		case g.finished:
			delete(m.msgs, k)
		default:
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b MOKey) int { return m.msgs[a].deadline.Compare(m.msgs[b].deadline) })
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	out := make([]MOMessage, 0, len(due))
	for _, k := range due {
		g := m.msgs[k]
		g.tries++
		g.deadline = storedTime(redo)
		out = append(out, g.message(k))
	}
	return out, nil
}

func (m *MemMOParts) Release(ctx context.Context, k MOKey, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "smsgw: release MO message")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.msgs[k]; g != nil && !g.finished {
		g.deadline = storedTime(at)
	}
	return nil
}

func (m *MemMOParts) Finish(ctx context.Context, k MOKey, keep time.Time) error {
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "smsgw: finish MO message")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.msgs[k]; g != nil {
		g.finished, g.deadline = true, storedTime(keep)
	}
	return nil
}

func (m *MemMOParts) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, errs.Wrap(errs.Unavailable, err, "smsgw: next MO deadline")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var first time.Time
	ok := false
	for _, g := range m.msgs {
		if !ok || g.deadline.Before(first) {
			first, ok = g.deadline, true
		}
	}
	return first, ok, nil
}
