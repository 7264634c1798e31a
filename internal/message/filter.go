package message

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Page sizes of Store.List.
const (
	DefaultLimit = 50  // page size when Filter.Limit is zero
	MaxLimit     = 200 // larger Filter.Limit values are capped to this
)

// Normalize checks f for Store.List and returns it with Limit set to the page size
// to use (DefaultLimit when zero, at most MaxLimit), together with its decoded
// Cursor (the zero Cursor when f has none). An unknown Status, a negative Limit or a
// malformed Cursor is an *errs.Error with code Invalid.
func (f Filter) Normalize() (Filter, Cursor, error) {
	if f.Status != "" && !Valid(f.Status) {
		return f, Cursor{}, errs.E(errs.Invalid, "filter: unknown status %q", f.Status)
	}
	switch {
	case f.Limit < 0:
		return f, Cursor{}, errs.E(errs.Invalid, "filter: negative limit %d", f.Limit)
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit > MaxLimit:
		f.Limit = MaxLimit
	}
	c, err := DecodeCursor(f.Cursor)
	return f, c, err
}

// Cursor is the decoded Filter.Cursor: the position of the last message of the
// previous page. The next page holds the messages ordered after it, newest first by
// (CreatedAt, ID): those with a smaller (CreatedAt, ID).
type Cursor struct {
	CreatedAt time.Time // UTC, microsecond precision
	ID        string    // canonical UUID form
}

// IsZero reports whether c is the zero Cursor: no cursor, the first page.
func (c Cursor) IsZero() bool { return c.ID == "" }

// EncodeCursor returns the opaque Page.NextCursor of a page whose last message is m:
// base64url (unpadded) of "<unix microseconds of CreatedAt>.<ID>".
func EncodeCursor(m Message) string {
	raw := strconv.FormatInt(m.CreatedAt.UnixMicro(), 10) + "." + m.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by EncodeCursor; "" is the zero Cursor. Anything
// else is an *errs.Error with code Invalid.
func DecodeCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := errs.E(errs.Invalid, "filter: malformed cursor %q", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return Cursor{}, bad
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return Cursor{}, bad
	}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return Cursor{}, bad
	}
	return Cursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}
