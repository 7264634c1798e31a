package storetest

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// seed creates n messages in e's tenant, advancing the clock by step after every
// `every` messages (so several share a creation time), and returns them oldest first.
func (e *messageEnv) seed(t *testing.T, n, every int, step time.Duration, edit func(i int, u *message.Update)) []message.Message {
	t.Helper()
	out := make([]message.Message, 0, n)
	for i := range n {
		if i > 0 && i%every == 0 {
			e.clock.Advance(step)
		}
		u := e.requested(uuid.NewString())
		if edit != nil {
			edit(i, &u)
		}
		out = append(out, e.apply(t, u))
	}
	return out
}

// list returns one page or fails.
func (e *messageEnv) list(t *testing.T, f message.Filter) message.Page {
	t.Helper()
	p, err := e.s.List(e.ctx, e.tenant, f)
	if err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return p
}

// pageAll follows cursors from f to the last page and returns every message, failing
// when a page is larger than limit, a message repeats or the order is not newest
// first by (CreatedAt, ID).
func (e *messageEnv) pageAll(t *testing.T, f message.Filter, limit int, between func(page int)) []message.Message {
	t.Helper()
	var all []message.Message
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("more than 1000 pages: the cursor does not advance")
		}
		p := e.list(t, f)
		if len(p.Messages) > limit {
			t.Fatalf("page %d has %d messages, limit %d", page, len(p.Messages), limit)
		}
		for _, m := range p.Messages {
			if seen[m.ID] {
				t.Fatalf("message %s listed twice", m.ID)
			}
			seen[m.ID] = true
			if m.History != nil {
				t.Errorf("List returned history for %s", m.ID)
			}
			if n := len(all); n > 0 {
				prev := all[n-1]
				if m.CreatedAt.After(prev.CreatedAt) || (m.CreatedAt.Equal(prev.CreatedAt) && m.ID >= prev.ID) {
					t.Fatalf("%s (%v) listed after %s (%v): not newest first", m.ID, m.CreatedAt, prev.ID, prev.CreatedAt)
				}
			}
			all = append(all, m)
		}
		if p.NextCursor == "" {
			return all
		}
		if len(p.Messages) != limit {
			t.Fatalf("page %d has %d messages and a cursor; only a full page has one", page, len(p.Messages))
		}
		if between != nil {
			between(page)
		}
		f.Cursor = p.NextCursor
	}
}

// wantIDs fails unless got holds exactly the messages of want, in want's order.
func wantIDs(t *testing.T, got, want []message.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("message %d is %s, want %s", i, got[i].ID, want[i].ID)
		}
	}
}

// newestFirst returns ms (oldest first, as seeded) reversed.
func newestFirst(ms []message.Message) []message.Message {
	out := make([]message.Message, len(ms))
	for i, m := range ms {
		out[len(ms)-1-i] = m
	}
	return out
}

