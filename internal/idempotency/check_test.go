package idempotency

import (
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestCheckKey(t *testing.T) {
	for _, c := range []struct {
		name, tenantID, key string
		want                errs.Code // "" for no error
	}{
		{"tenant and key", "acme", "k-1", ""},
		{"empty tenant", "", "k-1", errs.Invalid},
		{"empty key", "acme", "", errs.Invalid},
		{"both empty", "", "", errs.Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckKey(c.tenantID, c.key)
			if c.want == "" {
				if err != nil {
					t.Fatalf("CheckKey(%q, %q) = %v, want nil", c.tenantID, c.key, err)
				}
				return
			}
			if got := errs.CodeOf(err); got != c.want {
				t.Fatalf("CheckKey(%q, %q) = %v (code %q), want code %q", c.tenantID, c.key, err, got, c.want)
			}
		})
	}
}
