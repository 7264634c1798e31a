package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// RateCardStore runs the billing.RateCards contract. Besides the doc comments it
// holds the adapters to: Version and CreatedAt are the store's (a caller's are
// ignored), times come back in UTC microseconds, a zero EffectiveFrom is the clock's
// now, a card keeps its tenant (Update with another is Invalid, with none inherits
// it), List sorts by ID byte-wise, and InForce breaks an EffectiveFrom tie by the
// highest version, then the greatest ID.
func RateCardStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) billing.RateCards) {
	runBilling(t, rateCardCases, newStore, func(s billing.RateCards, c *Clock) *cardEnv {
		return &cardEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant")}
	})
}

type cardEnv struct {
	s             billing.RateCards
	clock         *Clock
	tenant, other string
}

// card returns a card of tenantID effective at from, with content worth a round trip.
func card(id, tenantID string, from time.Time) billing.RateCard {
	return billing.RateCard{
		ID: id, Name: "standard", TenantID: tenantID, Currency: "EUR", EffectiveFrom: from,
		Rates: map[string]billing.ChannelRate{
			"sms":      {BaseRate: dec("0.000000000000000001"), Unit: billing.PerSegment, MinCharge: dec("0.005"), ChargeOnFailure: true},
			"whatsapp": {BaseRate: dec("12345678901234567890.123456789012345678"), Unit: billing.PerMessage, MediaMultiplier: dec("1.50")},
		},
		TimeBands:        []billing.TimeBand{{Name: "night", Start: "22:00", End: "24:00", Timezone: "Europe/Berlin", Multiplier: dec("0.8")}},
		DestinationRates: map[string]decimal.Decimal{"49": dec("1.1")},
		VolumeDiscounts:  []billing.VolumeDiscount{{MinVolume: 1000, DiscountPercent: dec("2.5")}},
		Fees:             billing.Fees{APIOverhead: dec("0.0001")},
		Tax:              billing.Tax{RatePercent: dec("19"), ExemptB2B: true},
		Contract:         &billing.Contract{MonthlyMinimum: dec("100"), IncludedVolume: 5000, OverageRate: dec("0.004")},
	}
}

func (e *cardEnv) create(t *testing.T, c billing.RateCard) billing.RateCard {
	t.Helper()
	got, err := e.s.Create(bg, c)
	if err != nil {
		t.Fatalf("Create(%s): %v", c.ID, err)
	}
	return got
}

func (e *cardEnv) update(t *testing.T, c billing.RateCard) billing.RateCard {
	t.Helper()
	got, err := e.s.Update(bg, c, e.clock.Now())
	if err != nil {
		t.Fatalf("Update(%s): %v", c.ID, err)
	}
	return got
}

// wantVersion fails unless got is version v of card id, effective at from.
func wantVersion(t *testing.T, what string, got billing.RateCard, id string, v int, from time.Time) {
	t.Helper()
	if got.ID != id || got.Version != v {
		t.Fatalf("%s = card %s v%d, want %s v%d", what, got.ID, got.Version, id, v)
	}
	wantTime(t, what+".EffectiveFrom", got.EffectiveFrom, from)
}

func (e *cardEnv) inForce(t *testing.T, tenantID string, at time.Time) (billing.RateCard, error) {
	t.Helper()
	return e.s.InForce(bg, tenantID, at)
}

