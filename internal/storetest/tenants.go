package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// TenantStore runs the tenant.Store contract against the stores newStore returns.
func TenantStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) tenant.Store) {
	for _, tc := range tenantCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, &tenantEnv{s: newStore(t, clock.Now), clock: clock, ctx: context.Background()})
		})
	}
}

type tenantEnv struct {
	s     tenant.Store
	clock *Clock
	ctx   context.Context
}

// newKey returns a key for tenantID with a random secret's SHA-256 hash.
func newKey(tenantID string) tenant.APIKey {
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	h := sha256.Sum256(secret)
	return tenant.APIKey{ID: newID("key"), TenantID: tenantID, Prefix: "ck_" + string(rune('a'+secret[0]%26)), Hash: h[:]}
}

// create stores a new active tenant with one key and returns both.
func (e *tenantEnv) create(t *testing.T) (tenant.Tenant, tenant.APIKey) {
	t.Helper()
	id := newID("tenant")
	k := newKey(id)
	tn, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id, Name: "Acme", Email: "ops@acme.test", Currency: "EUR"}, k)
	mustNot(t, err)
	return tn, k
}

// wantAuth fails unless hash authenticates to tenantID's key keyID at now.
func (e *tenantEnv) wantAuth(t *testing.T, hash []byte, now time.Time, tenantID, keyID string) tenant.APIKey {
	t.Helper()
	tn, k, err := e.s.Authenticate(e.ctx, hash, now)
	if err != nil {
		t.Fatalf("Authenticate at %v: %v, want key %s", now, err, keyID)
	}
	if tn.ID != tenantID || k.ID != keyID || k.TenantID != tenantID {
		t.Fatalf("Authenticate = tenant %s key %s (of %s), want tenant %s key %s", tn.ID, k.ID, k.TenantID, tenantID, keyID)
	}
	return k
}

// wantNoAuth fails unless hash is refused at now with Unauthenticated.
func (e *tenantEnv) wantNoAuth(t *testing.T, hash []byte, now time.Time) {
	t.Helper()
	_, _, err := e.s.Authenticate(e.ctx, hash, now)
	wantCode(t, err, errs.Unauthenticated)
}

func wantExpiry(t *testing.T, k tenant.APIKey, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && k.ExpiresAt != nil:
		t.Errorf("key %s expires at %v, want never", k.ID, *k.ExpiresAt)
	case want != nil && k.ExpiresAt == nil:
		t.Errorf("key %s never expires, want %v", k.ID, stored(*want))
	case want != nil:
		wantTime(t, "key "+k.ID+" ExpiresAt", *k.ExpiresAt, *want)
	}
}

