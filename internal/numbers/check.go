package numbers

import (
	"strings"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Check validates n before Assign: channel, number and tenant_id must be non-empty.
// It returns an Invalid *errs.Error naming every empty field, or nil. Both adapters
// call it, so they reject the same input with the same error.
func Check(n Number) error {
	return check("number", field{"channel", n.Channel}, field{"number", n.Number}, field{"tenant_id", n.TenantID})
}

// CheckAddress validates the (channel, number) an Owner lookup addresses.
func CheckAddress(channel, number string) error {
	return check("number address", field{"channel", channel}, field{"number", number})
}

// CheckRelease validates the arguments of Release.
func CheckRelease(tenantID, channel, number string) error {
	return check("number release", field{"tenant_id", tenantID}, field{"channel", channel}, field{"number", number})
}

// CheckTenant validates the tenant id List is asked for.
func CheckTenant(tenantID string) error {
	return check("number list", field{"tenant_id", tenantID})
}

type field struct{ name, value string }

func check(what string, fields ...field) error {
	var v []errs.FieldViolation
	for _, f := range fields {
		if f.value == "" {
			v = append(v, errs.FieldViolation{Field: f.name, Reason: "must not be empty"})
		}
	}
	if len(v) == 0 {
		return nil
	}
	names := make([]string, len(v))
	for i, f := range v {
		names[i] = f.Field
	}
	return &errs.Error{Code: errs.Invalid, Message: "invalid " + what + ": empty " + strings.Join(names, ", "), Fields: v}
}
