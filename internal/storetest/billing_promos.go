package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// PromoStore runs the billing.Promos contract. Besides the doc comments it holds the
// adapters to: Uses and CreatedAt are the store's; a promo is expired at t from
// ExpiresAt on; a first_n_free promo has no uses left after FreeCount; Redeem of an
// unknown code or another tenant's is NotFound; concurrent redemptions never exceed
// the cap; Active returns an empty, non-nil slice when nothing is usable.
func PromoStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) billing.Promos) {
	runBilling(t, promoCases, newStore, func(s billing.Promos, c *Clock) *promoEnv {
		return &promoEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant")}
	})
}

type promoEnv struct {
	s             billing.Promos
	clock         *Clock
	tenant, other string
}

func (e *promoEnv) create(t *testing.T, p billing.Promo) billing.Promo {
	t.Helper()
	if p.Code == "" {
		p.Code = newID("PROMO")
	}
	if p.TenantID == "" {
		p.TenantID = e.tenant
	}
	if p.Kind == "" {
		p.Kind = billing.PromoFixed
	}
	got, err := e.s.Create(bg, p)
	if err != nil {
		t.Fatalf("Create(%+v): %v", p, err)
	}
	return got
}

func (e *promoEnv) redeem(t *testing.T, code, key string, at time.Time, wantUse int64, wantOK bool) {
	t.Helper()
	use, ok, err := e.s.Redeem(bg, code, e.tenant, key, at)
	mustNot(t, err)
	if use != wantUse || ok != wantOK {
		t.Fatalf("Redeem(%s, %s) = %d, %v, want %d, %v", code, key, use, ok, wantUse, wantOK)
	}
}

func (e *promoEnv) wantUses(t *testing.T, code string, want int64) {
	t.Helper()
	p, err := e.s.Get(bg, code)
	mustNot(t, err)
	if p.Uses != want {
		t.Fatalf("Get(%s).Uses = %d, want %d", code, p.Uses, want)
	}
}

func ptime(t time.Time) *time.Time { return &t }