var listCases = []messageCase{
	{"list is newest first, without histories", func(t *testing.T, e *messageEnv) {
		ms := e.seed(t, 5, 1, time.Second, nil)
		p := e.list(t, message.Filter{})
		wantIDs(t, p.Messages, newestFirst(ms))
		if p.NextCursor != "" {
			t.Errorf("NextCursor = %q on the only page", p.NextCursor)
		}
		for i, m := range p.Messages {
			if m.History != nil {
				t.Errorf("message %d has a history in List", i)
			}
			if m.TenantID != e.tenant || m.Channel != "sms" || !jsonEqual(m.Content, content) {
				t.Errorf("message %d = %+v, want the stored record", i, m)
			}
		}
	}},
	{"list of a tenant without messages is empty", func(t *testing.T, e *messageEnv) {
		if p := e.list(t, message.Filter{}); len(p.Messages) != 0 || p.NextCursor != "" {
			t.Errorf("List = %+v, want an empty last page", p)
		}
	}},
	{"list filters", func(t *testing.T, e *messageEnv) {
		channels := []string{"sms", "whatsapp", "rcs"}
		ms := e.seed(t, 12, 1, time.Minute, func(i int, u *message.Update) { u.Channel = channels[i%3] })
		for i, m := range ms {
			if i%4 == 1 {
				ms[i] = e.apply(t, e.event(m.ID, message.Delivered))
			}
		}
		t3, t9 := ms[3].CreatedAt, ms[9].CreatedAt
		for _, c := range []struct {
			name string
			f    message.Filter
			keep func(i int, m message.Message) bool
		}{
			{"status", message.Filter{Status: message.Delivered}, func(i int, m message.Message) bool { return i%4 == 1 }},
			{"channel", message.Filter{Channel: "whatsapp"}, func(i int, m message.Message) bool { return i%3 == 1 }},
			{"since is inclusive", message.Filter{Since: t3}, func(i int, m message.Message) bool { return i >= 3 }},
			{"until is exclusive", message.Filter{Until: t9}, func(i int, m message.Message) bool { return i < 9 }},
			{"since and until", message.Filter{Since: t3, Until: t9}, func(i int, m message.Message) bool { return i >= 3 && i < 9 }},
			{"status and channel", message.Filter{Status: message.Delivered, Channel: "whatsapp"}, func(i int, m message.Message) bool { return i%4 == 1 && i%3 == 1 }},
			{"nothing matches", message.Filter{Channel: "email"}, func(int, message.Message) bool { return false }},
		} {
			t.Run(c.name, func(t *testing.T) {
				var want []message.Message
				for i, m := range ms {
					if c.keep(i, m) {
						want = append(want, m)
					}
				}
				wantIDs(t, e.list(t, c.f).Messages, newestFirst(want))
			})
		}
	}},
	{"list pages through 120 messages exactly once", func(t *testing.T, e *messageEnv) {
		ms := e.seed(t, 120, 7, time.Millisecond, nil) // groups of 7 share a creation time
		var sizes []int
		got := e.pageAll(t, message.Filter{Limit: 50}, 50, nil)
		wantIDs(t, got, sortNewest(ms))
		p := e.list(t, message.Filter{Limit: 50})
		for p.NextCursor != "" {
			sizes = append(sizes, len(p.Messages))
			p = e.list(t, message.Filter{Limit: 50, Cursor: p.NextCursor})
		}
		sizes = append(sizes, len(p.Messages))
		if len(sizes) != 3 || sizes[0] != 50 || sizes[1] != 50 || sizes[2] != 20 {
			t.Errorf("page sizes %v, want [50 50 20]", sizes)
		}
	}},
	{"pages are stable when messages arrive between pages", func(t *testing.T, e *messageEnv) {
		ms := e.seed(t, 120, 5, time.Millisecond, nil)
		got := e.pageAll(t, message.Filter{Limit: 25}, 25, func(int) {
			e.seed(t, 7, 3, time.Millisecond, nil) // newer than every listed message
		})
		wantIDs(t, got, sortNewest(ms))
	}},
	{"paging keeps the filter", func(t *testing.T, e *messageEnv) {
		ms := e.seed(t, 60, 4, time.Millisecond, func(i int, u *message.Update) {
			if i%2 == 1 {
				u.Channel = "whatsapp"
			}
		})
		var want []message.Message
		for _, m := range ms {
			if m.Channel == "whatsapp" {
				want = append(want, m)
			}
		}
		wantIDs(t, e.pageAll(t, message.Filter{Channel: "whatsapp", Limit: 7}, 7, nil), sortNewest(want))
	}},
	{"a full last page has no cursor", func(t *testing.T, e *messageEnv) {
		ms := e.seed(t, 10, 1, time.Millisecond, nil)
		p := e.list(t, message.Filter{Limit: 5})
		if p.NextCursor == "" {
			t.Fatal("first of two pages has no cursor")
		}
		p = e.list(t, message.Filter{Limit: 5, Cursor: p.NextCursor})
		wantIDs(t, p.Messages, newestFirst(ms)[5:])
		if p.NextCursor != "" {
			t.Errorf("NextCursor = %q on the last page", p.NextCursor)
		}
	}},
	{"limit defaults to 50 and is capped at 200", func(t *testing.T, e *messageEnv) {
		e.seed(t, 201, 10, time.Millisecond, nil)
		for _, c := range []struct{ limit, want int }{{0, 50}, {1, 1}, {200, 200}, {201, 200}, {100000, 200}} {
			p := e.list(t, message.Filter{Limit: c.limit})
			if len(p.Messages) != c.want || p.NextCursor == "" {
				t.Errorf("Limit %d: %d messages (cursor %q), want %d and a cursor", c.limit, len(p.Messages), p.NextCursor, c.want)
			}
		}
	}},
	{"a bad cursor or filter is Invalid", func(t *testing.T, e *messageEnv) {
		e.seed(t, 3, 1, time.Millisecond, nil)
		b64 := base64.RawURLEncoding.EncodeToString
		for _, f := range []message.Filter{
			{Cursor: "!!not base64!!"},
			{Cursor: b64([]byte("garbage"))},
			{Cursor: b64([]byte("123.not-a-uuid"))},
			{Cursor: b64([]byte("soon." + uuid.NewString()))},
			{Cursor: "="},
			{Status: "lost"},
			{Limit: -1},
		} {
			_, err := e.s.List(e.ctx, e.tenant, f)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("List(%+v): error %v, want code %q", f, err, errs.Invalid)
			}
		}
	}},
}

// sortNewest returns ms in newest-first order by (CreatedAt, ID), the order List
// must produce.
func sortNewest(ms []message.Message) []message.Message {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b message.Message) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}
