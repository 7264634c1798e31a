package tenant

// Input checks shared by every Store implementation (internal/postgres,
// internal/inmem), so that the adapters accept and reject exactly the same input.

import (
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// PrepareCreate checks the input of Store.CreateTenant and fills in what the store
// sets: an empty Status becomes Active, an empty k.TenantID becomes t.ID, and
// t.CreatedAt and t.UpdatedAt become now; k is prepared as by PrepareKey. It returns
// an *errs.Error with code Invalid for an empty tenant id, a status other than Active
// or Suspended, a key of another tenant, or a key PrepareKey rejects.
func PrepareCreate(t Tenant, k APIKey, now time.Time) (Tenant, APIKey, error) {
	if t.ID == "" {
		return t, k, errs.E(errs.Invalid, "tenant id is empty")
	}
	switch t.Status {
	case "":
		t.Status = Active
	case Active, Suspended:
	default:
		return t, k, errs.E(errs.Invalid, "tenant %s: status %q cannot be created", t.ID, t.Status)
	}
	if k.TenantID == "" {
		k.TenantID = t.ID
	}
	if k.TenantID != t.ID {
		return t, k, errs.E(errs.Invalid, "key %s belongs to tenant %s, not %s", k.ID, k.TenantID, t.ID)
	}
	k, err := PrepareKey(k, now)
	t.CreatedAt, t.UpdatedAt = now, now
	return t, k, err
}

// PrepareKey checks a new key (of Store.CreateTenant or Store.RotateKey): its id,
// tenant id and hash must be set, else it returns an *errs.Error with code Invalid.
// A zero CreatedAt becomes now; CreatedAt and ExpiresAt are returned in UTC,
// truncated to the microsecond, as stores keep them.
func PrepareKey(k APIKey, now time.Time) (APIKey, error) {
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

// CheckUpdate checks the input of Store.UpdateTenant: only Active and Suspended can
// be set (a tenant is deleted with Store.DeleteTenant). Any other status is an
// *errs.Error with code Invalid.
func CheckUpdate(t Tenant) error {
	if t.Status != Active && t.Status != Suspended {
		return errs.E(errs.Invalid, "tenant %s: status %q cannot be set by an update (use DeleteTenant to delete)", t.ID, t.Status)
	}
	return nil
}

// ErrRotateByExpiring is Store.RotateKey's refusal of a key that has an expiry: a
// key rotated away keeps sending and reading through its grace, but a key it minted
// would outlive it.
func ErrRotateByExpiring(prefix string, expiresAt time.Time) error {
	return errs.E(errs.PermissionDenied,
		"API key %s… was rotated away and expires at %s: until then it may send and read, not manage keys; use the newest key",
		prefix, expiresAt.UTC().Format(time.RFC3339))
}

// ErrRotateByOther is Store.RotateKey's refusal of a key that is not the tenant's.
func ErrRotateByOther(keyID string) error {
	return errs.E(errs.PermissionDenied, "API key %s may not rotate this tenant's keys", keyID)
}
