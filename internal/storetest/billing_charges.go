package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// ChargeStore runs the billing.Charges contract. Besides the doc comments it holds
// the adapters to: an empty Status is reserved and a zero CreatedAt the clock's now;
// a batch with one bad charge or settlement writes nothing; a settlement applies
// only to a reserved charge with its tenant, ID and CreatedAt (others, unknown ones
// included, are skipped), the first of a batch winning; a released charge is charged
// 0; List pages newest first (ties by ID descending, byte-wise) across months, which
// a time-partitioned store keeps in different partitions; amounts come back exactly,
// normalized. Each subtest has tenants and channels of its own.
func ChargeStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) billing.Charges) {
	runBilling(t, append(chargeCases, recordCases...), newStore, func(s billing.Charges, c *Clock) *chargeEnv {
		return &chargeEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant"), channel: newID("sms")}
	})
}

type chargeEnv struct {
	s                      billing.Charges
	clock                  *Clock
	tenant, other, channel string
}

// charge returns a reserved charge of the env's tenant and channel created at.
func (e *chargeEnv) charge(id string, at time.Time, amount string) billing.Charge {
	return billing.Charge{ID: id, TenantID: e.tenant, MessageID: "msg-" + id, Channel: e.channel, Amount: dec(amount),
		Currency: "EUR", CreatedAt: at, Breakdown: billing.Breakdown{
			RateCardID: "card-1", RateCardVersion: 3, CardCurrency: "USD", Currency: "EUR", Unit: billing.PerSegment,
			Units: dec("2"), BaseRate: dec("0.0075"), Base: dec("0.015"), FXRate: dec("0.923076923076923077"),
			Converted: dec("0.013846153846153846"), Tax: dec("0.002630769230769231"), Total: dec(amount), PromoCode: "X",
		}}
}

