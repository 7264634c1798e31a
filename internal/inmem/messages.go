package inmem

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// MessageStore is message.Store in memory.
type MessageStore struct {
	now  func() time.Time
	mu   sync.Mutex
	msgs map[string]map[string]*record // tenant id → message id → record
}

// record is one stored message and the event ids already applied to it.
type record struct {
	msg    message.Message
	events map[string]bool
}

var _ message.Store = (*MessageStore)(nil)

func newMessageStore(now func() time.Time) *MessageStore {
	return &MessageStore{now: now, msgs: map[string]map[string]*record{}}
}

// cloneMessage deep-copies m; withHistory false leaves History nil.
func cloneMessage(m message.Message, withHistory bool) message.Message {
	m.Content = cloneBytes(m.Content)
	m.AcceptedAt, m.FinishedAt = cloneTime(m.AcceptedAt), cloneTime(m.FinishedAt)
	h := m.History
	m.History = nil
	if withHistory {
		m.History = make([]message.Entry, len(h))
		for i, e := range h {
			e.Detail = cloneBytes(e.Detail)
			m.History[i] = e
		}
	}
	return m
}

// cloneTime copies *t; nil stays nil.
func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// Apply implements message.Store; see postgres.MessageStore.Apply.
func (s *MessageStore) Apply(_ context.Context, u message.Update) (message.Message, error) {
	now := s.now()
	u, err := message.PrepareUpdate(u, now)
	if err != nil {
		return message.Message{}, err
	}
	u.Content, u.Entry.Detail = cloneBytes(u.Content), cloneBytes(u.Entry.Detail)
	s.mu.Lock()
	defer s.mu.Unlock()
	byID := s.msgs[u.TenantID]
	if byID == nil {
		byID = map[string]*record{}
		s.msgs[u.TenantID] = byID
	}
	r := byID[u.MessageID]
	switch {
	case r == nil:
		r = &record{msg: message.NewMessage(u, now), events: map[string]bool{}}
		byID[u.MessageID] = r
	case r.events[u.Entry.EventID]:
		return cloneMessage(r.msg, true), nil
	default:
		r.msg.Advance(u, now)
	}
	r.events[u.Entry.EventID] = true
	r.msg.History = append(r.msg.History, u.Entry)
	return cloneMessage(r.msg, true), nil
}

// ApplyBatch implements message.Store: every update checked first, then each
// applied as Apply does.
func (s *MessageStore) ApplyBatch(ctx context.Context, us []message.Update) error {
	now := s.now()
	for _, u := range us {
		if _, err := message.PrepareUpdate(u, now); err != nil {
			return err
		}
	}
	for _, u := range us {
		if _, err := s.Apply(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// Get implements message.Store.
func (s *MessageStore) Get(_ context.Context, tenantID, messageID string) (message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, err := uuid.Parse(messageID); err == nil {
		if r := s.msgs[tenantID][id.String()]; r != nil {
			return cloneMessage(r.msg, true), nil
		}
	}
	return message.Message{}, errs.E(errs.NotFound, "message %s not found", messageID)
}

// List implements message.Store: newest first by (CreatedAt, ID), keyset-paged.
func (s *MessageStore) List(_ context.Context, tenantID string, f message.Filter) (message.Page, error) {
	f, cur, err := f.Normalize()
	if err != nil {
		return message.Page{}, err
	}
	s.mu.Lock()
	var msgs []message.Message
	for _, r := range s.msgs[tenantID] {
		m := r.msg
		switch {
		case f.Status != "" && m.Status != f.Status,
			f.Channel != "" && m.Channel != f.Channel,
			!f.Since.IsZero() && m.CreatedAt.Before(f.Since),
			!f.Until.IsZero() && !m.CreatedAt.Before(f.Until),
			!cur.IsZero() && !before(m, cur):
			continue
		}
		msgs = append(msgs, cloneMessage(m, false))
	}
	s.mu.Unlock()
	sort.Slice(msgs, func(i, j int) bool {
		return before(msgs[j], message.Cursor{CreatedAt: msgs[i].CreatedAt, ID: msgs[i].ID})
	})
	page := message.Page{Messages: msgs}
	if len(msgs) > f.Limit {
		page.Messages = msgs[:f.Limit]
		page.NextCursor = message.EncodeCursor(page.Messages[f.Limit-1])
	}
	if page.Messages == nil {
		page.Messages = []message.Message{}
	}
	return page, nil
}

// Stats implements message.Store; see postgres.MessageStore.Stats.
func (s *MessageStore) Stats(_ context.Context, tenantID string, f message.StatsFilter) (message.Stats, error) {
	f, err := f.Normalize()
	if err != nil {
		return message.Stats{}, err
	}
	st := message.NewStats(f)
	var us []int64
	s.mu.Lock()
	for _, r := range s.msgs[tenantID] {
		m := r.msg
		if m.CreatedAt.Before(f.Since) || !f.Until.IsZero() && !m.CreatedAt.Before(f.Until) {
			continue
		}
		st.Total++
		st.ByStatus[m.Status]++
		if (m.Status == message.Delivered || m.Status == message.Read) && m.AcceptedAt != nil && m.FinishedAt != nil {
			us = append(us, m.FinishedAt.Sub(*m.AcceptedAt).Microseconds())
		}
	}
	s.mu.Unlock()
	st.Latency = message.LatencyOf(us)
	return st, nil
}

// before reports whether m comes after c in newest-first order: (CreatedAt, ID) is
// smaller. Canonical UUID strings compare as their bytes do, as in PostgreSQL.
func before(m message.Message, c message.Cursor) bool {
	if !m.CreatedAt.Equal(c.CreatedAt) {
		return m.CreatedAt.Before(c.CreatedAt)
	}
	return m.ID < c.ID
}