var rateCardCases = []billingCase[*cardEnv]{
	{"create stores version 1 with the clock's time and every field", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		in := card(id, e.tenant, start.Add(time.Hour))
		in.Version, in.CreatedAt = 7, start.Add(-time.Hour)
		got := e.create(t, in)
		wantVersion(t, "Create", got, id, 1, start.Add(time.Hour))
		wantTime(t, "Create.CreatedAt", got.CreatedAt, start)
		read, err := e.s.Get(bg, id)
		mustNot(t, err)
		want := in
		want.Version, want.EffectiveFrom, want.CreatedAt = 1, stored(in.EffectiveFrom), stored(start)
		sameJSON(t, "Get", read, want)
		sameJSON(t, "Create", got, want)
		wantDec(t, "whatsapp base rate", read.Rates["whatsapp"].BaseRate, "12345678901234567890.123456789012345678")
		wantDec(t, "sms base rate", read.Rates["sms"].BaseRate, "0.000000000000000001")
	}},
	{"create without an id assigns a uuid, without effective_from takes now", func(t *testing.T, e *cardEnv) {
		got := e.create(t, card("", e.tenant, time.Time{}))
		if _, err := uuid.Parse(got.ID); err != nil {
			t.Fatalf("Create ID = %q, want a UUID", got.ID)
		}
		wantVersion(t, "Create", got, got.ID, 1, start)
	}},
	{"create of an existing id is a conflict", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		e.create(t, card(id, e.tenant, start))
		_, err := e.s.Create(bg, card(id, e.other, start))
		wantCode(t, err, errs.Conflict)
		got, err := e.s.Get(bg, id)
		mustNot(t, err)
		if got.TenantID != e.tenant {
			t.Fatalf("Get after the conflict = tenant %s, want %s", got.TenantID, e.tenant)
		}
	}},
	{"update adds versions, get returns the latest, versions lists them oldest first", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		e.create(t, card(id, e.tenant, start))
		e.clock.Advance(time.Hour)
		c2 := card(id, e.tenant, start.Add(24*time.Hour))
		c2.Name, c2.Version, c2.CreatedAt = "second", 1, start.Add(-time.Hour)
		got := e.update(t, c2)
		wantVersion(t, "Update", got, id, 2, start.Add(24*time.Hour))
		wantTime(t, "Update.CreatedAt", got.CreatedAt, start.Add(time.Hour))
		e.clock.Advance(time.Hour)
		e.update(t, card(id, "", start.Add(48*time.Hour))) // no tenant: the card's
		latest, err := e.s.Get(bg, id)
		mustNot(t, err)
		wantVersion(t, "Get", latest, id, 3, start.Add(48*time.Hour))
		if latest.TenantID != e.tenant {
			t.Errorf("version 3 tenant = %q, want the card's %s", latest.TenantID, e.tenant)
		}
		vs, err := e.s.Versions(bg, id)
		mustNot(t, err)
		if len(vs) != 3 {
			t.Fatalf("Versions = %d, want 3", len(vs))
		}
		for i, from := range []time.Time{start, start.Add(24 * time.Hour), start.Add(48 * time.Hour)} {
			wantVersion(t, "Versions", vs[i], id, i+1, from)
			wantTime(t, "Versions.CreatedAt", vs[i].CreatedAt, start.Add(time.Duration(i)*time.Hour))
		}
		if vs[1].Name != "second" || vs[0].Name != "standard" {
			t.Errorf("Versions names = %q, %q, want standard, second", vs[0].Name, vs[1].Name)
		}
	}},
	{"update may not take effect before now: effective versions are immutable", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		e.create(t, card(id, e.tenant, start))
		e.clock.Advance(time.Hour)
		_, err := e.s.Update(bg, card(id, e.tenant, start.Add(59*time.Minute)), e.clock.Now())
		wantField(t, err, "effective_from")
		_, err = e.s.Update(bg, card(id, e.tenant, start), e.clock.Now())
		wantField(t, err, "effective_from")
		vs, err := e.s.Versions(bg, id)
		mustNot(t, err)
		if len(vs) != 1 {
			t.Fatalf("Versions after rejected updates = %d, want 1", len(vs))
		}
		// Exactly now is allowed, and so is a zero effective_from (now).
		wantVersion(t, "Update at now", e.update(t, card(id, e.tenant, e.clock.Now())), id, 2, start.Add(time.Hour))
		wantVersion(t, "Update without effective_from", e.update(t, card(id, e.tenant, time.Time{})), id, 3, start.Add(time.Hour))
	}},
	{"update of an unknown card is not found, so are get and versions", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		_, err := e.s.Update(bg, card(id, e.tenant, start.Add(time.Hour)), start)
		wantCode(t, err, errs.NotFound)
		_, err = e.s.Get(bg, id)
		wantCode(t, err, errs.NotFound)
		_, err = e.s.Versions(bg, id)
		wantCode(t, err, errs.NotFound)
		_, err = e.s.Update(bg, card("", e.tenant, start.Add(time.Hour)), start)
		wantCode(t, err, errs.Invalid)
	}},
	{"update cannot move a card to another tenant", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		e.create(t, card(id, e.tenant, start))
		_, err := e.s.Update(bg, card(id, e.other, start.Add(time.Hour)), start)
		wantField(t, err, "tenant_id")
	}},
	{"in force before, between and after versions", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		day := 24 * time.Hour
		e.create(t, card(id, e.tenant, start.Add(day)))
		e.update(t, card(id, e.tenant, start.Add(2*day)))
		e.update(t, card(id, e.tenant, start.Add(3*day)))
		_, err := e.inForce(t, e.tenant, start.Add(day-time.Microsecond))
		wantCode(t, err, errs.NotFound)
		for _, c := range []struct {
			at time.Time
			v  int
		}{
			{start.Add(day), 1}, {start.Add(2*day - time.Microsecond), 1}, {start.Add(2 * day), 2},
			{start.Add(2*day + time.Hour), 2}, {start.Add(3 * day), 3}, {start.Add(3000 * day), 3},
		} {
			got, err := e.inForce(t, e.tenant, c.at.In(time.FixedZone("X", -5*3600)))
			mustNot(t, err)
			if got.Version != c.v {
				t.Errorf("InForce at %v = v%d, want v%d", c.at, got.Version, c.v)
			}
		}
		_, err = e.inForce(t, e.other, start.Add(3000*day))
		wantCode(t, err, errs.NotFound)
		_, err = e.inForce(t, "", start)
		wantCode(t, err, errs.Invalid)
	}},
	{"a pending version with the same effective_from is superseded", func(t *testing.T, e *cardEnv) {
		id := newID("card")
		e.create(t, card(id, e.tenant, start))
		next := start.Add(10 * 24 * time.Hour)
		e.update(t, card(id, e.tenant, next))
		c3 := card(id, e.tenant, next)
		c3.Name = "corrected"
		e.update(t, c3)
		got, err := e.inForce(t, e.tenant, next)
		mustNot(t, err)
		if got.Version != 3 || got.Name != "corrected" {
			t.Fatalf("InForce = v%d %q, want v3 corrected", got.Version, got.Name)
		}
		got, err = e.inForce(t, e.tenant, next.Add(-time.Microsecond))
		mustNot(t, err)
		if got.Version != 1 {
			t.Fatalf("InForce before = v%d, want v1", got.Version)
		}
	}},
	{"in force across two cards of a tenant", func(t *testing.T, e *cardEnv) {
		a, b := newID("card-a"), newID("card-b")
		e.create(t, card(a, e.tenant, start))
		e.create(t, card(b, e.tenant, start.Add(time.Hour)))
		e.create(t, card(newID("card-c"), e.other, start.Add(2*time.Hour)))
		e.update(t, card(a, e.tenant, start.Add(3*time.Hour)))
		for _, c := range []struct {
			at time.Duration
			id string
			v  int
		}{
			{30 * time.Minute, a, 1}, {time.Hour, b, 1}, {150 * time.Minute, b, 1}, {3 * time.Hour, a, 2}, {100 * time.Hour, a, 2},
		} {
			got, err := e.inForce(t, e.tenant, start.Add(c.at))
			mustNot(t, err)
			if got.ID != c.id || got.Version != c.v {
				t.Errorf("InForce at +%v = %s v%d, want %s v%d", c.at, got.ID, got.Version, c.id, c.v)
			}
		}
	}},
	{"two cards of a tenant may not take effect at the same instant", func(t *testing.T, e *cardEnv) {
		at := start.Add(24 * time.Hour)
		a, b := newID("card-a"), newID("card-b")
		e.create(t, card(a, e.tenant, at))
		_, err := e.s.Create(bg, card(b, e.tenant, at.In(time.FixedZone("X", 3600)))) // the same instant
		wantField(t, err, "effective_from")
		_, err = e.s.Get(bg, b)
		wantCode(t, err, errs.NotFound)
		e.create(t, card(b, e.tenant, at.Add(time.Microsecond)))
		_, err = e.s.Update(bg, card(b, e.tenant, at), e.clock.Now())
		wantField(t, err, "effective_from")
		if vs, err := e.s.Versions(bg, b); err != nil || len(vs) != 1 {
			t.Fatalf("versions of %s after the refused update: %d, %v; want 1", b, len(vs), err)
		}
		e.create(t, card(newID("card-o"), e.other, at))                        // another tenant's card may
		wantVersion(t, "Update", e.update(t, card(a, e.tenant, at)), a, 2, at) // and the card's own version
		got, err := e.inForce(t, e.tenant, at)
		mustNot(t, err)
		wantVersion(t, "InForce", got, a, 2, at)
	}},
	{"list returns the latest version of the tenant's cards by id", func(t *testing.T, e *cardEnv) {
		empty, err := e.s.List(bg, e.tenant)
		mustNot(t, err)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("List of a tenant without cards = %#v, want empty, not nil", empty)
		}
		b, a := "b-"+uuid.NewString(), "a-"+uuid.NewString()
		e.create(t, card(b, e.tenant, start))
		e.create(t, card(a, e.tenant, start.Add(time.Minute)))
		e.update(t, card(b, e.tenant, start.Add(time.Hour)))
		o := e.create(t, card(newID("c"), e.other, start))
		list, err := e.s.List(bg, e.tenant)
		mustNot(t, err)
		if len(list) != 2 || list[0].ID != a || list[1].ID != b || list[0].Version != 1 || list[1].Version != 2 {
			t.Fatalf("List = %+v, want %s v1, %s v2", list, a, b)
		}
		all, err := e.s.List(bg, "")
		mustNot(t, err)
		seen := map[string]int{}
		for i, c := range all {
			seen[c.ID] = c.Version
			if i > 0 && all[i-1].ID >= c.ID {
				t.Errorf("List(\"\") not sorted by id: %s before %s", all[i-1].ID, c.ID)
			}
		}
		if seen[a] != 1 || seen[b] != 2 || seen[o.ID] != 1 {
			t.Fatalf("List(\"\") versions %v, want %s v1, %s v2, %s v1", seen, a, b, o.ID)
		}
	}},
}

