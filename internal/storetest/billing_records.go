package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// The contract of billing's other records (billing/records.go), run by ChargeStore
// and SettingsStore with their cases.

var recordCases = []billingCase[*chargeEnv]{
	{"a decline is recorded once: the first answer stands", func(t *testing.T, e *chargeEnv) {
		_, err := e.s.Decline(bg, e.tenant, "m1")
		wantCode(t, err, errs.NotFound)
		first, err := e.s.RecordDecline(bg, billing.Decline{TenantID: e.tenant, MessageID: "m1", Channel: e.channel, Reason: "insufficient_balance", Detail: "available 0"})
		mustNot(t, err)
		wantTime(t, "At", first.At, start)
		e.clock.Advance(time.Minute)
		again, err := e.s.RecordDecline(bg, billing.Decline{TenantID: e.tenant, MessageID: "m1", Reason: "no_rate"})
		mustNot(t, err)
		got, err := e.s.Decline(bg, e.tenant, "m1")
		mustNot(t, err)
		for what, d := range map[string]billing.Decline{"again": again, "Decline": got} {
			if d.Reason != "insufficient_balance" || d.Detail != "available 0" || d.Channel != e.channel {
				t.Fatalf("%s = %+v, want the first decline", what, d)
			}
			wantTime(t, what+".At", d.At, start)
		}
		_, err = e.s.Decline(bg, e.other, "m1")
		wantCode(t, err, errs.NotFound)
		_, err = e.s.RecordDecline(bg, billing.Decline{TenantID: e.tenant, MessageID: "m2"})
		wantField(t, err, "reason")
	}},
	{"repairs are kept, newest first", func(t *testing.T, e *chargeEnv) {
		for i := range 3 {
			_, err := e.s.RecordRepair(bg, billing.Repair{ID: newID("repair"), TenantID: e.tenant, Problems: []string{fmt.Sprint("problem ", i)},
				Wallet: billing.AccountState{Currency: "EUR", Balance: "1", Blocked: "0"},
				Ledger: billing.AccountState{Currency: "EUR", Balance: "2", Blocked: "0.5", Reservations: map[string]string{"r1": "0.5"}}})
			mustNot(t, err)
			e.clock.Advance(time.Second)
		}
		got, err := e.s.Repairs(bg, e.tenant, 2)
		mustNot(t, err)
		if len(got) != 2 || got[0].Problems[0] != "problem 2" || got[1].Problems[0] != "problem 1" || got[0].Ledger.Reservations["r1"] != "0.5" {
			t.Fatalf("Repairs = %+v", got)
		}
		wantTime(t, "At", got[1].At, start.Add(time.Second))
		none, err := e.s.Repairs(bg, e.other, 10)
		mustNot(t, err)
		if len(none) != 0 {
			t.Fatalf("another tenant's repairs = %+v", none)
		}
		_, err = e.s.RecordRepair(bg, billing.Repair{ID: newID("repair")})
		wantField(t, err, "tenant_id")
	}},
}

var settingsSwapCases = []billingCase[*settingsEnv]{
	{"swap is compare-and-set on the version", func(t *testing.T, e *settingsEnv) {
		s, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		if s.Version != 0 {
			t.Fatalf("version without settings = %d, want 0", s.Version)
		}
		s.CriticalLevel = dec("5")
		first, err := e.s.Swap(bg, s)
		mustNot(t, err)
		if first.Version != 1 {
			t.Fatalf("first swap = version %d, want 1", first.Version)
		}
		_, err = e.s.Swap(bg, s) // version 0 again: another write came first
		wantCode(t, err, errs.Conflict)
		first.Suspended = true
		second, err := e.s.Swap(bg, first)
		mustNot(t, err)
		_, err = e.s.Swap(bg, first)
		wantCode(t, err, errs.Conflict)
		put, err := e.s.Put(bg, second)
		mustNot(t, err)
		read, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		if second.Version != 2 || put.Version != 3 || read.Version != 3 || !read.Suspended || !read.CriticalLevel.Equal(dec("5")) {
			t.Fatalf("versions %d %d %d, read %+v", second.Version, put.Version, read.Version, read)
		}
	}},
	{"alerts are kept until removed, and listed as pending", func(t *testing.T, e *settingsEnv) {
		s, err := e.s.Get(bg, e.tenant)
		mustNot(t, err)
		s.Alerts = []billing.Alert{{ID: "a1", TenantID: e.tenant, Type: "io.catalyst.balance.low", Data: json.RawMessage(`{"balance":"1"}`), At: start}}
		s, err = e.s.Swap(bg, s)
		mustNot(t, err)
		pending, err := e.s.Pending(bg, 1000)
		mustNot(t, err)
		found := false
		for _, p := range pending {
			if p.TenantID == e.tenant {
				found = len(p.Alerts) == 1 && p.Alerts[0].ID == "a1" && string(p.Alerts[0].Data) == `{"balance":"1"}`
				wantTime(t, "Alerts[0].At", p.Alerts[0].At, start)
			}
		}
		if !found {
			t.Fatalf("Pending = %+v, want the tenant's alert", pending)
		}
		s.Alerts = billing.RemoveAlerts(s.Alerts, []string{"a1"})
		_, err = e.s.Swap(bg, s)
		mustNot(t, err)
		pending, err = e.s.Pending(bg, 1000)
		mustNot(t, err)
		for _, p := range pending {
			if p.TenantID == e.tenant {
				t.Fatalf("Pending after the alert was removed = %+v", p)
			}
		}
	}},
}