var tenantCases = []struct {
	name string
	run  func(t *testing.T, e *tenantEnv)
}{
	{"create then get", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		in := tenant.Tenant{ID: id, Name: "Acme", Email: "ops@acme.test", Currency: "EUR"}
		got, err := e.s.CreateTenant(e.ctx, in, newKey(id))
		mustNot(t, err)
		if got.ID != id || got.Name != in.Name || got.Email != in.Email || got.Currency != in.Currency {
			t.Errorf("CreateTenant = %+v, want the fields of %+v", got, in)
		}
		if got.Status != tenant.Active {
			t.Errorf("Status = %q, want %q when created without one", got.Status, tenant.Active)
		}
		wantTime(t, "CreatedAt", got.CreatedAt, e.clock.Now())
		wantTime(t, "UpdatedAt", got.UpdatedAt, e.clock.Now())
		e.clock.Advance(time.Hour)
		again, err := e.s.GetTenant(e.ctx, id)
		mustNot(t, err)
		if again != got {
			t.Errorf("GetTenant = %+v, want %+v", again, got)
		}
	}},
	{"create keeps a suspended status", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		got, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id, Status: tenant.Suspended}, newKey(id))
		mustNot(t, err)
		if got.Status != tenant.Suspended {
			t.Errorf("Status = %q, want %q", got.Status, tenant.Suspended)
		}
	}},
	{"create with a duplicate id is Conflict and stores nothing", func(t *testing.T, e *tenantEnv) {
		tn, _ := e.create(t)
		k := newKey(tn.ID)
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: tn.ID, Name: "Other"}, k)
		wantCode(t, err, errs.Conflict)
		got, err := e.s.GetTenant(e.ctx, tn.ID)
		mustNot(t, err)
		if got.Name != "Acme" {
			t.Errorf("Name = %q after a refused duplicate, want %q", got.Name, "Acme")
		}
		e.wantNoAuth(t, k.Hash, e.clock.Now())
	}},
	{"create with a taken key hash is Conflict and stores nothing", func(t *testing.T, e *tenantEnv) {
		_, k := e.create(t)
		id := newID("tenant")
		dup := newKey(id)
		dup.Hash = k.Hash
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id}, dup)
		wantCode(t, err, errs.Conflict)
		_, err = e.s.GetTenant(e.ctx, id)
		wantCode(t, err, errs.NotFound)
	}},
	{"create with a taken key id is Conflict", func(t *testing.T, e *tenantEnv) {
		_, k := e.create(t)
		id := newID("tenant")
		dup := newKey(id)
		dup.ID = k.ID
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id}, dup)
		wantCode(t, err, errs.Conflict)
		_, err = e.s.GetTenant(e.ctx, id)
		wantCode(t, err, errs.NotFound)
	}},
	{"create rejects bad input as Invalid", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		noHash := newKey(id)
		noHash.Hash = nil
		noKeyID := newKey(id)
		noKeyID.ID = ""
		for _, c := range []struct {
			name string
			t    tenant.Tenant
			k    tenant.APIKey
		}{
			{"empty id", tenant.Tenant{}, newKey("")},
			{"created deleted", tenant.Tenant{ID: id, Status: tenant.Deleted}, newKey(id)},
			{"unknown status", tenant.Tenant{ID: id, Status: "paused"}, newKey(id)},
			{"key of another tenant", tenant.Tenant{ID: id}, newKey("someone-else")},
			{"key without hash", tenant.Tenant{ID: id}, noHash},
			{"key without id", tenant.Tenant{ID: id}, noKeyID},
		} {
			_, err := e.s.CreateTenant(e.ctx, c.t, c.k)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("%s: error %v, want code %q", c.name, err, errs.Invalid)
			}
		}
		_, err := e.s.GetTenant(e.ctx, id)
		wantCode(t, err, errs.NotFound)
	}},
	{"get unknown is NotFound", func(t *testing.T, e *tenantEnv) {
		_, err := e.s.GetTenant(e.ctx, newID("nobody"))
		wantCode(t, err, errs.NotFound)
	}},
	{"update replaces name, email, currency and status", func(t *testing.T, e *tenantEnv) {
		tn, _ := e.create(t)
		e.clock.Advance(time.Minute)
		in := tn
		in.Name, in.Email, in.Currency, in.Status = "Acme Ltd", "billing@acme.test", "GBP", tenant.Suspended
		in.CreatedAt = time.Time{} // ignored: set by the store
		got, err := e.s.UpdateTenant(e.ctx, in)
		mustNot(t, err)
		if got.Name != in.Name || got.Email != in.Email || got.Currency != in.Currency || got.Status != in.Status {
			t.Errorf("UpdateTenant = %+v, want the fields of %+v", got, in)
		}
		wantTime(t, "CreatedAt", got.CreatedAt, tn.CreatedAt)
		wantTime(t, "UpdatedAt", got.UpdatedAt, e.clock.Now())
		again, err := e.s.GetTenant(e.ctx, tn.ID)
		mustNot(t, err)
		if again != got {
			t.Errorf("GetTenant = %+v, want %+v", again, got)
		}
	}},
	{"update unknown is NotFound", func(t *testing.T, e *tenantEnv) {
		_, err := e.s.UpdateTenant(e.ctx, tenant.Tenant{ID: newID("nobody"), Status: tenant.Active})
		wantCode(t, err, errs.NotFound)
	}},
	{"update cannot delete or clear the status", func(t *testing.T, e *tenantEnv) {
		tn, _ := e.create(t)
		for _, s := range []tenant.Status{tenant.Deleted, "", "paused"} {
			in := tn
			in.Status = s
			_, err := e.s.UpdateTenant(e.ctx, in)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("status %q: error %v, want code %q", s, err, errs.Invalid)
			}
		}
		got, err := e.s.GetTenant(e.ctx, tn.ID)
		mustNot(t, err)
		if got.Status != tenant.Active {
			t.Errorf("Status = %q after refused updates, want %q", got.Status, tenant.Active)
		}
	}},
	{"a deleted tenant is NotFound everywhere and its keys are refused", func(t *testing.T, e *tenantEnv) {
		tn, k := e.create(t)
		before := e.clock.Now()
		e.clock.Advance(time.Minute)
		mustNot(t, e.s.DeleteTenant(e.ctx, tn.ID))
		_, err := e.s.GetTenant(e.ctx, tn.ID)
		wantCode(t, err, errs.NotFound)
		_, err = e.s.UpdateTenant(e.ctx, tn)
		wantCode(t, err, errs.NotFound)
		wantCode(t, e.s.DeleteTenant(e.ctx, tn.ID), errs.NotFound)
		wantCode(t, e.s.RotateKey(e.ctx, newKey(tn.ID), e.clock.Now().Add(time.Hour), ""), errs.NotFound)
		e.wantNoAuth(t, k.Hash, e.clock.Now())
		e.wantNoAuth(t, k.Hash, before) // refused for the tenant, whatever the time
		_, err = e.s.CreateTenant(e.ctx, tenant.Tenant{ID: tn.ID}, newKey(tn.ID))
		wantCode(t, err, errs.Conflict) // ids are not reused
	}},
	{"delete unknown is NotFound", func(t *testing.T, e *tenantEnv) {
		wantCode(t, e.s.DeleteTenant(e.ctx, newID("nobody")), errs.NotFound)
	}},
	{"authenticate by hash", func(t *testing.T, e *tenantEnv) {
		tn, k := e.create(t)
		got := e.wantAuth(t, k.Hash, e.clock.Now().Add(24*time.Hour), tn.ID, k.ID)
		if got.Prefix != k.Prefix || !bytes.Equal(got.Hash, k.Hash) {
			t.Errorf("key = %+v, want prefix %q and the stored hash", got, k.Prefix)
		}
		wantTime(t, "key CreatedAt", got.CreatedAt, e.clock.Now())
		wantExpiry(t, got, nil)
		e.wantNoAuth(t, newKey(tn.ID).Hash, e.clock.Now())
		e.wantNoAuth(t, nil, e.clock.Now())
		wrong := append([]byte(nil), k.Hash...)
		wrong[0] ^= 1
		e.wantNoAuth(t, wrong, e.clock.Now())
	}},
	{"a suspended tenant still authenticates", func(t *testing.T, e *tenantEnv) {
		tn, k := e.create(t)
		tn.Status = tenant.Suspended
		_, err := e.s.UpdateTenant(e.ctx, tn)
		mustNot(t, err)
		e.wantAuth(t, k.Hash, e.clock.Now(), tn.ID, k.ID)
	}},
	{"reads after a write see it, though the key and tenant were read before", func(t *testing.T, e *tenantEnv) {
		// A store may keep what it read (tenant.Cached does); its own writes must
		// still show at once.
		tn, k := e.create(t)
		now := e.clock.Now()
		e.wantAuth(t, k.Hash, now, tn.ID, k.ID)
		got, err := e.s.GetTenant(e.ctx, tn.ID)
		mustNot(t, err)
		tn.Status = tenant.Suspended
		_, err = e.s.UpdateTenant(e.ctx, tn)
		mustNot(t, err)
		if got, err = e.s.GetTenant(e.ctx, tn.ID); err != nil || got.Status != tenant.Suspended {
			t.Errorf("GetTenant after suspending = %s, %v; want suspended", got.Status, err)
		}
		if a, _, err := e.s.Authenticate(e.ctx, k.Hash, now); err != nil || a.Status != tenant.Suspended {
			t.Errorf("Authenticate after suspending = %s, %v; want the suspended tenant", a.Status, err)
		}
		grace := now.Add(time.Hour)
		mustNot(t, e.s.RotateKey(e.ctx, newKey(tn.ID), grace, ""))
		wantExpiry(t, e.wantAuth(t, k.Hash, now, tn.ID, k.ID), &grace)
		mustNot(t, e.s.DeleteTenant(e.ctx, tn.ID))
		e.wantNoAuth(t, k.Hash, now)
		_, err = e.s.GetTenant(e.ctx, tn.ID)
		wantCode(t, err, errs.NotFound)
	}},
	{"a key expires at its ExpiresAt", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		k := newKey(id)
		exp := e.clock.Now().Add(time.Hour)
		k.ExpiresAt = &exp
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id}, k)
		mustNot(t, err)
		got := e.wantAuth(t, k.Hash, stored(exp).Add(-time.Microsecond), id, k.ID)
		wantExpiry(t, got, &exp)
		e.wantNoAuth(t, k.Hash, stored(exp))
		e.wantNoAuth(t, k.Hash, exp.Add(time.Hour))
	}},
	{"rotation keeps the old key until the grace time", func(t *testing.T, e *tenantEnv) {
		tn, old := e.create(t)
		e.clock.Advance(time.Minute)
		grace := e.clock.Now().Add(24 * time.Hour)
		k := newKey(tn.ID)
		mustNot(t, e.s.RotateKey(e.ctx, k, grace, ""))
		got := e.wantAuth(t, k.Hash, grace.Add(1000*time.Hour), tn.ID, k.ID)
		wantExpiry(t, got, nil)
		wantTime(t, "new key CreatedAt", got.CreatedAt, e.clock.Now())
		got = e.wantAuth(t, old.Hash, stored(grace).Add(-time.Microsecond), tn.ID, old.ID)
		wantExpiry(t, got, &grace)
		e.wantNoAuth(t, old.Hash, stored(grace))
	}},
	{"rotation keeps an earlier expiry and shortens a later one", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		now := e.clock.Now()
		soon, late, grace := now.Add(time.Hour), now.Add(48*time.Hour), now.Add(24*time.Hour)
		first := newKey(id)
		first.ExpiresAt = &soon
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id}, first)
		mustNot(t, err)
		second := newKey(id)
		second.ExpiresAt = &late
		mustNot(t, e.s.RotateKey(e.ctx, second, now.Add(1000*time.Hour), ""))
		mustNot(t, e.s.RotateKey(e.ctx, newKey(id), grace, ""))
		wantExpiry(t, e.wantAuth(t, first.Hash, now, id, first.ID), &soon)
		e.wantNoAuth(t, first.Hash, stored(soon))
		wantExpiry(t, e.wantAuth(t, second.Hash, now, id, second.ID), &grace)
		e.wantNoAuth(t, second.Hash, stored(grace))
	}},
	{"a key in its grace, or another tenant's, cannot rotate and changes nothing", func(t *testing.T, e *tenantEnv) {
		tn, first := e.create(t)
		grace := e.clock.Now().Add(24 * time.Hour)
		second := newKey(tn.ID)
		mustNot(t, e.s.RotateKey(e.ctx, second, grace, first.ID)) // a live key rotates as itself
		third := newKey(tn.ID)
		err := e.s.RotateKey(e.ctx, third, grace.Add(time.Hour), first.ID) // first is in its grace now
		wantCode(t, err, errs.PermissionDenied)
		e.wantNoAuth(t, third.Hash, e.clock.Now())
		wantExpiry(t, e.wantAuth(t, second.Hash, e.clock.Now(), tn.ID, second.ID), nil)
		wantExpiry(t, e.wantAuth(t, first.Hash, e.clock.Now(), tn.ID, first.ID), &grace)
		other, otherKey := e.create(t)
		wantCode(t, e.s.RotateKey(e.ctx, newKey(tn.ID), grace, otherKey.ID), errs.PermissionDenied)
		wantCode(t, e.s.RotateKey(e.ctx, newKey(tn.ID), grace, newID("key")), errs.PermissionDenied)
		wantExpiry(t, e.wantAuth(t, second.Hash, e.clock.Now(), tn.ID, second.ID), nil)
		wantExpiry(t, e.wantAuth(t, otherKey.Hash, e.clock.Now(), other.ID, otherKey.ID), nil)
		mustNot(t, e.s.RotateKey(e.ctx, third, grace, second.ID)) // the newest key may
	}},
	{"concurrent rotations by one key: one wins, the other finds it in its grace", func(t *testing.T, e *tenantEnv) {
		tn, first := e.create(t)
		grace := e.clock.Now().Add(time.Hour)
		keys := []tenant.APIKey{newKey(tn.ID), newKey(tn.ID)}
		errc := make(chan error, len(keys))
		for _, k := range keys {
			go func() { errc <- e.s.RotateKey(e.ctx, k, grace, first.ID) }()
		}
		var won, denied int
		for range keys {
			switch err := <-errc; errs.CodeOf(err) {
			case "":
				won++
			case errs.PermissionDenied:
				denied++
			default:
				t.Errorf("RotateKey: %v", err)
			}
		}
		if won != 1 || denied != 1 {
			t.Errorf("%d rotations won and %d were denied, want 1 and 1", won, denied)
		}
	}},
	{"rotation for an unknown tenant is NotFound", func(t *testing.T, e *tenantEnv) {
		k := newKey(newID("nobody"))
		wantCode(t, e.s.RotateKey(e.ctx, k, e.clock.Now(), ""), errs.NotFound)
		e.wantNoAuth(t, k.Hash, e.clock.Now())
	}},
	{"rotation with a taken hash is Conflict and changes nothing", func(t *testing.T, e *tenantEnv) {
		tn, k := e.create(t)
		dup := newKey(tn.ID)
		dup.Hash = k.Hash
		wantCode(t, e.s.RotateKey(e.ctx, dup, e.clock.Now(), ""), errs.Conflict)
		wantExpiry(t, e.wantAuth(t, k.Hash, e.clock.Now().Add(1000*time.Hour), tn.ID, k.ID), nil)
	}},
	{"keys are copied in and out", func(t *testing.T, e *tenantEnv) {
		id := newID("tenant")
		k := newKey(id)
		hash := append([]byte(nil), k.Hash...)
		exp := e.clock.Now().Add(time.Hour)
		k.ExpiresAt = &exp
		_, err := e.s.CreateTenant(e.ctx, tenant.Tenant{ID: id}, k)
		mustNot(t, err)
		k.Hash[0] ^= 0xff
		exp = exp.Add(-2 * time.Hour)
		got := e.wantAuth(t, hash, e.clock.Now(), id, k.ID)
		got.Hash[0] ^= 0xff
		*got.ExpiresAt = got.ExpiresAt.Add(-2 * time.Hour)
		again := e.wantAuth(t, hash, e.clock.Now(), id, k.ID)
		want := e.clock.Now().Add(time.Hour)
		wantExpiry(t, again, &want)
		if !bytes.Equal(again.Hash, hash) {
			t.Errorf("stored hash changed through a caller's slice: %x, want %x", again.Hash, hash)
		}
	}},
}
