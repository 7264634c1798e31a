package storetest

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
)

// NumberStore runs the numbers.Store contract against the stores newStore returns.
// Besides the interface's doc comment, it holds the adapters to what makes them
// interchangeable: CreatedAt is the store's clock at the first assignment, in UTC
// microseconds; a Conflict names neither tenant; Release answers NotFound for a
// number another tenant owns, as for a free one; List sorts byte-wise (a database's
// collation must not reorder it) and returns an empty, non-nil slice for a tenant
// without numbers; every empty argument is Invalid.
func NumberStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) numbers.Store) {
	for _, tc := range numberCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tc.run(t, &numberEnv{
				s: newStore(t, clock.Now), clock: clock, ctx: context.Background(),
				tenant: newID("tenant"), other: newID("tenant"), suffix: strings.ReplaceAll(uuid.NewString(), "-", ""),
			})
		})
	}
}

type numberEnv struct {
	s             numbers.Store
	clock         *Clock
	ctx           context.Context
	tenant, other string // the subtest's own
	suffix        string // makes the subtest's numbers its own
}

// num returns a number unique to the subtest, beginning with prefix.
func (e *numberEnv) num(prefix string) string { return prefix + e.suffix }

// assign assigns (channel, number) to tenantID and fails unless it succeeds.
func (e *numberEnv) assign(t *testing.T, tenantID, channel, number string) numbers.Number {
	t.Helper()
	rec, err := e.s.Assign(e.ctx, numbers.Number{Channel: channel, Number: number, TenantID: tenantID})
	if err != nil {
		t.Fatalf("Assign(%s, %s, %s): %v", tenantID, channel, number, err)
	}
	return rec
}

// wantNumber fails unless got is (channel, number) of tenantID created at.
func wantNumber(t *testing.T, what string, got numbers.Number, tenantID, channel, number string, at time.Time) {
	t.Helper()
	if got.Channel != channel || got.Number != number || got.TenantID != tenantID {
		t.Errorf("%s = %+v, want %s/%s of tenant %s", what, got, channel, number, tenantID)
	}
	wantTime(t, what+".CreatedAt", got.CreatedAt, at)
}

// wantOwner fails unless tenantID owns (channel, number).
func (e *numberEnv) wantOwner(t *testing.T, channel, number, tenantID string) numbers.Number {
	t.Helper()
	got, err := e.s.Owner(e.ctx, channel, number)
	if err != nil {
		t.Fatalf("Owner(%s, %s): %v, want tenant %s", channel, number, err, tenantID)
	}
	if got.TenantID != tenantID || got.Channel != channel || got.Number != number {
		t.Fatalf("Owner(%s, %s) = %+v, want tenant %s", channel, number, got, tenantID)
	}
	return got
}

// wantFree fails unless (channel, number) is unassigned.
func (e *numberEnv) wantFree(t *testing.T, channel, number string) {
	t.Helper()
	_, err := e.s.Owner(e.ctx, channel, number)
	wantCode(t, err, errs.NotFound)
}