// FXRateStore runs the billing.FXRates contract. Besides the doc comments it holds
// the adapters to: a zero ValidFrom is the clock's now, CreatedAt is the clock's,
// rates come back exactly (normalized), and Rate of a currency to itself has zero
// times. Each subtest uses currency pairs of its own, so stores may share data.
func FXRateStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) billing.FXRates) {
	runBilling(t, fxCases, newStore, func(s billing.FXRates, c *Clock) *fxEnv { return &fxEnv{s: s, clock: c} })
}

type fxEnv struct {
	s     billing.FXRates
	clock *Clock
}

func (e *fxEnv) put(t *testing.T, from, to, rate string, validFrom time.Time) billing.FXRate {
	t.Helper()
	r, err := e.s.Put(bg, billing.FXRate{From: from, To: to, Rate: dec(rate), ValidFrom: validFrom})
	if err != nil {
		t.Fatalf("Put(%s→%s %s): %v", from, to, rate, err)
	}
	return r
}

func (e *fxEnv) wantRate(t *testing.T, from, to string, at time.Time, want string) {
	t.Helper()
	r, err := e.s.Rate(bg, from, to, at)
	if err != nil {
		t.Fatalf("Rate(%s→%s at %v): %v, want %s", from, to, at, err, want)
	}
	if r.From != from || r.To != to {
		t.Errorf("Rate = %s→%s, want %s→%s", r.From, r.To, from, to)
	}
	wantDec(t, "Rate("+from+"→"+to+")", r.Rate, want)
}

