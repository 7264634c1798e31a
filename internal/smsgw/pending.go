package smsgw

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// Pending keeps sent messages that await their delivery receipts, and their
// receipt deadlines, where they survive the gateway: with a durable Pending
// (internal/postgres) a gateway started after a crash completes the messages an
// earlier one sent, from their receipts or their deadlines. A message is known by
// (Carrier, SMSC id) of each of its parts. Every method takes ctx first; errors are
// *errs.Error. Implementations are safe for concurrent use, also by several
// gateways sharing one store.
//
// A message's outcome is handed out in two steps, so that a crash between them
// cannot lose it: Receipt (every part final) or Expire (deadline passed) hands the
// message out and keeps it, its Deadline moved to a redo time; whoever got it
// reports the outcome and then calls Finish, which removes it. A message not
// finished by its redo time (the reporter crashed, or its report failed) is handed
// out again, by Expire, or by Receipt when the SMSC resends the receipt its answer
// never reached. An outcome is thus reported at least once; consumers of the
// outcome events tolerate repeats.
type Pending interface {
	// Add records e (every part accepted; States and Codes may already hold
	// final receipts, nil for none). A part whose (Carrier, SMSC id) is known is
	// replaced.
	Add(ctx context.Context, e PendingEntry) error
	// Receipt records a final receipt for the part (carrier, smscID). known is
	// false when no pending message has that part. When every part of its message
	// is final (with this receipt, or already: a resent receipt of a message handed
	// out but not finished), the message is returned as done and its Deadline
	// becomes redo. A receipt of a message Expire handed out (Tries > 0) changes
	// nothing: its outcome is the receipt timeout.
	Receipt(ctx context.Context, carrier, smscID string, state sms.State, errorCode string, redo time.Time) (done *PendingEntry, known bool, err error)
	// Expire hands out up to limit messages whose Deadline is not after now,
	// earliest first, each with Tries one more than before (also in the store) and
	// its Deadline moved to redo.
	Expire(ctx context.Context, now, redo time.Time, limit int) ([]PendingEntry, error)
	// Finish removes a message whose outcome was reported. Finishing a message
	// not (or no longer) pending is no error.
	Finish(ctx context.Context, carrier, tenantID, messageID string) error
	// NextDeadline returns the earliest Deadline; ok is false when nothing is
	// pending.
	NextDeadline(ctx context.Context) (deadline time.Time, ok bool, err error)
}

// PendingEntry is one message awaiting receipts.
type PendingEntry struct {
	Carrier, TenantID, MessageID string
	SMSCIDs                      []string    // per part, in part order
	States                       []sms.State // per part: its final state, 0 = none yet (nil: none)
	Codes                        []string    // per part: its final receipt's err: code
	Deadline                     time.Time   // when its receipts are given up (handed out: when it is handed out again)
	Tries                        int         // times Expire handed it out
}

// Complete reports whether every part has a final state.
func (e PendingEntry) Complete() bool {
	for i := range e.SMSCIDs {
		if e.state(i) == 0 {
			return false
		}
	}
	return len(e.SMSCIDs) > 0
}

// Outcome is e's outcome once every part is final.
func (e PendingEntry) Outcome() Outcome {
	o := Outcome{TenantID: e.TenantID, MessageID: e.MessageID, Carrier: e.Carrier, Parts: len(e.SMSCIDs),
		SMSCIDs: slices.Clone(e.SMSCIDs), State: sms.StateDelivered}
	for i := range e.SMSCIDs {
		if st := e.state(i); st != sms.StateDelivered {
			o.State, o.ErrorCode = st, e.code(i)
			break
		}
	}
	return o
}

func (e PendingEntry) state(i int) sms.State {
	if i < len(e.States) {
		return e.States[i]
	}
	return 0
}

func (e PendingEntry) code(i int) string {
	if i < len(e.Codes) {
		return e.Codes[i]
	}
	return ""
}

// normalized returns a deep copy of e with States and Codes one per part.
func (e PendingEntry) normalized() PendingEntry {
	c := e
	c.SMSCIDs = slices.Clone(e.SMSCIDs)
	c.States = make([]sms.State, len(e.SMSCIDs))
	c.Codes = make([]string, len(e.SMSCIDs))
	for i := range e.SMSCIDs {
		c.States[i], c.Codes[i] = e.state(i), e.code(i)
	}
	return c
}