func (e *chargeEnv) record(t *testing.T, cs ...billing.Charge) {
	t.Helper()
	if err := e.s.Record(bg, cs); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func (e *chargeEnv) get(t *testing.T, id string) billing.Charge {
	t.Helper()
	c, err := e.s.Get(bg, e.tenant, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func (e *chargeEnv) settle(t *testing.T, ss ...billing.Settlement) {
	t.Helper()
	if err := e.s.Settle(bg, ss); err != nil {
		t.Fatalf("Settle: %v", err)
	}
}

func (e *chargeEnv) commit(c billing.Charge, charged string) billing.Settlement {
	return billing.Settlement{TenantID: c.TenantID, ID: c.ID, CreatedAt: c.CreatedAt, Status: billing.ChargeCommitted,
		Charged: dec(charged), At: e.clock.Now()}
}

// wantStatus fails unless charge id is in status with charged.
func (e *chargeEnv) wantStatus(t *testing.T, id string, status billing.ChargeStatus, charged string) billing.Charge {
	t.Helper()
	c := e.get(t, id)
	if c.Status != status {
		t.Fatalf("charge %s status = %s, want %s", id, c.Status, status)
	}
	wantDec(t, "charge "+id+" charged", c.Charged, charged)
	return c
}

// ids lists the ids of a page.
func ids(p billing.ChargePage) []string {
	out := make([]string, len(p.Charges))
	for i, c := range p.Charges {
		out[i] = c.ID
	}
	return out
}

// listAll pages through f, failing unless every page but the last is full.
func (e *chargeEnv) listAll(t *testing.T, f billing.ChargeFilter) []billing.Charge {
	t.Helper()
	var all []billing.Charge
	for pages := 0; ; pages++ {
		p, err := e.s.List(bg, f)
		mustNot(t, err)
		all = append(all, p.Charges...)
		if p.NextCursor == "" {
			return all
		}
		if len(p.Charges) != f.Limit || pages > 100 {
			t.Fatalf("page %d has %d charges and a cursor, want %d", pages, len(p.Charges), f.Limit)
		}
		f.Cursor = p.NextCursor
	}
}

var chargeCases = []billingCase[*chargeEnv]{
	{"record then get returns the charge exactly", func(t *testing.T, e *chargeEnv) {
		in := e.charge(newID("tx"), start, "0.016476923076923077")
		in.Amount = dec("12345678901234567890.123456789012345670")
		e.record(t, in)
		got := e.get(t, in.ID)
		if got.ID != in.ID || got.TenantID != e.tenant || got.MessageID != in.MessageID || got.Channel != e.channel ||
			got.Status != billing.ChargeReserved || got.Currency != "EUR" || got.Reason != "" || got.SettledAt != nil {
			t.Fatalf("Get = %+v", got)
		}
		wantDec(t, "Amount", got.Amount, "12345678901234567890.12345678901234567")
		wantDec(t, "Charged", got.Charged, "0")
		wantTime(t, "CreatedAt", got.CreatedAt, start)
		sameJSON(t, "Breakdown", got.Breakdown, in.Breakdown)
		wantDec(t, "Breakdown.FXRate", got.Breakdown.FXRate, "0.923076923076923077")
		// A zero CreatedAt is the clock's now.
		e.clock.Advance(time.Hour)
		now := e.charge(newID("tx"), time.Time{}, "1")
		e.record(t, now)
		wantTime(t, "zero CreatedAt", e.get(t, now.ID).CreatedAt, start.Add(time.Hour))
	}},
	{"record leaves a recorded charge as is", func(t *testing.T, e *chargeEnv) {
		id := newID("tx")
		e.record(t, e.charge(id, start, "1"))
		again := e.charge(id, start.Add(time.Hour), "2")
		again.Status = billing.ChargeCommitted
		e.record(t, again, e.charge(id, start, "3"))
		got := e.wantStatus(t, id, billing.ChargeReserved, "0")
		wantDec(t, "Amount", got.Amount, "1")
		wantTime(t, "CreatedAt", got.CreatedAt, start)
		// Within one batch the first wins.
		id2 := newID("tx")
		e.record(t, e.charge(id2, start, "4"), e.charge(id2, start.Add(time.Minute), "5"))
		wantDec(t, "first of a batch", e.get(t, id2).Amount, "4")
		// The same ID is another charge for another tenant.
		o := e.charge(id, start, "6")
		o.TenantID = e.other
		e.record(t, o)
		c, err := e.s.Get(bg, e.other, id)
		mustNot(t, err)
		wantDec(t, "other tenant's Amount", c.Amount, "6")
	}},
	{"record of a batch with a bad charge records none", func(t *testing.T, e *chargeEnv) {
		good := e.charge(newID("tx"), start, "1")
		for field, bad := range map[string]func(*billing.Charge){
			"tenant_id":      func(c *billing.Charge) { c.TenantID = "" },
			"transaction_id": func(c *billing.Charge) { c.ID = "" },
			"status":         func(c *billing.Charge) { c.Status = "pending" },
			"currency":       func(c *billing.Charge) { c.Currency = "eur" },
			"amount":         func(c *billing.Charge) { c.Amount = dec("0.0000000000000000001") },
			"charged":        func(c *billing.Charge) { c.Charged = dec("100000000000000000000") },
		} {
			c := e.charge(newID("tx"), start, "1")
			bad(&c)
			wantField(t, e.s.Record(bg, []billing.Charge{good, c}), field)
		}
		_, err := e.s.Get(bg, e.tenant, good.ID)
		wantCode(t, err, errs.NotFound)
		mustNot(t, e.s.Record(bg, nil))
	}},
	{"settle commits or releases once: the first settlement wins", func(t *testing.T, e *chargeEnv) {
		a, b, c := e.charge(newID("tx"), start, "1.5"), e.charge(newID("tx"), start.Add(-40*24*time.Hour), "2"), e.charge(newID("tx"), start, "3")
		e.record(t, a, b, c)
		e.clock.Advance(time.Minute)
		release := billing.Settlement{TenantID: e.tenant, ID: b.ID, CreatedAt: b.CreatedAt, Status: billing.ChargeReleased, Reason: "failed"}
		e.settle(t, e.commit(a, "1.2500"), release, e.commit(c, "3"), billing.Settlement{TenantID: e.tenant, ID: c.ID,
			CreatedAt: c.CreatedAt, Status: billing.ChargeReleased, Reason: "expired"})
		got := e.wantStatus(t, a.ID, billing.ChargeCommitted, "1.25")
		if got.SettledAt == nil {
			t.Fatal("committed charge has no SettledAt")
		}
		wantTime(t, "SettledAt", *got.SettledAt, start.Add(time.Minute))
		got = e.wantStatus(t, b.ID, billing.ChargeReleased, "0")
		if got.Reason != "failed" || got.SettledAt == nil {
			t.Fatalf("released charge = %+v", got)
		}
		wantTime(t, "SettledAt (zero At is now)", *got.SettledAt, start.Add(time.Minute))
		e.wantStatus(t, c.ID, billing.ChargeCommitted, "3")
		// Replays and later settlements change nothing.
		e.clock.Advance(time.Hour)
		e.settle(t, e.commit(a, "9"), billing.Settlement{TenantID: e.tenant, ID: a.ID, CreatedAt: a.CreatedAt, Status: billing.ChargeReleased}, e.commit(b, "2"))
		got = e.wantStatus(t, a.ID, billing.ChargeCommitted, "1.25")
		wantTime(t, "SettledAt after replay", *got.SettledAt, start.Add(time.Minute))
		e.wantStatus(t, b.ID, billing.ChargeReleased, "0")
	}},
	{"settle skips unknown charges and a wrong created_at", func(t *testing.T, e *chargeEnv) {
		a := e.charge(newID("tx"), start, "1")
		e.record(t, a)
		wrong := e.commit(a, "1")
		wrong.CreatedAt = start.Add(time.Second)
		other := e.commit(a, "1")
		other.TenantID = e.other
		e.settle(t, wrong, other, e.commit(e.charge(newID("tx"), start, "1"), "1"))
		e.wantStatus(t, a.ID, billing.ChargeReserved, "0")
	}},
	{"settle of a batch with a bad settlement settles none", func(t *testing.T, e *chargeEnv) {
		a := e.charge(newID("tx"), start, "1")
		e.record(t, a)
		ok := e.commit(a, "1")
		for field, bad := range map[string]func(*billing.Settlement){
			"status":         func(s *billing.Settlement) { s.Status = billing.ChargeReserved },
			"charged":        func(s *billing.Settlement) { s.Status, s.Charged = billing.ChargeReleased, dec("1") },
			"created_at":     func(s *billing.Settlement) { s.CreatedAt = time.Time{} },
			"transaction_id": func(s *billing.Settlement) { s.ID = "" },
		} {
			s := e.commit(a, "1")
			bad(&s)
			wantField(t, e.s.Settle(bg, []billing.Settlement{ok, s}), field)
		}
		e.wantStatus(t, a.ID, billing.ChargeReserved, "0")
	}},
	{"get of another tenant's charge is not found; no tenant finds any", func(t *testing.T, e *chargeEnv) {
		a := e.charge(newID("tx"), start, "1")
		e.record(t, a)
		_, err := e.s.Get(bg, e.other, a.ID)
		wantCode(t, err, errs.NotFound)
		_, err = e.s.Get(bg, e.tenant, newID("tx"))
		wantCode(t, err, errs.NotFound)
		got, err := e.s.Get(bg, "", a.ID)
		mustNot(t, err)
		if got.TenantID != e.tenant {
			t.Fatalf("Get(\"\", %s) = tenant %s", a.ID, got.TenantID)
		}
	}},
	{"list filters by tenant, channel, status and time, newest first", func(t *testing.T, e *chargeEnv) {
		var recorded []billing.Charge
		for i := range 6 {
			c := e.charge(fmt.Sprintf("tx-%d", i), start.Add(time.Duration(i)*time.Hour), "1")
			if i == 4 {
				c.Channel = "whatsapp-" + e.channel
			}
			recorded = append(recorded, c)
		}
		same := e.charge("tx-9", recorded[2].CreatedAt, "1") // a tie: ID descending
		o := e.charge("tx-0", start.Add(3*time.Hour), "1")
		o.TenantID = e.other
		e.record(t, append(recorded, same, o)...)
		e.settle(t, e.commit(recorded[1], "1"), e.commit(recorded[3], "1"))
		for _, c := range []struct {
			f    billing.ChargeFilter
			want string
		}{
			{billing.ChargeFilter{TenantID: e.tenant}, "[tx-5 tx-4 tx-3 tx-9 tx-2 tx-1 tx-0]"},
			{billing.ChargeFilter{TenantID: e.tenant, Channel: e.channel}, "[tx-5 tx-3 tx-9 tx-2 tx-1 tx-0]"},
			{billing.ChargeFilter{TenantID: e.tenant, Status: billing.ChargeCommitted}, "[tx-3 tx-1]"},
			{billing.ChargeFilter{TenantID: e.tenant, Status: billing.ChargeReserved, Channel: e.channel}, "[tx-5 tx-9 tx-2 tx-0]"},
			{billing.ChargeFilter{TenantID: e.tenant, From: start.Add(2 * time.Hour), To: start.Add(4 * time.Hour)}, "[tx-3 tx-9 tx-2]"},
			{billing.ChargeFilter{TenantID: e.tenant, From: start.Add(5 * time.Hour)}, "[tx-5]"},
			{billing.ChargeFilter{TenantID: e.tenant, To: start.Add(time.Hour)}, "[tx-0]"},
			{billing.ChargeFilter{Channel: e.channel}, "[tx-5 tx-3 tx-0 tx-9 tx-2 tx-1 tx-0]"},
			{billing.ChargeFilter{TenantID: newID("tenant")}, "[]"},
		} {
			p, err := e.s.List(bg, c.f)
			mustNot(t, err)
			if got := fmt.Sprint(ids(p)); got != c.want || p.NextCursor != "" || p.Charges == nil {
				t.Errorf("List(%+v) = %s (cursor %q), want %s", c.f, got, p.NextCursor, c.want)
			}
		}
	}},
	{"list pages with a cursor across month boundaries", func(t *testing.T, e *chargeEnv) {
		// 40 charges, one every 3 days and 1µs, from 2031-01-20: four months, so a
		// partitioned store reads several partitions per page.
		first := time.Date(2031, 1, 20, 23, 59, 59, 999999000, time.UTC)
		var want []string
		var batch []billing.Charge
		for i := range 40 {
			c := e.charge(fmt.Sprintf("tx-%02d", i), first.Add(time.Duration(i)*(72*time.Hour+time.Microsecond)), fmt.Sprintf("0.%018d", i+1))
			batch = append(batch, c)
			want = append([]string{c.ID}, want...)
		}
		e.record(t, batch...)
		for _, limit := range []int{1, 7, 10, 39, 40, 1000} {
			all := e.listAll(t, billing.ChargeFilter{TenantID: e.tenant, Limit: limit})
			got := make([]string, len(all))
			for i, c := range all {
				got[i] = c.ID
				n := 40 - i
				wantDec(t, c.ID+".Amount", c.Amount, strings.TrimRight(fmt.Sprintf("0.%018d", n), "0"))
				wantTime(t, c.ID+".CreatedAt", c.CreatedAt, batch[n-1].CreatedAt)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("limit %d: pages = %v, want %v", limit, got, want)
			}
		}
		// The cursor holds the filter's place: a window in February only.
		feb := e.listAll(t, billing.ChargeFilter{TenantID: e.tenant, Limit: 3,
			From: time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)})
		if len(feb) != 9 || feb[0].ID != "tx-12" || feb[8].ID != "tx-04" {
			t.Fatalf("February = %v", ids(billing.ChargePage{Charges: feb}))
		}
	}},
	{"list limits, default page size and bad filters", func(t *testing.T, e *chargeEnv) {
		batch := make([]billing.Charge, billing.DefaultChargeLimit+1)
		for i := range batch {
			batch[i] = e.charge(fmt.Sprintf("tx-%03d", i), start.Add(time.Duration(i)*time.Second), "1")
		}
		e.record(t, batch...)
		p, err := e.s.List(bg, billing.ChargeFilter{TenantID: e.tenant})
		mustNot(t, err)
		if len(p.Charges) != billing.DefaultChargeLimit || p.NextCursor == "" {
			t.Fatalf("default page = %d charges, cursor %q", len(p.Charges), p.NextCursor)
		}
		p, err = e.s.List(bg, billing.ChargeFilter{TenantID: e.tenant, Cursor: p.NextCursor})
		mustNot(t, err)
		if fmt.Sprint(ids(p)) != "[tx-000]" || p.NextCursor != "" {
			t.Fatalf("second page = %v, cursor %q", ids(p), p.NextCursor)
		}
		for _, f := range []billing.ChargeFilter{
			{TenantID: e.tenant, Limit: billing.MaxChargeLimit + 1}, {TenantID: e.tenant, Limit: -1},
			{TenantID: e.tenant, Status: "pending"}, {TenantID: e.tenant, Cursor: "not a cursor!"}, {TenantID: e.tenant, Cursor: "eHl6"},
		} {
			_, err := e.s.List(bg, f)
			wantCode(t, err, errs.Invalid)
		}
	}},
	{"large batches record and settle in one call", func(t *testing.T, e *chargeEnv) {
		batch := make([]billing.Charge, 500)
		ss := make([]billing.Settlement, 500)
		for i := range batch {
			batch[i] = e.charge(newID("tx"), start.Add(time.Duration(i)*time.Hour), "0.1")
			ss[i] = e.commit(batch[i], "0.09")
		}
		e.record(t, batch...)
		e.settle(t, ss...)
		all := e.listAll(t, billing.ChargeFilter{TenantID: e.tenant, Status: billing.ChargeCommitted, Limit: 1000})
		if len(all) != 500 {
			t.Fatalf("committed = %d, want 500", len(all))
		}
		for _, c := range all {
			wantDec(t, "Charged", c.Charged, "0.09")
		}
	}},
}
