package tenant

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

var now = time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)

func key(id, tenantID string) APIKey {
	return APIKey{ID: id, TenantID: tenantID, Prefix: "ck_", Hash: []byte{1, 2, 3}}
}

func wantCode(t *testing.T, err error, want errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
}

func TestPrepareCreateFills(t *testing.T) {
	tn, k, err := PrepareCreate(Tenant{ID: "acme", Name: "Acme"}, key("k1", ""), now)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Status != Active {
		t.Errorf("status %q, want %q", tn.Status, Active)
	}
	if !tn.CreatedAt.Equal(now) || !tn.UpdatedAt.Equal(now) {
		t.Errorf("created %v updated %v, want %v", tn.CreatedAt, tn.UpdatedAt, now)
	}
	if k.TenantID != "acme" {
		t.Errorf("key tenant %q, want acme", k.TenantID)
	}
	if want := now.Truncate(time.Microsecond); !k.CreatedAt.Equal(want) {
		t.Errorf("key created %v, want %v", k.CreatedAt, want)
	}
}

func TestPrepareCreateStatus(t *testing.T) {
	for _, c := range []struct {
		status Status
		want   errs.Code
	}{
		{"", ""}, {Active, ""}, {Suspended, ""},
		{Deleted, errs.Invalid}, {"closed", errs.Invalid},
	} {
		tn, _, err := PrepareCreate(Tenant{ID: "acme", Status: c.status}, key("k1", "acme"), now)
		if c.want != "" {
			wantCode(t, err, c.want)
			continue
		}
		if err != nil {
			t.Errorf("status %q: %v", c.status, err)
		} else if c.status != "" && tn.Status != c.status {
			t.Errorf("status %q became %q", c.status, tn.Status)
		}
	}
}

func TestPrepareCreateInvalid(t *testing.T) {
	for name, c := range map[string]struct {
		t Tenant
		k APIKey
	}{
		"empty tenant id":     {Tenant{}, key("k1", "")},
		"key of other tenant": {Tenant{ID: "acme"}, key("k1", "globex")},
		"key without id":      {Tenant{ID: "acme"}, key("", "acme")},
		"key without hash":    {Tenant{ID: "acme"}, APIKey{ID: "k1"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := PrepareCreate(c.t, c.k, now)
			wantCode(t, err, errs.Invalid)
		})
	}
}

func TestPrepareKey(t *testing.T) {
	for name, k := range map[string]APIKey{
		"empty id":     key("", "acme"),
		"empty tenant": key("k1", ""),
		"empty hash":   {ID: "k1", TenantID: "acme"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := PrepareKey(k, now)
			wantCode(t, err, errs.Invalid)
		})
	}

	t.Run("times in UTC to the microsecond", func(t *testing.T) {
		zone := time.FixedZone("UTC+2", 2*60*60)
		created := time.Date(2026, 3, 1, 12, 0, 0, 999999999, zone)
		expires := created.Add(time.Hour)
		k := key("k1", "acme")
		k.CreatedAt, k.ExpiresAt = created, &expires
		got, err := PrepareKey(k, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := created.UTC().Truncate(time.Microsecond); got.CreatedAt != want {
			t.Errorf("created %v, want %v", got.CreatedAt, want)
		}
		if want := expires.UTC().Truncate(time.Microsecond); got.ExpiresAt == nil || *got.ExpiresAt != want {
			t.Errorf("expires %v, want %v", got.ExpiresAt, want)
		}
		if got.ExpiresAt == &expires {
			t.Error("ExpiresAt aliases the caller's time")
		}
	})

	t.Run("zero CreatedAt is now", func(t *testing.T) {
		got, err := PrepareKey(key("k1", "acme"), now)
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Truncate(time.Microsecond); got.CreatedAt != want {
			t.Errorf("created %v, want %v", got.CreatedAt, want)
		}
		if got.ExpiresAt != nil {
			t.Errorf("expires %v, want nil", got.ExpiresAt)
		}
	})
}

func TestCheckUpdate(t *testing.T) {
	for _, c := range []struct {
		status Status
		want   errs.Code
	}{
		{Active, ""}, {Suspended, ""},
		{"", errs.Invalid}, {Deleted, errs.Invalid}, {"closed", errs.Invalid},
	} {
		err := CheckUpdate(Tenant{ID: "acme", Status: c.status})
		if c.want == "" {
			if err != nil {
				t.Errorf("status %q: %v", c.status, err)
			}
			continue
		}
		wantCode(t, err, c.want)
	}
}