// Validate checks e can be added.
func (e PendingEntry) Validate() error {
	if e.Carrier == "" || e.MessageID == "" || len(e.SMSCIDs) == 0 {
		return errs.E(errs.Invalid, "smsgw: pending entry needs a carrier, a message id and SMSC ids")
	}
	for _, id := range e.SMSCIDs {
		if id == "" {
			return errs.E(errs.Invalid, "smsgw: pending entry has an empty SMSC id")
		}
	}
	if len(e.States) > len(e.SMSCIDs) || len(e.Codes) > len(e.SMSCIDs) {
		return errs.E(errs.Invalid, "smsgw: pending entry has more states than parts")
	}
	return nil
}

// MemPending is an in-memory Pending: what a gateway without WithPending keeps
// (in its own structures), as a Pending for tests and single-process use. Nothing
// survives the process.
type MemPending struct {
	mu    sync.Mutex
	parts map[string]*memPending // key(carrier, SMSC id)
}

type memPending struct{ e PendingEntry }

// NewMemPending returns an empty MemPending.
func NewMemPending() *MemPending { return &MemPending{parts: make(map[string]*memPending)} }

func (m *MemPending) Add(ctx context.Context, e PendingEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "smsgw: add pending")
	}
	p := &memPending{e: e.normalized()}
	p.e.Deadline = p.e.Deadline.UTC().Truncate(time.Microsecond)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range e.SMSCIDs {
		k := key(e.Carrier, id)
		if old, ok := m.parts[k]; ok {
			m.dropLocked(old)
		}
		m.parts[k] = p
	}
	return nil
}

func (m *MemPending) dropLocked(p *memPending) {
	for _, id := range p.e.SMSCIDs {
		if m.parts[key(p.e.Carrier, id)] == p {
			delete(m.parts, key(p.e.Carrier, id))
		}
	}
}

func (m *MemPending) Receipt(ctx context.Context, carrier, smscID string, state sms.State, errorCode string, redo time.Time) (*PendingEntry, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, errs.Wrap(errs.Unavailable, err, "smsgw: pending receipt")
	}
	if state == 0 {
		return nil, false, errs.E(errs.Invalid, "smsgw: pending receipt without a state")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.parts[key(carrier, smscID)]
	if !ok {
		return nil, false, nil
	}
	if p.e.Tries > 0 {
		return nil, true, nil // expired: its outcome is the receipt timeout
	}
	if part := slices.Index(p.e.SMSCIDs, smscID); p.e.States[part] == 0 {
		p.e.States[part], p.e.Codes[part] = state, errorCode
	}
	if !p.e.Complete() {
		return nil, true, nil // parts still open (a duplicate changes nothing)
	}
	p.e.Deadline = redo.UTC().Truncate(time.Microsecond)
	done := p.e.normalized()
	return &done, true, nil
}

func (m *MemPending) Expire(ctx context.Context, now, redo time.Time, limit int) ([]PendingEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "smsgw: expire pending")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*memPending
	seen := map[*memPending]bool{}
	for _, p := range m.parts {
		if !seen[p] && !p.e.Deadline.After(now) {
			seen[p] = true
			due = append(due, p)
		}
	}
	slices.SortFunc(due, func(a, b *memPending) int { return a.e.Deadline.Compare(b.e.Deadline) })
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	out := make([]PendingEntry, 0, len(due))
	for _, p := range due {
		p.e.Tries++
		p.e.Deadline = redo.UTC().Truncate(time.Microsecond)
		out = append(out, p.e.normalized())
	}
	return out, nil
}

func (m *MemPending) Finish(ctx context.Context, carrier, tenantID, messageID string) error {
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "smsgw: finish pending")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.parts {
		if p.e.Carrier == carrier && p.e.TenantID == tenantID && p.e.MessageID == messageID {
			m.dropLocked(p)
		}
	}
	return nil
}

func (m *MemPending) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, errs.Wrap(errs.Unavailable, err, "smsgw: next pending deadline")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var first time.Time
	for _, p := range m.parts {
		if first.IsZero() || p.e.Deadline.Before(first) {
			first = p.e.Deadline
		}
	}
	return first, !first.IsZero(), nil
}
