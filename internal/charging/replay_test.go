package charging_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
)

// A delivery event replayed 8 days later, past the wallet's memory of the message,
// charges nothing: the ledger answers it, as the first delivery was answered. So do a
// failure reported then, and the message's authorize replayed.
func TestDeliveryReplayedEightDaysLaterChargesNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard())
		m := f.message("hello")
		f.authorize(t, m)
		first := f.settle(t, m, true)
		if first.Committed == nil {
			t.Fatalf("delivery: %+v", first)
		}
		f.clock.Advance(8 * 24 * time.Hour)
		for _, delivered := range []bool{true, false, true} {
			s := f.settle(t, m, delivered)
			if s.Committed == nil || s.Released != nil || !s.Committed.Amount.Equal(dec("0.015")) || s.Committed.ReservationID != m.MessageID {
				t.Fatalf("outcome (delivered %v) 8 days later: %+v, want the first commit of 0.015 described again", delivered, s)
			}
		}
		if a, d := f.authorize(t, m); a != nil || d != nil {
			t.Fatalf("authorize 8 days later: authorized %+v declined %+v, want neither", a, d)
		}
		f.wantAccount(t, "0.985", "0")
		f.wantCharge(t, m.MessageID, billing.ChargeCommitted, "0.015")
		if n, err := f.cfg.Volume.Count(f.ctx, f.tenant, billing.MonthOf(t0)); err != nil || n != 1 {
			t.Fatalf("month volume %d, %v; want the one message", n, err)
		}
		f.wantClean(t)
	})
}

// Volume tiers and contract overage count what was committed: declined and released
// messages do not move the tier, a replayed commit counts once, and a failure the
// rate charges for counts.
func TestVolumeCountsCommittedMessages(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, f *fixture) {
		f.withTenant(t, "EUR", "1", smsCard(func(c *billing.RateCard) {
			c.Rates["whatsapp"] = billing.ChannelRate{BaseRate: dec("0.02"), Unit: billing.PerMessage, ChargeOnFailure: true}
			c.VolumeDiscounts = []billing.VolumeDiscount{{MinVolume: 4, DiscountPercent: dec("50")}}
			c.Contract = &billing.Contract{IncludedVolume: 4, OverageRate: dec("0.03")}
		}))
		volume := func(want int64) {
			t.Helper()
			if n, err := f.cfg.Volume.Count(f.ctx, f.tenant, billing.MonthOf(t0)); err != nil || n != want {
				t.Fatalf("month volume %d, %v; want %d", n, err, want)
			}
		}
		delivered := f.message("one")
		f.authorize(t, delivered)
		for range 3 { // a delivery redelivered counts once
			f.settle(t, delivered, true)
		}
		volume(1)
		wa := f.message("two")
		wa.Channel = "whatsapp"
		f.authorize(t, wa)
		f.settle(t, wa, false) // failed, and charged on failure: committed
		f.settle(t, wa, false)
		volume(2)
		for range 3 { // failed and released
			m := f.message("failed")
			f.authorize(t, m)
			f.settle(t, m, false)
		}
		for range 3 { // declined: no rate
			m := f.message("declined")
			m.Channel = "viber"
			if _, d := f.authorize(t, m); d == nil {
				t.Fatal("viber: want a decline")
			}
		}
		f.settle(t, delivered, false) // a failure after the delivery
		volume(2)
		// The next message is the month's third: no discount yet, within the contract.
		third := f.message("three")
		r, d, err := f.engine.Rate(f.ctx, third)
		if err != nil || d != nil {
			t.Fatalf("rate: %v %+v", err, d)
		}
		if r.Usage.MonthVolume != 3 || r.Breakdown.Overage {
			t.Fatalf("third message rated at month volume %d, overage %v; want 3, no overage", r.Usage.MonthVolume, r.Breakdown.Overage)
		}
		if a, _ := f.authorize(t, third); a == nil || !a.Amount.Equal(dec("0.015")) {
			t.Fatalf("third message: %+v, want 0.015 undiscounted", a)
		}
		f.settle(t, third, true)
		volume(3)
		fourth, fifth := f.message("four"), f.message("five")
		if a, _ := f.authorize(t, fourth); a == nil || !a.Amount.Equal(dec("0.0075")) {
			t.Fatalf("fourth message: %+v, want 0.0075 (the 50%% tier)", a)
		}
		f.settle(t, fourth, true)
		if a, _ := f.authorize(t, fifth); a == nil || !a.Amount.Equal(dec("0.015")) {
			t.Fatalf("fifth message: %+v, want 0.015 (overage 0.03, 50%% off)", a)
		}
		f.settle(t, fifth, true)
		volume(5)
		f.wantClean(t)
	})
}

// Settled messages leave nothing per message in Redis: the wallet forgets a
// reservation once the ledger has its settlement, and the volume counter keeps one
// number per tenant and month. What stays is per tenant.
func TestSettledMessagesLeaveNothingPerMessageInRedis(t *testing.T) {
	t.Parallel()
	f := real(t)
	f.withTenant(t, "EUR", "10", smsCard())
	var msgs []catalog.MessageRequested
	for i := range 30 {
		m := f.message("hi")
		if a, _ := f.authorize(t, m); a == nil {
			t.Fatalf("message %d not authorized", i)
		}
		msgs = append(msgs, m)
	}
	for i, m := range msgs[:20] {
		f.settle(t, m, i%2 == 0) // delivered or failed
	}
	f.clock.Advance(charging.DefaultReservationTTL + time.Second)
	if got, err := f.engine.ExpireDue(f.ctx, 100); err != nil || len(got) != 10 {
		t.Fatalf("expired %d, %v; want the 10 unsettled", len(got), err)
	}
	keys := redisKeys(t, f)
	for _, k := range keys {
		for _, m := range msgs {
			if strings.Contains(k, m.MessageID) {
				t.Errorf("per-message key left: %s", k)
			}
		}
	}
	// acct, credit key and tenant set of the wallet, the month's volume counter.
	if len(keys) > 4 {
		t.Fatalf("%d keys after 30 settled messages, want at most 4 per tenant: %s", len(keys), strings.Join(keys, " "))
	}
	f.wantClean(t)
}

// redisKeys lists the fixture's Redis keys without their prefix, sorted.
func redisKeys(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	iter := f.redis.Scan(context.Background(), 0, f.prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, strings.TrimPrefix(iter.Val(), f.prefix))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// The memory counter keeps a number per tenant and month, and only its last months.
func TestMemoryCounterIsBounded(t *testing.T) {
	t.Parallel()
	c := charging.NewMemoryCounter()
	ctx := context.Background()
	for _, month := range []string{"2026-08", "2026-09", "2026-10", "2026-11", "2026-11"} {
		if _, err := c.Add(ctx, "t", month); err != nil {
			t.Fatal(err)
		}
	}
	for month, want := range map[string]int64{"2026-08": 0, "2026-09": 1, "2026-11": 2} {
		if n, _ := c.Count(ctx, "t", month); n != want {
			t.Errorf("%s: %d, want %d", month, n, want)
		}
	}
}
