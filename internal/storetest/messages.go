package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// MessageStore runs the message.Store contract against the stores newStore returns.
func MessageStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) message.Store) {
	for _, tc := range slices.Concat(messageCases, batchCases, listCases, statsCases) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, &messageEnv{s: newStore(t, clock.Now), clock: clock, ctx: context.Background(), tenant: newID("tenant")})
		})
	}
}

type messageCase struct {
	name string
	run  func(t *testing.T, e *messageEnv)
}

type messageEnv struct {
	s      message.Store
	clock  *Clock
	ctx    context.Context
	tenant string // the subtest's own tenant
}

var content = json.RawMessage(`{"text":"Your code is 123456","encoding":"gsm7"}`)

// requested is the first event of a message: it carries the description.
func (e *messageEnv) requested(id string) message.Update {
	return message.Update{
		TenantID: e.tenant, MessageID: id,
		Channel: "sms", To: "+447700900123", From: "Catalyst", Content: content,
		Entry: message.Entry{EventID: newID("ev"), Type: "io.catalyst.message.requested", Status: message.Accepted, At: e.clock.Now()},
	}
}

// event is a later event of a message, with no description.
func (e *messageEnv) event(id string, s message.Status) message.Update {
	return message.Update{
		TenantID: e.tenant, MessageID: id,
		Entry: message.Entry{EventID: newID("ev"), Type: "io.catalyst.message." + string(s), Status: s, At: e.clock.Now()},
	}
}

func (e *messageEnv) apply(t *testing.T, u message.Update) message.Message {
	t.Helper()
	m, err := e.s.Apply(e.ctx, u)
	if err != nil {
		t.Fatalf("Apply(%s %s): %v", u.MessageID, u.Entry.EventID, err)
	}
	return m
}