var fxCases = []billingCase[*fxEnv]{
	{"put then rate, exactly, with no inverse guessed", func(t *testing.T, e *fxEnv) {
		r := e.put(t, "EUR", "USD", "1.085000", start)
		wantDec(t, "Put.Rate", r.Rate, "1.085")
		wantTime(t, "Put.ValidFrom", r.ValidFrom, start)
		wantTime(t, "Put.CreatedAt", r.CreatedAt, start)
		e.wantRate(t, "EUR", "USD", start, "1.085")
		got, err := e.s.Rate(bg, "EUR", "USD", start.Add(time.Hour))
		mustNot(t, err)
		wantTime(t, "Rate.ValidFrom", got.ValidFrom, start)
		wantTime(t, "Rate.CreatedAt", got.CreatedAt, start)
		_, err = e.s.Rate(bg, "EUR", "USD", start.Add(-time.Microsecond))
		wantCode(t, err, errs.NotFound)
		_, err = e.s.Rate(bg, "USD", "EUR", start.Add(time.Hour))
		wantCode(t, err, errs.NotFound)
	}},
	{"rate is the latest valid_from at or before t", func(t *testing.T, e *fxEnv) {
		e.put(t, "GBP", "USD", "1.2", start.Add(2*time.Hour))
		e.put(t, "GBP", "USD", "1.1", start)
		e.put(t, "GBP", "USD", "1.3", start.Add(4*time.Hour))
		e.put(t, "GBP", "CHF", "9", start.Add(3*time.Hour)) // another pair
		for _, c := range []struct {
			at   time.Duration
			want string
		}{{0, "1.1"}, {2*time.Hour - time.Microsecond, "1.1"}, {2 * time.Hour, "1.2"}, {3 * time.Hour, "1.2"}, {4 * time.Hour, "1.3"}, {1000 * time.Hour, "1.3"}} {
			e.wantRate(t, "GBP", "USD", start.Add(c.at), c.want)
		}
	}},
	{"a second put for the same valid_from replaces the rate", func(t *testing.T, e *fxEnv) {
		e.put(t, "CHF", "USD", "1.1", start)
		e.clock.Advance(time.Minute)
		r := e.put(t, "CHF", "USD", "1.15", start)
		wantTime(t, "second Put.CreatedAt", r.CreatedAt, start.Add(time.Minute))
		e.wantRate(t, "CHF", "USD", start.Add(time.Hour), "1.15")
	}},
	{"a currency converts to itself at 1 without a stored rate", func(t *testing.T, e *fxEnv) {
		for _, c := range []string{"EUR", "JPY", "XAU"} {
			e.wantRate(t, c, c, start, "1")
		}
		_, err := e.s.Rate(bg, "eur", "eur", start)
		wantCode(t, err, errs.Invalid)
		_, err = e.s.Rate(bg, "EUR", "EURO", start)
		wantCode(t, err, errs.Invalid)
	}},
	{"every ISO 4217 code is accepted", func(t *testing.T, e *fxEnv) {
		pairs := [][2]string{{"JPY", "KWD"}, {"KWD", "BHD"}, {"XAU", "USD"}, {"CLF", "JPY"}, {"XDR", "ISK"}, {"XPT", "XAG"}}
		for i, p := range pairs {
			e.put(t, p[0], p[1], "0.00"+string(rune('1'+i)), start)
			e.wantRate(t, p[0], p[1], start, "0.00"+string(rune('1'+i)))
		}
		for _, bad := range []string{"eur", "EURO", "XXX", "ABC", ""} {
			_, err := e.s.Put(bg, billing.FXRate{From: bad, To: "NOK", Rate: dec("1"), ValidFrom: start})
			wantField(t, err, "from")
			_, err = e.s.Put(bg, billing.FXRate{From: "NOK", To: bad, Rate: dec("1"), ValidFrom: start})
			wantField(t, err, "to")
		}
		_, err := e.s.Rate(bg, "NOK", "SEK", start)
		wantCode(t, err, errs.NotFound)
	}},
	{"invalid rates are rejected; 18 fractional digits are kept", func(t *testing.T, e *fxEnv) {
		for _, r := range []billing.FXRate{
			{From: "SEK", To: "SEK", Rate: dec("1")},
			{From: "SEK", To: "DKK", Rate: dec("0")},
			{From: "SEK", To: "DKK", Rate: dec("-1.5")},
			{From: "SEK", To: "DKK", Rate: dec("0.0000000000000000001")},
			{From: "SEK", To: "DKK", Rate: dec("100000000000000000000")},
		} {
			_, err := e.s.Put(bg, r)
			wantCode(t, err, errs.Invalid)
		}
		_, err := e.s.Rate(bg, "SEK", "DKK", start.Add(time.Hour))
		wantCode(t, err, errs.NotFound)
		e.put(t, "SEK", "DKK", "0.000000000000000001", start)
		e.put(t, "DKK", "SEK", "99999999999999999999.999999999999999999", start)
		e.wantRate(t, "SEK", "DKK", start, "0.000000000000000001")
		e.wantRate(t, "DKK", "SEK", start, "99999999999999999999.999999999999999999")
	}},
	{"a zero valid_from is now", func(t *testing.T, e *fxEnv) {
		e.clock.Advance(time.Hour)
		r := e.put(t, "PLN", "CZK", "5.4", time.Time{})
		wantTime(t, "Put.ValidFrom", r.ValidFrom, start.Add(time.Hour))
		_, err := e.s.Rate(bg, "PLN", "CZK", start)
		wantCode(t, err, errs.NotFound)
		e.wantRate(t, "PLN", "CZK", start.Add(time.Hour), "5.4")
	}},
}
