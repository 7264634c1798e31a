package postgres

// Input checks and the List cursor. internal/inmem has the same code in check.go: the
// two adapters must agree, and storetest holds them to it. (It could move to the
// domain packages, tenant and message, which this package may not edit.)

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// prepareCreate checks CreateTenant's input and fills what the store sets.
func prepareCreate(t tenant.Tenant, k tenant.APIKey, now time.Time) (tenant.Tenant, tenant.APIKey, error) {
	if t.ID == "" {
		return t, k, errs.E(errs.Invalid, "tenant id is empty")
	}
	switch t.Status {
	case "":
		t.Status = tenant.Active
	case tenant.Active, tenant.Suspended:
	default:
		return t, k, errs.E(errs.Invalid, "tenant %s: status %q cannot be created", t.ID, t.Status)
	}
	if k.TenantID == "" {
		k.TenantID = t.ID
	}
	if k.TenantID != t.ID {
		return t, k, errs.E(errs.Invalid, "key %s belongs to tenant %s, not %s", k.ID, k.TenantID, t.ID)
	}
	k, err := prepareKey(k, now)
	t.CreatedAt, t.UpdatedAt = now, now
	return t, k, err
}

// prepareKey checks a new key and sets a zero CreatedAt to now.
func prepareKey(k tenant.APIKey, now time.Time) (tenant.APIKey, error) {
	switch {
	case k.ID == "":
		return k, errs.E(errs.Invalid, "key id is empty")
	case k.TenantID == "":
		return k, errs.E(errs.Invalid, "key %s: tenant id is empty", k.ID)
	case len(k.Hash) == 0:
		return k, errs.E(errs.Invalid, "key %s: hash is empty", k.ID)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	if k.ExpiresAt != nil {
		e := k.ExpiresAt.UTC().Truncate(time.Microsecond)
		k.ExpiresAt = &e
	}
	return k, nil
}

// checkUpdate checks UpdateTenant's input: only Active and Suspended can be set.
func checkUpdate(t tenant.Tenant) error {
	if t.Status != tenant.Active && t.Status != tenant.Suspended {
		return errs.E(errs.Invalid, "tenant %s: status %q cannot be set by an update (use DeleteTenant to delete)", t.ID, t.Status)
	}
	return nil
}

// prepareUpdate checks Apply's input, normalizes the message id to its canonical
// form and sets a missing entry time to now.
func prepareUpdate(u message.Update, now time.Time) (message.Update, error) {
	id, err := uuid.Parse(u.MessageID)
	switch {
	case u.TenantID == "":
		return u, errs.E(errs.Invalid, "message update: tenant id is empty")
	case err != nil:
		return u, errs.E(errs.Invalid, "message update: message id %q is not a UUID", u.MessageID)
	case u.Entry.EventID == "":
		return u, errs.E(errs.Invalid, "message %s: event id is empty", u.MessageID)
	case !message.Valid(u.Entry.Status):
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

// Limits of List.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// checkFilter checks f and returns the page size and the decoded cursor (a zero
// cursor when f has none).
func checkFilter(f message.Filter) (int, cursor, error) {
	if f.Status != "" && !message.Valid(f.Status) {
		return 0, cursor{}, errs.E(errs.Invalid, "filter: unknown status %q", f.Status)
	}
	limit := f.Limit
	switch {
	case limit < 0:
		return 0, cursor{}, errs.E(errs.Invalid, "filter: negative limit %d", limit)
	case limit == 0:
		limit = defaultLimit
	case limit > maxLimit:
		limit = maxLimit
	}
	c, err := decodeCursor(f.Cursor)
	return limit, c, err
}

// cursor is the position after the last message of a page: pages go on with messages
// ordered before (CreatedAt, ID) in newest-first order.
type cursor struct {
	CreatedAt time.Time
	ID        string
}

func (c cursor) zero() bool { return c.ID == "" }

// encodeCursor returns the opaque form: base64url of "<unix microseconds>.<uuid>".
func encodeCursor(m message.Message) string {
	raw := strconv.FormatInt(m.CreatedAt.UnixMicro(), 10) + "." + m.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	bad := errs.E(errs.Invalid, "filter: malformed cursor %q", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return cursor{}, bad
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return cursor{}, bad
	}
	return cursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// checkKey checks an idempotency key's scope.
func checkKey(tenantID, key string) error {
	switch {
	case tenantID == "":
		return errs.E(errs.Invalid, "idempotency: tenant id is empty")
	case key == "":
		return errs.E(errs.Invalid, "idempotency: key is empty")
	}
	return nil
}
