package idempotency

import "github.com/catalyst-cpaas/catalyst/internal/errs"

// CheckKey checks the scope of an idempotency key, as every Store method takes it:
// an empty tenant id or key is an *errs.Error with code Invalid.
func CheckKey(tenantID, key string) error {
	switch {
	case tenantID == "":
		return errs.E(errs.Invalid, "idempotency: tenant id is empty")
	case key == "":
		return errs.E(errs.Invalid, "idempotency: key is empty")
	}
	return nil
}