func (e *messageEnv) get(t *testing.T, id string) message.Message {
	t.Helper()
	m, err := e.s.Get(e.ctx, e.tenant, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return m
}

// wantHistory fails unless m's history holds exactly these event ids, in order.
func wantHistory(t *testing.T, m message.Message, eventIDs ...string) {
	t.Helper()
	var got []string
	for _, h := range m.History {
		got = append(got, h.EventID)
	}
	if strings.Join(got, ",") != strings.Join(eventIDs, ",") {
		t.Fatalf("history of %s = %v, want %v", m.ID, got, eventIDs)
	}
}

func wantDescription(t *testing.T, m message.Message, u message.Update) {
	t.Helper()
	if m.Channel != u.Channel || m.To != u.To || m.From != u.From || !jsonEqual(m.Content, u.Content) {
		t.Errorf("message = channel %q to %q from %q content %s, want %q %q %q %s",
			m.Channel, m.To, m.From, m.Content, u.Channel, u.To, u.From, u.Content)
	}
}

var messageCases = []messageCase{
	{"apply creates the message", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		u := e.requested(id)
		u.Entry.At = e.clock.Now().Add(-time.Second)
		u.Entry.Detail = json.RawMessage(`{"api_request":"req-1"}`)
		m := e.apply(t, u)
		if m.ID != id || m.TenantID != e.tenant || m.Status != message.Accepted {
			t.Errorf("Apply = id %s tenant %s status %s, want %s %s %s", m.ID, m.TenantID, m.Status, id, e.tenant, message.Accepted)
		}
		wantDescription(t, m, u)
		wantTime(t, "CreatedAt", m.CreatedAt, e.clock.Now())
		wantTime(t, "UpdatedAt", m.UpdatedAt, e.clock.Now())
		wantHistory(t, m, u.Entry.EventID)
		h := m.History[0]
		if h.Type != u.Entry.Type || h.Status != message.Accepted || !jsonEqual(h.Detail, u.Entry.Detail) {
			t.Errorf("entry = %+v, want %+v", h, u.Entry)
		}
		wantTime(t, "entry At", h.At, u.Entry.At)
		e.clock.Advance(time.Minute)
		got := e.get(t, id)
		wantDescription(t, got, u)
		wantHistory(t, got, u.Entry.EventID)
		if !got.CreatedAt.Equal(m.CreatedAt) || !got.UpdatedAt.Equal(m.UpdatedAt) || got.Status != m.Status {
			t.Errorf("Get = %+v, want what Apply returned, %+v", got, m)
		}
	}},
	{"a repeated event changes nothing", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		u := e.requested(id)
		first := e.apply(t, u)
		e.clock.Advance(time.Minute)
		again := u
		again.Channel, again.Entry.Status = "whatsapp", message.Delivered // same event id
		for range 2 {
			m := e.apply(t, again)
			wantHistory(t, m, u.Entry.EventID)
			if m.Status != message.Accepted || m.Channel != "sms" || !m.UpdatedAt.Equal(first.UpdatedAt) {
				t.Errorf("after a repeat: status %s channel %s updated %v, want %s sms %v",
					m.Status, m.Channel, m.UpdatedAt, message.Accepted, first.UpdatedAt)
			}
		}
		wantHistory(t, e.get(t, id), u.Entry.EventID)
	}},
	{"status moves only up the lattice", func(t *testing.T, e *messageEnv) {
		for _, c := range []struct {
			seq  []message.Status
			want message.Status
		}{
			{[]message.Status{message.Accepted, message.Screened, message.Sent}, message.Sent},
			{[]message.Status{message.Accepted, message.Delivered, message.Sent}, message.Delivered},
			{[]message.Status{message.Accepted, message.Failed, message.Delivered}, message.Failed},
			{[]message.Status{message.Accepted, message.Delivered, message.Failed}, message.Delivered},
			{[]message.Status{message.Accepted, message.Delivered, message.Read}, message.Read},
			{[]message.Status{message.Accepted, message.Read, message.Delivered}, message.Read},
			{[]message.Status{message.Accepted, message.Held, message.Throttled, message.Screened}, message.Held},
			{[]message.Status{message.Accepted, message.Blocked, message.Sent}, message.Blocked},
			{[]message.Status{message.Sent, message.Accepted}, message.Sent},
			{[]message.Status{message.Delivered}, message.Delivered},
		} {
			id := uuid.NewString()
			var m message.Message
			for i, s := range c.seq {
				u := e.event(id, s)
				if i == 0 {
					u = e.requested(id)
					u.Entry.Status = s
				}
				m = e.apply(t, u)
			}
			if m.Status != c.want || len(m.History) != len(c.seq) {
				t.Errorf("%v: status %s with %d entries, want %s with %d", c.seq, m.Status, len(m.History), c.want, len(c.seq))
			}
			if got := e.get(t, id); got.Status != c.want {
				t.Errorf("%v: Get status %s, want %s", c.seq, got.Status, c.want)
			}
		}
	}},
	{"history keeps recorded order, not event time", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		var ids []string
		var ats []time.Time
		for i, s := range []message.Status{message.Accepted, message.Sent, message.Delivered, message.Read} {
			u := e.event(id, s)
			u.Entry.At = start.Add(-time.Duration(i) * time.Hour) // later events, earlier times
			e.apply(t, u)
			ids, ats = append(ids, u.Entry.EventID), append(ats, u.Entry.At)
		}
		m := e.get(t, id)
		wantHistory(t, m, ids...)
		for i, h := range m.History {
			wantTime(t, fmt.Sprintf("entry %d At", i), h.At, ats[i])
		}
	}},
	{"an entry without a time gets now", func(t *testing.T, e *messageEnv) {
		u := e.requested(uuid.NewString())
		u.Entry.At = time.Time{}
		e.clock.Advance(time.Second)
		m := e.apply(t, u)
		wantTime(t, "entry At", m.History[0].At, e.clock.Now())
	}},
	{"later events do not overwrite the description", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		first := e.requested(id)
		e.apply(t, first)
		e.clock.Advance(time.Minute)
		m := e.apply(t, e.event(id, message.Sent))
		wantDescription(t, m, first)
		wantTime(t, "UpdatedAt", m.UpdatedAt, e.clock.Now())
		wantTime(t, "CreatedAt", m.CreatedAt, start)
		other := e.requested(id)
		other.Channel, other.To, other.From, other.Content = "whatsapp", "+15550100", "Other", json.RawMessage(`{"text":"x"}`)
		other.Entry.Status = message.Delivered
		m = e.apply(t, other)
		wantDescription(t, m, first)
		if m.Status != message.Delivered {
			t.Errorf("status %s, want %s", m.Status, message.Delivered)
		}
		wantDescription(t, e.get(t, id), first)
	}},
	{"the first event that carries the description sets it", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		m := e.apply(t, e.event(id, message.Delivered)) // the receipt overtook the request
		if m.Channel != "" || m.To != "" || len(m.Content) != 0 || m.Status != message.Delivered {
			t.Errorf("created from a bare event: %+v, want no description and status delivered", m)
		}
		req := e.requested(id)
		m = e.apply(t, req)
		wantDescription(t, m, req)
		if m.Status != message.Delivered || len(m.History) != 2 {
			t.Errorf("status %s with %d entries, want delivered with 2", m.Status, len(m.History))
		}
	}},
	{"message ids are UUIDs, compared canonically", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		m := e.apply(t, e.requested(strings.ToUpper(id)))
		if m.ID != id {
			t.Errorf("ID = %s, want canonical %s", m.ID, id)
		}
		if got := e.get(t, strings.ToUpper(id)); got.ID != id {
			t.Errorf("Get by upper case: ID = %s, want %s", got.ID, id)
		}
		_, err := e.s.Get(e.ctx, e.tenant, "not-a-uuid")
		wantCode(t, err, errs.NotFound)
	}},
	{"bad updates are Invalid and record nothing", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		for _, c := range []struct {
			name string
			edit func(*message.Update)
		}{
			{"no tenant", func(u *message.Update) { u.TenantID = "" }},
			{"message id not a UUID", func(u *message.Update) { u.MessageID = "msg-1" }},
			{"no event id", func(u *message.Update) { u.Entry.EventID = "" }},
			{"unknown status", func(u *message.Update) { u.Entry.Status = "lost" }},
			{"content not JSON", func(u *message.Update) { u.Content = json.RawMessage(`{"text":`) }},
			{"detail not JSON", func(u *message.Update) { u.Entry.Detail = json.RawMessage(`nope`) }},
		} {
			u := e.requested(id)
			c.edit(&u)
			_, err := e.s.Apply(e.ctx, u)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("%s: error %v, want code %q", c.name, err, errs.Invalid)
			}
		}
		_, err := e.s.Get(e.ctx, e.tenant, id)
		wantCode(t, err, errs.NotFound)
	}},
	{"get unknown is NotFound", func(t *testing.T, e *messageEnv) {
		_, err := e.s.Get(e.ctx, e.tenant, uuid.NewString())
		wantCode(t, err, errs.NotFound)
	}},
	{"concurrent events are all recorded and the status ends at the highest rank", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		const n = 20
		updates := make([]message.Update, n)
		for i := range updates {
			s := []message.Status{message.Accepted, message.Screened, message.Sent}[i%3]
			if i == 13 {
				s = message.Delivered
			}
			updates[i] = e.event(id, s)
		}
		updates[0] = e.requested(id) // races the others: it may not be first
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for _, u := range updates {
			wg.Go(func() {
				if _, err := e.s.Apply(e.ctx, u); err != nil {
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Errorf("concurrent Apply: %v", err)
		}
		m := e.get(t, id)
		if m.Status != message.Delivered {
			t.Errorf("status %s, want %s", m.Status, message.Delivered)
		}
		wantDescription(t, m, updates[0])
		seen := map[string]int{}
		for _, h := range m.History {
			seen[h.EventID]++
		}
		for _, u := range updates {
			if seen[u.Entry.EventID] != 1 {
				t.Errorf("event %s recorded %d times, want once", u.Entry.EventID, seen[u.Entry.EventID])
			}
		}
		if len(m.History) != n {
			t.Errorf("history has %d entries, want %d", len(m.History), n)
		}
	}},
	{"concurrent repeats of one event are recorded once", func(t *testing.T, e *messageEnv) {
		u := e.requested(uuid.NewString())
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := e.s.Apply(e.ctx, u); err != nil {
					t.Errorf("concurrent Apply: %v", err)
				}
			})
		}
		wg.Wait()
		wantHistory(t, e.get(t, u.MessageID), u.Entry.EventID)
	}},
	{"tenants do not see each other's messages", func(t *testing.T, e *messageEnv) {
		id := uuid.NewString()
		a := e.requested(id)
		e.apply(t, a)
		other := &messageEnv{s: e.s, clock: e.clock, ctx: e.ctx, tenant: newID("tenant")}
		_, err := e.s.Get(e.ctx, other.tenant, id)
		wantCode(t, err, errs.NotFound)
		page, err := e.s.List(e.ctx, other.tenant, message.Filter{})
		mustNot(t, err)
		if len(page.Messages) != 0 {
			t.Fatalf("tenant B lists %d messages, want none", len(page.Messages))
		}
		b := other.requested(id) // the same message id, in tenant B
		b.Channel = "whatsapp"
		if m := other.apply(t, b); m.TenantID != other.tenant || m.Channel != "whatsapp" || len(m.History) != 1 {
			t.Errorf("tenant B's record = %+v, want its own", m)
		}
		got := e.get(t, id)
		wantDescription(t, got, a)
		wantHistory(t, got, a.Entry.EventID)
		page, err = e.s.List(e.ctx, other.tenant, message.Filter{})
		mustNot(t, err)
		if len(page.Messages) != 1 || page.Messages[0].TenantID != other.tenant {
			t.Errorf("tenant B lists %+v, want only its own message", page.Messages)
		}
	}},
	{"messages are copied in and out", func(t *testing.T, e *messageEnv) {
		u := e.requested(uuid.NewString())
		u.Content = json.RawMessage(`{"text":"one"}`)
		u.Entry.Detail = json.RawMessage(`{"n":1}`)
		m := e.apply(t, u)
		u.Content[10], u.Entry.Detail[5] = 'X', '9'
		m.Content[10], m.History[0].Detail[5] = 'Y', '8'
		got := e.get(t, u.MessageID)
		if !jsonEqual(got.Content, []byte(`{"text":"one"}`)) || !jsonEqual(got.History[0].Detail, []byte(`{"n":1}`)) {
			t.Errorf("stored content %s detail %s changed through a caller's slice", got.Content, got.History[0].Detail)
		}
	}},
}