var promoCases = []billingCase[*promoEnv]{
	{"create stores the promo with no uses and the clock's time", func(t *testing.T, e *promoEnv) {
		exp := start.Add(48 * time.Hour)
		in := billing.Promo{Code: newID("SPRING"), TenantID: e.tenant, Kind: billing.PromoPercent, Value: dec("12.50"),
			ExpiresAt: &exp, MaxUses: 10, Uses: 5, CreatedAt: start.Add(-time.Hour)}
		got := e.create(t, in)
		read, err := e.s.Get(bg, in.Code)
		mustNot(t, err)
		for what, p := range map[string]billing.Promo{"Create": got, "Get": read} {
			if p.Code != in.Code || p.TenantID != e.tenant || p.Kind != billing.PromoPercent || p.MaxUses != 10 || p.Uses != 0 {
				t.Errorf("%s = %+v", what, p)
			}
			wantDec(t, what+".Value", p.Value, "12.5")
			wantTime(t, what+".CreatedAt", p.CreatedAt, start)
			if p.ExpiresAt == nil {
				t.Fatalf("%s.ExpiresAt = nil", what)
			}
			wantTime(t, what+".ExpiresAt", *p.ExpiresAt, exp)
		}
		_, err = e.s.Create(bg, in)
		wantCode(t, err, errs.Conflict)
		_, err = e.s.Get(bg, newID("NOPE"))
		wantCode(t, err, errs.NotFound)
	}},
	{"create rejects what the store cannot keep", func(t *testing.T, e *promoEnv) {
		code := newID("BAD")
		for field, p := range map[string]billing.Promo{
			"code":       {TenantID: e.tenant, Kind: billing.PromoFixed, Value: dec("1")},
			"tenant_id":  {Code: code, Kind: billing.PromoFixed, Value: dec("1")},
			"kind":       {Code: code, TenantID: e.tenant, Kind: "bogus", Value: dec("1")},
			"value":      {Code: code, TenantID: e.tenant, Kind: billing.PromoFixed, Value: dec("-1")},
			"free_count": {Code: code, TenantID: e.tenant, Kind: billing.PromoFirstNFree},
			"max_uses":   {Code: code, TenantID: e.tenant, Kind: billing.PromoFixed, Value: dec("1"), MaxUses: -1},
		} {
			_, err := e.s.Create(bg, p)
			wantField(t, err, field)
		}
		_, err := e.s.Create(bg, billing.Promo{Code: code, TenantID: e.tenant, Kind: billing.PromoPercent, Value: dec("100.5")})
		wantField(t, err, "value")
		_, err = e.s.Create(bg, billing.Promo{Code: code, TenantID: e.tenant, Kind: billing.PromoFixed, Value: dec("0.0000000000000000001")})
		wantField(t, err, "value")
		_, err = e.s.Get(bg, code)
		wantCode(t, err, errs.NotFound)
	}},
	{"redeem counts once per key", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Value: dec("0.01")})
		e.redeem(t, p.Code, "m1", start, 1, true)
		e.redeem(t, p.Code, "m2", start, 2, true)
		e.redeem(t, p.Code, "m1", start, 1, true)
		e.redeem(t, p.Code, "m3", start, 3, true)
		e.redeem(t, p.Code, "m2", start, 2, true)
		e.wantUses(t, p.Code, 3)
	}},
	{"redeem stops at max_uses without counting, retries still answer", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Value: dec("1"), MaxUses: 2})
		e.redeem(t, p.Code, "a", start, 1, true)
		e.redeem(t, p.Code, "b", start, 2, true)
		e.redeem(t, p.Code, "c", start, 0, false)
		e.redeem(t, p.Code, "c", start, 0, false)
		e.redeem(t, p.Code, "b", start, 2, true)
		e.wantUses(t, p.Code, 2)
	}},
	{"redeem stops at expiry", func(t *testing.T, e *promoEnv) {
		exp := start.Add(time.Hour)
		p := e.create(t, billing.Promo{Value: dec("1"), ExpiresAt: &exp})
		e.redeem(t, p.Code, "a", exp.Add(-time.Microsecond), 1, true)
		e.redeem(t, p.Code, "b", exp, 0, false)
		e.redeem(t, p.Code, "c", exp.Add(time.Hour), 0, false)
		e.redeem(t, p.Code, "a", exp.Add(time.Hour), 1, true) // a retry after expiry
		e.wantUses(t, p.Code, 1)
	}},
	{"first_n_free has no uses left after free_count", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Kind: billing.PromoFirstNFree, FreeCount: 2})
		e.redeem(t, p.Code, "a", start, 1, true)
		e.redeem(t, p.Code, "b", start, 2, true)
		e.redeem(t, p.Code, "c", start, 0, false)
		q := e.create(t, billing.Promo{Kind: billing.PromoFirstNFree, FreeCount: 5, MaxUses: 1})
		e.redeem(t, q.Code, "a", start, 1, true)
		e.redeem(t, q.Code, "b", start, 0, false)
	}},
	{"redeem of an unknown or another tenant's code is not found", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Value: dec("1")})
		_, _, err := e.s.Redeem(bg, p.Code, e.other, "k", start)
		wantCode(t, err, errs.NotFound)
		_, _, err = e.s.Redeem(bg, newID("NOPE"), e.tenant, "k", start)
		wantCode(t, err, errs.NotFound)
		_, _, err = e.s.Redeem(bg, p.Code, e.tenant, "", start)
		wantField(t, err, "key")
		e.wantUses(t, p.Code, 0)
	}},
	{"active lists the tenant's usable promos, oldest first", func(t *testing.T, e *promoEnv) {
		empty, err := e.s.Active(bg, e.tenant, start)
		mustNot(t, err)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("Active without promos = %#v, want empty, not nil", empty)
		}
		first := e.create(t, billing.Promo{Value: dec("1")})
		e.clock.Advance(time.Second)
		expiring := e.create(t, billing.Promo{Value: dec("1"), ExpiresAt: ptime(start.Add(time.Hour))})
		e.clock.Advance(time.Second)
		used := e.create(t, billing.Promo{Value: dec("1"), MaxUses: 1})
		e.redeem(t, used.Code, "k", start, 1, true)
		e.clock.Advance(time.Second)
		last := e.create(t, billing.Promo{Kind: billing.PromoPercent, Value: dec("5")})
		e.create(t, billing.Promo{TenantID: e.other, Value: dec("1")})
		codes := func(at time.Time) []string {
			ps, err := e.s.Active(bg, e.tenant, at)
			mustNot(t, err)
			var out []string
			for _, p := range ps {
				out = append(out, p.Code)
			}
			return out
		}
		if got, want := codes(start), []string{first.Code, expiring.Code, last.Code}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Active at start = %v, want %v", got, want)
		}
		if got, want := codes(start.Add(time.Hour)), []string{first.Code, last.Code}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Active at expiry = %v, want %v", got, want)
		}
		_, err = e.s.Active(bg, "", start)
		wantCode(t, err, errs.Invalid)
	}},
	{"concurrent redemptions never exceed max_uses", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Value: dec("1"), MaxUses: 5})
		const n = 16
		uses := make([]int64, n)
		oks := make([]bool, n)
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-ready
				var err error
				uses[i], oks[i], err = e.s.Redeem(bg, p.Code, e.tenant, fmt.Sprintf("key-%d", i), start)
				if err != nil {
					t.Errorf("Redeem %d: %v", i, err)
				}
			})
		}
		close(ready)
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			if oks[i] {
				if uses[i] < 1 || uses[i] > 5 || seen[uses[i]] {
					t.Errorf("redemption %d got use %d (seen %v)", i, uses[i], seen)
				}
				seen[uses[i]] = true
			}
		}
		if len(seen) != 5 {
			t.Errorf("%d redemptions succeeded, want 5", len(seen))
		}
		e.wantUses(t, p.Code, 5)
	}},
	{"concurrent retries of one key count one use", func(t *testing.T, e *promoEnv) {
		p := e.create(t, billing.Promo{Value: dec("1")})
		const n = 16
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-ready
				use, ok, err := e.s.Redeem(bg, p.Code, e.tenant, "same", start)
				if err != nil || !ok || use != 1 {
					t.Errorf("Redeem %d = %d, %v, %v, want 1, true", i, use, ok, err)
				}
			})
		}
		close(ready)
		wg.Wait()
		e.wantUses(t, p.Code, 1)
	}},
}

