package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// ReputationStore runs the firewall.ReputationStore contract. Besides the doc
// comments it holds the adapters to these decisions (firewall.ValidateReputationEntry):
// values are trimmed, and sender values keep their case; Score 0 is the list's
// default (blocklist 100, watchlist 0, complaint 10, carrier 20); every invalid field
// is reported at once; an ExpiresAt not after CreatedAt is Invalid (expires_at). An
// entry is live at t while ExpiresAt > t (entries created after t still count).
// Standings normalises the keys it is given like values and keys its answer by the
// keys as given; a key with an unknown kind or an empty value is absent, not an
// error. List orders ties by id descending; its limit 0 is 100, a negative limit or
// an unknown kind is Invalid. Delete of an unknown id, or one that is no UUID, is
// NotFound. Each subtest uses values and tenants of its own.
func ReputationStore(t *testing.T, newStore func(t *testing.T, now func() time.Time) firewall.ReputationStore) {
	runBilling(t, reputationCases, newStore, func(s firewall.ReputationStore, c *Clock) *reputationEnv {
		return &reputationEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant")}
	})
}

type reputationEnv struct {
	s             firewall.ReputationStore
	clock         *Clock
	tenant, other string
}

func (e *reputationEnv) add(t *testing.T, in firewall.ReputationEntry) firewall.ReputationEntry {
	t.Helper()
	got, err := e.s.Add(bg, in)
	if err != nil {
		t.Fatalf("Add(%+v): %v", in, err)
	}
	return got
}

func (e *reputationEnv) standings(t *testing.T, tenantID string, at time.Time, keys ...firewall.ReputationKey) map[firewall.ReputationKey]firewall.Standing {
	t.Helper()
	got, err := e.s.Standings(bg, tenantID, keys, at)
	if err != nil {
		t.Fatalf("Standings: %v", err)
	}
	return got
}

func wantStanding(t *testing.T, got map[firewall.ReputationKey]firewall.Standing, k firewall.ReputationKey, want *firewall.Standing) {
	t.Helper()
	st, ok := got[k]
	switch {
	case want == nil && ok:
		t.Errorf("standing of %v = %+v, want absent", k, st)
	case want != nil && !ok:
		t.Errorf("standing of %v absent, want %+v", k, *want)
	case want != nil && st != *want:
		t.Errorf("standing of %v = %+v, want %+v", k, st, *want)
	}
}

func domainKey(v string) firewall.ReputationKey {
	return firewall.ReputationKey{Kind: firewall.KindDomain, Value: v}
}

