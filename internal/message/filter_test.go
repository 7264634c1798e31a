package message

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestNormalizeLimit(t *testing.T) {
	for _, c := range []struct{ limit, want int }{
		{0, DefaultLimit}, {1, 1}, {50, 50}, {MaxLimit, MaxLimit},
		{MaxLimit + 1, MaxLimit}, {1 << 30, MaxLimit},
	} {
		f, cur, err := Filter{Limit: c.limit}.Normalize()
		if err != nil {
			t.Fatalf("Limit %d: %v", c.limit, err)
		}
		if f.Limit != c.want {
			t.Errorf("Limit %d became %d, want %d", c.limit, f.Limit, c.want)
		}
		if !cur.IsZero() {
			t.Errorf("Limit %d: cursor %+v without Filter.Cursor", c.limit, cur)
		}
	}
	_, _, err := Filter{Limit: -1}.Normalize()
	wantCode(t, err, errs.Invalid)
}

func TestNormalizeStatus(t *testing.T) {
	for s := range rank {
		if _, _, err := (Filter{Status: s}).Normalize(); err != nil {
			t.Errorf("status %q: %v", s, err)
		}
	}
	_, _, err := Filter{Status: "bounced"}.Normalize()
	wantCode(t, err, errs.Invalid)
}

func TestNormalizeKeepsFields(t *testing.T) {
	in := Filter{
		Status: Sent, Channel: "sms", Limit: 10,
		Since: now.Add(-time.Hour), Until: now,
		Cursor: EncodeCursor(Message{ID: msgID, CreatedAt: now}),
	}
	f, cur, err := in.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if f != in {
		t.Errorf("Normalize changed %+v to %+v", in, f)
	}
	if cur.ID != msgID || !cur.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("cursor %+v", cur)
	}
	_, _, err = Filter{Cursor: "garbage"}.Normalize()
	wantCode(t, err, errs.Invalid)
}

func TestCursorRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{ID: msgID, CreatedAt: now},
		{ID: msgID, CreatedAt: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)}, // before the epoch
		{ID: "00000000-0000-0000-0000-000000000000", CreatedAt: time.Unix(0, 0)},
	} {
		s := EncodeCursor(m)
		c, err := DecodeCursor(s)
		if err != nil {
			t.Fatalf("DecodeCursor(EncodeCursor(%v, %s)): %v", m.CreatedAt, m.ID, err)
		}
		want := Cursor{CreatedAt: m.CreatedAt.UTC().Truncate(time.Microsecond), ID: m.ID}
		if c != want || c.IsZero() {
			t.Errorf("round trip of %v %s gave %+v, want %+v", m.CreatedAt, m.ID, c, want)
		}
	}
	if c, err := DecodeCursor(""); err != nil || !c.IsZero() {
		t.Errorf(`DecodeCursor("") = %+v, %v; want the zero Cursor`, c, err)
	}
}

func TestDecodeCursorMalformed(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, s := range map[string]string{
		"not base64":         "garbage!",
		"padded base64":      base64.URLEncoding.EncodeToString([]byte("1." + msgID)),
		"no dot":             enc("1" + msgID),
		"time not a number":  enc("soon." + msgID),
		"empty time":         enc("." + msgID),
		"id not a UUID":      enc("1.msg-1"),
		"empty id":           enc("1."),
		"UUID not canonical": enc("1.0B5E8F4C-3A1D-4C1E-9A57-2F0C6D1E7B10"),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := DecodeCursor(s)
			wantCode(t, err, errs.Invalid)
			if !c.IsZero() {
				t.Errorf("malformed cursor decoded to %+v", c)
			}
		})
	}
}