// SettingsStore runs the billing.SettingsStore contract: Get of a tenant without
// settings is the zero Settings for it (amounts 0), Put replaces them with
// UpdatedAt from the clock, levels come back exactly (normalized), and an empty
// tenant or a level with more than 18 fractional digits is Invalid.
func SettingsStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) billing.SettingsStore) {
	runBilling(t, append(settingsCases, settingsSwapCases...), newStore, func(s billing.SettingsStore, c *Clock) *settingsEnv {
		return &settingsEnv{s: s, clock: c, tenant: newID("tenant")}
	})
}

type settingsEnv struct {
	s      billing.SettingsStore
	clock  *Clock
	tenant string
}

var settingsCases = []billingCase[*settingsEnv]{
	{"get without settings is the zero settings", func(t *testing.T, e *settingsEnv) {
		s, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		if s.TenantID != e.tenant || s.B2B || s.Suspended || s.LowNotified || s.Expiry != nil || !s.UpdatedAt.IsZero() {
			t.Fatalf("Get = %+v, want the zero settings of %s", s, e.tenant)
		}
		wantDec(t, "CriticalLevel", s.CriticalLevel, "0")
		wantDec(t, "SuspendLevel", s.SuspendLevel, "0")
		_, err = e.s.Get(bg, "")
		wantCode(t, err, errs.Invalid)
	}},
	{"put stores the settings, put again replaces them", func(t *testing.T, e *settingsEnv) {
		exp := start.Add(30 * 24 * time.Hour)
		in := billing.Settings{TenantID: e.tenant, CriticalLevel: dec("10.500"), SuspendLevel: dec("-0.000000000000000001"),
			Expiry: &exp, B2B: true, LowNotified: true, UpdatedAt: start.Add(-time.Hour)}
		got, err := e.s.Put(bg, in)
		mustNot(t, err)
		read, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		for what, s := range map[string]billing.Settings{"Put": got, "Get": read} {
			if s.TenantID != e.tenant || !s.B2B || s.Suspended || !s.LowNotified || s.Expiry == nil {
				t.Fatalf("%s = %+v", what, s)
			}
			wantDec(t, what+".CriticalLevel", s.CriticalLevel, "10.5")
			wantDec(t, what+".SuspendLevel", s.SuspendLevel, "-0.000000000000000001")
			wantTime(t, what+".Expiry", *s.Expiry, exp)
			wantTime(t, what+".UpdatedAt", s.UpdatedAt, start)
		}
		e.clock.Advance(time.Minute)
		_, err = e.s.Put(bg, billing.Settings{TenantID: e.tenant, Suspended: true, CriticalLevel: dec("99999999999999999999")})
		mustNot(t, err)
		read, err = e.s.Get(bg, e.tenant)
		mustNot(t, err)
		if !read.Suspended || read.B2B || read.LowNotified || read.Expiry != nil {
			t.Fatalf("Get after the second Put = %+v", read)
		}
		wantDec(t, "CriticalLevel", read.CriticalLevel, "99999999999999999999")
		wantDec(t, "SuspendLevel", read.SuspendLevel, "0")
		wantTime(t, "UpdatedAt", read.UpdatedAt, start.Add(time.Minute))
	}},
	{"put rejects what the store cannot keep", func(t *testing.T, e *settingsEnv) {
		_, err := e.s.Put(bg, billing.Settings{})
		wantField(t, err, "tenant_id")
		_, err = e.s.Put(bg, billing.Settings{TenantID: e.tenant, CriticalLevel: dec("0.0000000000000000001")})
		wantField(t, err, "critical_level")
		_, err = e.s.Put(bg, billing.Settings{TenantID: e.tenant, SuspendLevel: dec("100000000000000000000")})
		wantField(t, err, "suspend_level")
		s, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		if !s.UpdatedAt.IsZero() {
			t.Fatalf("Get after rejected puts = %+v, want nothing stored", s)
		}
	}},
}