var reputationCases = []billingCase[*reputationEnv]{
	{"add normalises the value and sets id, created_at and the default score", func(t *testing.T, e *reputationEnv) {
		exp := start.Add(72 * time.Hour)
		dom := newID("Phish") + ".EXAMPLE"
		for _, c := range []struct {
			in        firewall.ReputationEntry
			wantValue string
			wantScore int
		}{
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: "  " + dom + " ", List: firewall.ListBlock,
				Reason: "phishing", Source: "operator", ExpiresAt: &exp, ID: "mine", CreatedAt: start.Add(-time.Hour)},
				lower(dom), 100},
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindNumber, Value: "+1 (555) 010-2000", List: firewall.ListWatch},
				"15550102000", 0},
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindURL, Value: "HTTPS://Bad.Example/Login?X=1", List: firewall.ListComplaint},
				"https://bad.example/login?x=1", 10},
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindSender, Value: " BankAlert ", List: firewall.ListCarrier},
				"bankalert", 20}, // sender ids match regardless of case
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindSender, Value: "Other", List: firewall.ListBlock, Score: 55},
				"other", 55},
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: "XN--BCHER-KVA.example", List: firewall.ListBlock},
				"bücher.example", 100}, // as screening extracts it: lower-case Unicode
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: "Bad.CO.uk.", List: firewall.ListBlock},
				"bad.co.uk", 100},
			{firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindURL, Value: "bad.example/login", List: firewall.ListBlock},
				"bad.example/login", 100}, // links are matched as written, with or without a scheme
		} {
			e.clock.Advance(time.Second) // List is newest first: this entry is its first
			got := e.add(t, c.in)
			if got.ID == "" || got.ID == "mine" || got.Value != c.wantValue || got.Score != c.wantScore || got.Kind != c.in.Kind ||
				got.List != c.in.List || got.TenantID != e.tenant || got.Reason != c.in.Reason || got.Source != c.in.Source {
				t.Errorf("Add(%+v) = %+v, want value %q score %d", c.in, got, c.wantValue, c.wantScore)
			}
			wantTime(t, "CreatedAt", got.CreatedAt, e.clock.Now())
			if (got.ExpiresAt == nil) != (c.in.ExpiresAt == nil) {
				t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, c.in.ExpiresAt)
			} else if got.ExpiresAt != nil {
				wantTime(t, "ExpiresAt", *got.ExpiresAt, exp)
			}
			list, err := e.s.List(bg, e.tenant, c.in.Kind, 0)
			mustNot(t, err)
			if len(list) == 0 {
				t.Fatalf("List(%s) is empty after Add", c.in.Kind)
			}
			sameJSON(t, "List()[0]", list[0], got)
		}
	}},
	{"add rejects a bad entry, naming every bad field, and stores nothing", func(t *testing.T, e *reputationEnv) {
		past := start.Add(-time.Minute)
		for _, c := range []struct {
			in     firewall.ReputationEntry
			fields []string
		}{
			{firewall.ReputationEntry{Kind: "ip", Value: "1.2.3.4", List: firewall.ListBlock}, []string{"kind"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "  ", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindNumber, Value: "+ab-c", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindURL, Value: "https://x.example/" + strings.Repeat("a", firewall.MaxValueLength), List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "x.example", List: "greylist"}, []string{"list"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "x.example", List: firewall.ListBlock, Score: 101}, []string{"score"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "x.example", List: firewall.ListBlock, Score: -1}, []string{"score"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "x.example", List: firewall.ListBlock, ExpiresAt: &past}, []string{"expires_at"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "x.example", List: firewall.ListBlock, ExpiresAt: &time.Time{}}, []string{"expires_at"}},
			{firewall.ReputationEntry{Kind: "ip", Value: "", List: "x", Score: 200}, []string{"kind", "value", "list", "score"}},
			// A value must be of its kind: screening could never match anything else.
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "' or 1=1 --", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "bad.example\nx.example", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "bad example.com", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "1.2.3.4", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "localhost", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "co.uk", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "login.bad.example", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "https://bad.example/", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindURL, Value: "' or 1=1 --", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindURL, Value: "https://", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindURL, Value: "https://bad.example/\r\nx", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindNumber, Value: "1; DROP TABLE x", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindNumber, Value: "+1234567890123456", List: firewall.ListBlock}, []string{"value"}},
			{firewall.ReputationEntry{Kind: firewall.KindSender, Value: "Bank\nAlert", List: firewall.ListBlock}, []string{"value"}},
		} {
			c.in.TenantID = e.tenant
			_, err := e.s.Add(bg, c.in)
			for _, f := range c.fields {
				wantField(t, err, f)
			}
		}
		list, err := e.s.List(bg, e.tenant, "", 0)
		mustNot(t, err)
		if len(list) != 0 {
			t.Fatalf("List after rejected adds = %+v, want none", list)
		}
	}},
	{"standings: highest listed score plus complaint and carrier scores, capped at 100", func(t *testing.T, e *reputationEnv) {
		a, b, c, none := newID("a")+".example", newID("b")+".example", newID("c")+".example", newID("none")+".example"
		add := func(v, list string, score int) {
			e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: list, Score: score})
		}
		add(a, firewall.ListWatch, 30)
		add(a, firewall.ListBlock, 40)
		add(a, firewall.ListComplaint, 0) // 10
		add(a, firewall.ListCarrier, 5)
		add(b, firewall.ListWatch, 0)
		add(c, firewall.ListBlock, 0) // 100
		add(c, firewall.ListComplaint, 0)
		add(c, firewall.ListComplaint, 0)
		// The same value of another kind is another key.
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindURL, Value: a, List: firewall.ListBlock})
		upper := domainKey("  " + upperASCII(a) + " ")
		got := e.standings(t, e.tenant, start, domainKey(a), domainKey(b), domainKey(c), domainKey(none), upper,
			firewall.ReputationKey{Kind: "ip", Value: a}, firewall.ReputationKey{Kind: firewall.KindNumber, Value: "n/a"})
		if len(got) != 4 {
			t.Errorf("Standings returned %d keys (%v), want 4", len(got), got)
		}
		wantStanding(t, got, domainKey(a), &firewall.Standing{Score: 55, Complaints: 2, WatchListed: true})
		wantStanding(t, got, upper, &firewall.Standing{Score: 55, Complaints: 2, WatchListed: true})
		wantStanding(t, got, domainKey(b), &firewall.Standing{Score: 0, WatchListed: true})
		wantStanding(t, got, domainKey(c), &firewall.Standing{Score: 100, Complaints: 2})
		wantStanding(t, got, domainKey(none), nil)
		got = e.standings(t, e.tenant, start)
		if len(got) != 0 {
			t.Errorf("Standings of no keys = %v", got)
		}
	}},
	{"complaints add up", func(t *testing.T, e *reputationEnv) {
		num := fmt.Sprint(time.Now().UnixNano() % 1e15) // E.164: at most 15 digits
		k := firewall.ReputationKey{Kind: firewall.KindNumber, Value: num}
		for i := range 12 {
			e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindNumber, Value: "+" + num, List: firewall.ListComplaint})
			want := firewall.Standing{Score: min(100, 10*(i+1)), Complaints: i + 1}
			wantStanding(t, e.standings(t, e.tenant, start, k), k, &want)
		}
	}},
	{"standings see global entries and the tenant's own, never another tenant's", func(t *testing.T, e *reputationEnv) {
		g, mine, theirs := newID("global")+".example", newID("mine")+".example", newID("theirs")+".example"
		e.add(t, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: g, List: firewall.ListBlock, Score: 60})
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: g, List: firewall.ListComplaint})
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: mine, List: firewall.ListBlock})
		e.add(t, firewall.ReputationEntry{TenantID: e.other, Kind: firewall.KindDomain, Value: theirs, List: firewall.ListBlock})
		keys := []firewall.ReputationKey{domainKey(g), domainKey(mine), domainKey(theirs)}
		got := e.standings(t, e.tenant, start, keys...)
		wantStanding(t, got, domainKey(g), &firewall.Standing{Score: 70, Complaints: 1})
		wantStanding(t, got, domainKey(mine), &firewall.Standing{Score: 100})
		wantStanding(t, got, domainKey(theirs), nil)
		got = e.standings(t, e.other, start, keys...)
		wantStanding(t, got, domainKey(g), &firewall.Standing{Score: 60})
		wantStanding(t, got, domainKey(mine), nil)
		wantStanding(t, got, domainKey(theirs), &firewall.Standing{Score: 100})
		got = e.standings(t, "", start, keys...)
		wantStanding(t, got, domainKey(g), &firewall.Standing{Score: 60})
		wantStanding(t, got, domainKey(mine), nil)
	}},
	{"an expired entry no longer counts", func(t *testing.T, e *reputationEnv) {
		v := newID("exp") + ".example"
		exp := start.Add(time.Hour)
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: firewall.ListBlock, ExpiresAt: &exp})
		exp2 := start.Add(2 * time.Hour)
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: firewall.ListComplaint, ExpiresAt: &exp2})
		k := domainKey(v)
		wantStanding(t, e.standings(t, e.tenant, start, k), k, &firewall.Standing{Score: 100, Complaints: 1})
		wantStanding(t, e.standings(t, e.tenant, exp.Add(-time.Microsecond), k), k, &firewall.Standing{Score: 100, Complaints: 1})
		wantStanding(t, e.standings(t, e.tenant, exp, k), k, &firewall.Standing{Score: 10, Complaints: 1})
		wantStanding(t, e.standings(t, e.tenant, exp2, k), k, nil)
	}},
	{"concurrent standings of different tenants and times each get their own answer", func(t *testing.T, e *reputationEnv) {
		// An adapter may answer concurrent calls together (PostgreSQL does, in one
		// query); the answers must be those of calls made one by one.
		v := newID("shared") + ".example"
		exp := start.Add(time.Hour)
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: firewall.ListBlock, ExpiresAt: &exp})
		e.add(t, firewall.ReputationEntry{TenantID: e.other, Kind: firewall.KindDomain, Value: v, List: firewall.ListComplaint})
		k := domainKey(v)
		cases := []struct {
			tenant string
			at     time.Time
			want   *firewall.Standing
		}{
			{e.tenant, start, &firewall.Standing{Score: 100}},
			{e.tenant, exp, nil},
			{e.other, start, &firewall.Standing{Score: 10, Complaints: 1}},
			{"", start, nil},
		}
		var wg sync.WaitGroup
		for range 25 {
			for _, c := range cases {
				wg.Go(func() {
					got, err := e.s.Standings(bg, c.tenant, []firewall.ReputationKey{k, domainKey("")}, c.at)
					if err != nil {
						t.Errorf("Standings(%q, %s): %v", c.tenant, c.at, err)
						return
					}
					wantStanding(t, got, k, c.want)
				})
			}
		}
		wg.Wait()
	}},
	{"list: the tenant's entries (or the global ones), newest first, by kind, at most limit", func(t *testing.T, e *reputationEnv) {
		var mine []firewall.ReputationEntry
		for i := range 5 {
			kind := firewall.KindDomain
			if i%2 == 1 {
				kind = firewall.KindSender
			}
			mine = append(mine, e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: kind, Value: newID("v") + ".example", List: firewall.ListBlock}))
			if i != 2 { // entries 2 and 3 share created_at: ties go by id, descending
				e.clock.Advance(time.Second)
			}
		}
		e.add(t, firewall.ReputationEntry{TenantID: e.other, Kind: firewall.KindDomain, Value: newID("v") + ".example", List: firewall.ListBlock})
		ids := func(es []firewall.ReputationEntry) []string {
			out := make([]string, len(es))
			for i, x := range es {
				out[i] = x.ID
			}
			return out
		}
		want := []string{mine[4].ID, mine[3].ID, mine[2].ID, mine[1].ID, mine[0].ID}
		if mine[2].ID > mine[3].ID {
			want[1], want[2] = mine[2].ID, mine[3].ID
		}
		got, err := e.s.List(bg, e.tenant, "", 0)
		mustNot(t, err)
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Errorf("List = %v, want %v", ids(got), want)
		}
		got, err = e.s.List(bg, e.tenant, "", 2)
		mustNot(t, err)
		if fmt.Sprint(ids(got)) != fmt.Sprint(want[:2]) {
			t.Errorf("List(limit 2) = %v, want %v", ids(got), want[:2])
		}
		got, err = e.s.List(bg, e.tenant, firewall.KindSender, 0)
		mustNot(t, err)
		if fmt.Sprint(ids(got)) != fmt.Sprint([]string{mine[3].ID, mine[1].ID}) {
			t.Errorf("List(sender) = %v, want %v", ids(got), []string{mine[3].ID, mine[1].ID})
		}
		_, err = e.s.List(bg, e.tenant, "ip", 0)
		wantField(t, err, "kind")
		_, err = e.s.List(bg, e.tenant, "", -1)
		wantField(t, err, "limit")
		got, err = e.s.List(bg, newID("tenant"), "", 0)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("List of an unknown tenant = %v, %v; want an empty, non-nil list", got, err)
		}
	}},
	{"list with tenant \"\" is the global entries only", func(t *testing.T, e *reputationEnv) {
		g := e.add(t, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: newID("g") + ".example", List: firewall.ListBlock})
		mine := e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: newID("m") + ".example", List: firewall.ListBlock})
		got, err := e.s.List(bg, "", "", firewall.MaxPageLimit)
		mustNot(t, err)
		var sawGlobal bool
		for _, x := range got {
			if x.TenantID != "" || x.ID == mine.ID {
				t.Fatalf("List(\"\") holds %+v", x)
			}
			sawGlobal = sawGlobal || x.ID == g.ID
		}
		if !sawGlobal {
			t.Errorf("List(\"\") misses the global entry %s", g.ID)
		}
	}},
	{"delete removes an entry from standings and lists", func(t *testing.T, e *reputationEnv) {
		v := newID("del") + ".example"
		block := e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: firewall.ListBlock})
		e.add(t, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v, List: firewall.ListComplaint})
		mustNot(t, e.s.Delete(bg, block.ID))
		k := domainKey(v)
		wantStanding(t, e.standings(t, e.tenant, start, k), k, &firewall.Standing{Score: 10, Complaints: 1})
		list, err := e.s.List(bg, e.tenant, "", 0)
		mustNot(t, err)
		if len(list) != 1 || list[0].List != firewall.ListComplaint {
			t.Errorf("List after Delete = %+v", list)
		}
		wantCode(t, e.s.Delete(bg, block.ID), errs.NotFound)
		wantCode(t, e.s.Delete(bg, "00000000-0000-4000-8000-000000000000"), errs.NotFound)
		wantCode(t, e.s.Delete(bg, "not-a-uuid"), errs.NotFound)
		mustNot(t, e.s.Delete(bg, list[0].ID))
		wantStanding(t, e.standings(t, e.tenant, start, k), k, nil)
	}},
	{"concurrent adds are all counted and readers never see a count go down", func(t *testing.T, e *reputationEnv) {
		v := newID("busy") + ".example"
		k := domainKey(v)
		const adders, each = 4, 5
		var wg sync.WaitGroup
		for range adders {
			wg.Go(func() {
				for range each {
					if _, err := e.s.Add(bg, firewall.ReputationEntry{TenantID: e.tenant, Kind: firewall.KindDomain, Value: v,
						List: firewall.ListComplaint, Score: 1}); err != nil {
						t.Errorf("Add: %v", err)
					}
				}
			})
		}
		for range 3 {
			wg.Go(func() {
				last := 0
				for range 20 {
					got, err := e.s.Standings(bg, e.tenant, []firewall.ReputationKey{k}, start)
					if err != nil {
						t.Errorf("Standings: %v", err)
						return
					}
					st := got[k]
					if st.Complaints < last || st.Complaints > adders*each || st.Score != st.Complaints {
						t.Errorf("Standing %+v after %d complaints were seen", st, last)
					}
					last = st.Complaints
				}
			})
		}
		wg.Wait()
		wantStanding(t, e.standings(t, e.tenant, start, k), k, &firewall.Standing{Score: adders * each, Complaints: adders * each})
	}},
}

func lower(s string) string { return firewall.NormalizeValue(firewall.KindDomain, s) }

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