var numberCases = []struct {
	name string
	run  func(t *testing.T, e *numberEnv)
}{
	{"assign records the number with the clock's time", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		rec := e.assign(t, e.tenant, "sms", n)
		wantNumber(t, "Assign", rec, e.tenant, "sms", n, start)
		got := e.wantOwner(t, "sms", n, e.tenant)
		wantNumber(t, "Owner", got, e.tenant, "sms", n, start)
	}},
	{"assign ignores a caller's created_at", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		rec, err := e.s.Assign(e.ctx, numbers.Number{Channel: "sms", Number: n, TenantID: e.tenant,
			CreatedAt: start.Add(-24 * time.Hour)})
		mustNot(t, err)
		wantNumber(t, "Assign", rec, e.tenant, "sms", n, start)
	}},
	{"assign of empty fields is invalid", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		for _, c := range []numbers.Number{
			{Number: n, TenantID: e.tenant},
			{Channel: "sms", TenantID: e.tenant},
			{Channel: "sms", Number: n},
			{},
		} {
			_, err := e.s.Assign(e.ctx, c)
			wantCode(t, err, errs.Invalid)
		}
		e.wantFree(t, "sms", n)
	}},
	{"assign again to the same tenant returns the existing record", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		first := e.assign(t, e.tenant, "sms", n)
		e.clock.Advance(time.Hour)
		again := e.assign(t, e.tenant, "sms", n)
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("second Assign = %+v, want the first record %+v", again, first)
		}
		wantNumber(t, "second Assign", again, e.tenant, "sms", n, start)
		list, err := e.s.List(e.ctx, e.tenant)
		mustNot(t, err)
		if len(list) != 1 {
			t.Fatalf("List = %+v, want the one number", list)
		}
	}},
	{"assign of another tenant's number is a conflict naming neither tenant", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		e.assign(t, e.tenant, "sms", n)
		e.clock.Advance(time.Minute)
		_, err := e.s.Assign(e.ctx, numbers.Number{Channel: "sms", Number: n, TenantID: e.other})
		wantCode(t, err, errs.Conflict)
		if msg := err.Error(); strings.Contains(msg, e.tenant) || strings.Contains(msg, e.other) ||
			!strings.Contains(msg, "owned by another tenant") {
			t.Errorf("Conflict message %q names a tenant or lacks %q", msg, "owned by another tenant")
		}
		got := e.wantOwner(t, "sms", n, e.tenant)
		wantTime(t, "Owner.CreatedAt", got.CreatedAt, start)
		list, err := e.s.List(e.ctx, e.other)
		mustNot(t, err)
		if len(list) != 0 {
			t.Fatalf("List of the losing tenant = %+v, want none", list)
		}
	}},
	{"the same number on another channel is another address", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		e.assign(t, e.tenant, "sms", n)
		rec := e.assign(t, e.other, "whatsapp", n)
		wantNumber(t, "Assign", rec, e.other, "whatsapp", n, start)
		e.wantOwner(t, "sms", n, e.tenant)
		e.wantOwner(t, "whatsapp", n, e.other)
	}},
	{"release frees the number", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		e.assign(t, e.tenant, "sms", n)
		mustNot(t, e.s.Release(e.ctx, e.tenant, "sms", n))
		e.wantFree(t, "sms", n)
		list, err := e.s.List(e.ctx, e.tenant)
		mustNot(t, err)
		if len(list) != 0 {
			t.Fatalf("List after Release = %+v, want none", list)
		}
		// Freed, it can go to another tenant, with a new CreatedAt.
		e.clock.Advance(time.Hour)
		rec := e.assign(t, e.other, "sms", n)
		wantNumber(t, "Assign after Release", rec, e.other, "sms", n, start.Add(time.Hour))
	}},
	{"release of an unassigned number is not found", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		wantCode(t, e.s.Release(e.ctx, e.tenant, "sms", n), errs.NotFound)
		e.assign(t, e.tenant, "sms", n)
		mustNot(t, e.s.Release(e.ctx, e.tenant, "sms", n))
		wantCode(t, e.s.Release(e.ctx, e.tenant, "sms", n), errs.NotFound)
	}},
	{"release of another tenant's number is not found and keeps it", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		e.assign(t, e.tenant, "sms", n)
		err := e.s.Release(e.ctx, e.other, "sms", n)
		wantCode(t, err, errs.NotFound)
		if strings.Contains(err.Error(), e.tenant) {
			t.Errorf("NotFound message %q names the owner", err)
		}
		e.wantOwner(t, "sms", n, e.tenant)
		// Another channel's address is not the tenant's either.
		wantCode(t, e.s.Release(e.ctx, e.tenant, "whatsapp", n), errs.NotFound)
		e.wantOwner(t, "sms", n, e.tenant)
	}},
	{"release of empty fields is invalid", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		e.assign(t, e.tenant, "sms", n)
		wantCode(t, e.s.Release(e.ctx, "", "sms", n), errs.Invalid)
		wantCode(t, e.s.Release(e.ctx, e.tenant, "", n), errs.Invalid)
		wantCode(t, e.s.Release(e.ctx, e.tenant, "sms", ""), errs.Invalid)
		e.wantOwner(t, "sms", n, e.tenant)
	}},
	{"owner of an unassigned number is not found", func(t *testing.T, e *numberEnv) {
		e.wantFree(t, "sms", e.num("+4477"))
	}},
	{"owner of empty fields is invalid", func(t *testing.T, e *numberEnv) {
		_, err := e.s.Owner(e.ctx, "", e.num("+4477"))
		wantCode(t, err, errs.Invalid)
		_, err = e.s.Owner(e.ctx, "sms", "")
		wantCode(t, err, errs.Invalid)
	}},
	{"list of a tenant without numbers is empty, not nil", func(t *testing.T, e *numberEnv) {
		list, err := e.s.List(e.ctx, e.tenant)
		mustNot(t, err)
		if list == nil || len(list) != 0 {
			t.Fatalf("List = %#v, want an empty non-nil slice", list)
		}
	}},
	{"list of an empty tenant is invalid", func(t *testing.T, e *numberEnv) {
		_, err := e.s.List(e.ctx, "")
		wantCode(t, err, errs.Invalid)
	}},
	{"list sorts by channel then number, byte-wise, and holds only the tenant's", func(t *testing.T, e *numberEnv) {
		// Assigned out of order, with the clock moving, across channels; a natural
		// language collation would put "12345…" before "+4477…" (it skips the '+')
		// and "a…" before "B…".
		type addr struct{ channel, number string }
		assigned := []addr{
			{"whatsapp", e.num("+4477")},
			{"sms", e.num("a")},
			{"sms", e.num("12345")},
			{"sms", e.num("B")},
			{"RCS", e.num("+4478")},
			{"sms", e.num("+4477")},
		}
		at := map[addr]time.Time{}
		for _, a := range assigned {
			e.assign(t, e.tenant, a.channel, a.number)
			at[a] = e.clock.Now()
			e.clock.Advance(time.Second)
		}
		e.assign(t, e.other, "sms", e.num("+4479"))
		want := []addr{
			{"RCS", e.num("+4478")},
			{"sms", e.num("+4477")},
			{"sms", e.num("12345")},
			{"sms", e.num("B")},
			{"sms", e.num("a")},
			{"whatsapp", e.num("+4477")},
		}
		list, err := e.s.List(e.ctx, e.tenant)
		mustNot(t, err)
		if len(list) != len(want) {
			t.Fatalf("List = %+v, want %d numbers", list, len(want))
		}
		for i, w := range want {
			wantNumber(t, "List["+w.channel+" "+w.number+"]", list[i], e.tenant, w.channel, w.number, at[w])
		}
		other, err := e.s.List(e.ctx, e.other)
		mustNot(t, err)
		if len(other) != 1 || other[0].Number != e.num("+4479") {
			t.Fatalf("List of the other tenant = %+v, want its one number", other)
		}
	}},
	{"concurrent assigns of one number give it to exactly one tenant", func(t *testing.T, e *numberEnv) {
		n := e.num("+4477")
		const calls = 20
		type result struct {
			tenant string
			rec    numbers.Number
			err    error
		}
		results := make([]result, calls)
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i := range calls {
			tenantID := e.tenant
			if i%2 == 1 {
				tenantID = e.other
			}
			wg.Go(func() {
				<-ready
				rec, err := e.s.Assign(e.ctx, numbers.Number{Channel: "sms", Number: n, TenantID: tenantID})
				results[i] = result{tenantID, rec, err}
			})
		}
		close(ready)
		wg.Wait()
		owner, err := e.s.Owner(e.ctx, "sms", n)
		mustNot(t, err)
		if owner.TenantID != e.tenant && owner.TenantID != e.other {
			t.Fatalf("Owner = %+v, want one of the two tenants", owner)
		}
		won := 0
		for i, r := range results {
			switch {
			case r.err == nil:
				if r.tenant != owner.TenantID {
					t.Errorf("call %d of tenant %s succeeded, but %s owns the number", i, r.tenant, owner.TenantID)
				}
				if !reflect.DeepEqual(r.rec, owner) {
					t.Errorf("call %d returned %+v, want the owner's record %+v", i, r.rec, owner)
				}
				won++
			case errs.CodeOf(r.err) == errs.Conflict:
				if r.tenant == owner.TenantID {
					t.Errorf("call %d of the owning tenant %s: %v", i, r.tenant, r.err)
				}
			default:
				t.Errorf("call %d of tenant %s: %v, want the record or Conflict", i, r.tenant, r.err)
			}
		}
		if won != calls/2 {
			t.Errorf("%d calls succeeded, want the owner's %d", won, calls/2)
		}
	}},
}
