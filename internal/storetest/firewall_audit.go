package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Audit runs the firewall.Audit contract. Besides the doc comments it holds the
// adapters to these decisions (firewall.CheckAuditRecords, CheckAuditFilter): ID,
// MessageID and TenantID are required and one bad record records none of its batch
// (field records[i].…); a zero At is the clock's now; a record is kept once per ID
// whatever its At (a retry with another At, or a second copy in one batch, changes
// nothing: the first wins), also when recorded concurrently. List orders by At, then
// ID byte-wise, and pages across months (a partitioned store keeps them apart); its
// Decision filter is the verdict's decision (a record without a verdict matches only
// ""), one of the four or Invalid; limit 0 is 100, a negative one Invalid. The
// listing of every tenant is tried in a window (2003) no other subtest writes to.
func Audit(t *testing.T, newStore func(t *testing.T, now func() time.Time) firewall.Audit) {
	runBilling(t, auditCases, newStore, func(s firewall.Audit, c *Clock) *auditEnv {
		return &auditEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant")}
	})
}

type auditEnv struct {
	s             firewall.Audit
	clock         *Clock
	tenant, other string
}

func (e *auditEnv) rec(tenant, seq, decision string, at time.Time) firewall.AuditRecord {
	msg := newID("msg")
	return firewall.AuditRecord{ID: msg + "/" + seq, MessageID: msg, TenantID: tenant, At: at,
		Screen: screenPtr(msg, tenant, decision), RulesVersion: "sha256:abc", ModelVersion: "nb-3"}
}

func (e *auditEnv) list(t *testing.T, f firewall.AuditFilter) []firewall.AuditRecord {
	t.Helper()
	var all []firewall.AuditRecord
	for pages := 0; ; pages++ {
		recs, next, err := e.s.List(bg, f)
		mustNot(t, err)
		if recs == nil {
			t.Fatal("List returned a nil page")
		}
		all = append(all, recs...)
		if next == "" {
			return all
		}
		if pages > 100 {
			t.Fatal("List never ends")
		}
		f.Cursor = next
	}
}

func auditIDs(rs []firewall.AuditRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sortAudit sorts rs by At, then ID, as List returns them.
func sortAudit(rs []firewall.AuditRecord) {
	slices.SortFunc(rs, func(a, b firewall.AuditRecord) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

var auditCases = []billingCase[*auditEnv]{
	{"record keeps each record as given; a zero at is the clock's", func(t *testing.T, e *auditEnv) {
		a := e.rec(e.tenant, "screened", firewall.Block, start.Add(time.Minute))
		b := e.rec(e.tenant, "held", firewall.Hold, time.Time{})
		b.Screen.Verdict = nil
		b.RulesVersion, b.ModelVersion = "", ""
		mustNot(t, e.s.Record(bg, a, b))
		mustNot(t, e.s.Record(bg))
		got := e.list(t, firewall.AuditFilter{TenantID: e.tenant})
		if len(got) != 2 {
			t.Fatalf("List = %v, want 2 records", auditIDs(got))
		}
		b.At = stored(start)
		a.At = stored(a.At)
		sameJSON(t, "first record", got[0], b)
		sameJSON(t, "second record", got[1], a)
		for _, r := range got {
			if r.At.Location() != time.UTC {
				t.Errorf("At %v not in UTC", r.At)
			}
		}
	}},
	{"record first answers the verdict that stands for each id", func(t *testing.T, e *auditEnv) {
		a := e.rec(e.tenant, "decide", firewall.Block, start.Add(time.Minute))
		standing, err := e.s.RecordFirst(bg, a)
		mustNot(t, err)
		if len(standing) != 1 || standing[0] == nil || standing[0].Decision != firewall.Block {
			t.Fatalf("first record: standing %+v, want its own block", standing)
		}
		again := a
		again.Screen = screenPtr(a.MessageID, e.tenant, firewall.Pass) // decided otherwise on a redelivery
		fresh := e.rec(e.tenant, "decide", firewall.Hold, start.Add(2*time.Minute))
		standing, err = e.s.RecordFirst(bg, again, fresh)
		mustNot(t, err)
		if len(standing) != 2 || standing[0] == nil || standing[0].Decision != firewall.Block || standing[1] == nil || standing[1].Decision != firewall.Hold {
			t.Fatalf("replay and new record: standing %+v, want the first block and the new hold", standing)
		}
		if got := e.list(t, firewall.AuditFilter{TenantID: e.tenant}); len(got) != 2 || got[0].Screen.Verdict.Decision != firewall.Block {
			t.Fatalf("stored %+v: the replay must not replace the first record", got)
		}
	}},
	{"record is idempotent on the id", func(t *testing.T, e *auditEnv) {
		a := e.rec(e.tenant, "screened", firewall.Pass, start)
		mustNot(t, e.s.Record(bg, a))
		retry := a
		retry.At, retry.Screen, retry.RulesVersion = start.Add(40*24*time.Hour), screenPtr(a.MessageID, e.tenant, firewall.Block), "other"
		b := e.rec(e.tenant, "screened", firewall.Pass, start.Add(time.Second))
		bCopy := b
		bCopy.ModelVersion = "copy"
		mustNot(t, e.s.Record(bg, retry, b, bCopy))
		got := e.list(t, firewall.AuditFilter{TenantID: e.tenant})
		if len(got) != 2 {
			t.Fatalf("List = %v, want 2 records", auditIDs(got))
		}
		a.At, b.At = stored(a.At), stored(b.At)
		sameJSON(t, "retried record", got[0], a)
		sameJSON(t, "record given twice in a batch", got[1], b)
	}},
	{"concurrent records of the same ids are kept once", func(t *testing.T, e *auditEnv) {
		var batch []firewall.AuditRecord
		for i := range 20 {
			batch = append(batch, e.rec(e.tenant, "screened", firewall.Pass, start.Add(time.Duration(i)*time.Millisecond)))
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				mine := slices.Clone(batch)
				slices.Reverse(mine[:w*5]) // overlapping batches, in different orders
				if err := e.s.Record(bg, mine...); err != nil {
					t.Errorf("Record: %v", err)
				}
			})
		}
		wg.Wait()
		if got := e.list(t, firewall.AuditFilter{TenantID: e.tenant}); len(got) != len(batch) {
			t.Fatalf("List = %d records, want %d", len(got), len(batch))
		}
	}},
	{"record rejects a batch with a bad record and records none of it", func(t *testing.T, e *auditEnv) {
		good := e.rec(e.tenant, "screened", firewall.Pass, start)
		for field, bad := range map[string]firewall.AuditRecord{
			"records[1].id":         {MessageID: "m", TenantID: e.tenant},
			"records[1].message_id": {ID: "m/screened", TenantID: e.tenant},
			"records[1].tenant_id":  {ID: "m/screened", MessageID: "m"},
		} {
			wantField(t, e.s.Record(bg, good, bad), field)
		}
		if got := e.list(t, firewall.AuditFilter{TenantID: e.tenant}); len(got) != 0 {
			t.Fatalf("List after rejected batches = %v", auditIDs(got))
		}
	}},
	{"list: by at then id, across months and pages, filtered", func(t *testing.T, e *auditEnv) {
		decisions := []string{firewall.Pass, firewall.Block, firewall.Hold, firewall.Throttle}
		var mine []firewall.AuditRecord
		for i := range 23 {
			at := start.AddDate(0, i%3, 0).Add(time.Duration(i/6) * time.Second) // three months; several share an at
			mine = append(mine, e.rec(e.tenant, "screened", decisions[i%4], at))
		}
		theirs := e.rec(e.other, "screened", firewall.Pass, start)
		mustNot(t, e.s.Record(bg, append(slices.Clone(mine[:10]), theirs)...))
		mustNot(t, e.s.Record(bg, mine[10:]...))
		for i := range mine {
			mine[i].At = stored(mine[i].At)
		}
		sortAudit(mine)
		filter := func(keep func(firewall.AuditRecord) bool) []string {
			var out []firewall.AuditRecord
			for _, r := range mine {
				if keep(r) {
					out = append(out, r)
				}
			}
			return auditIDs(out)
		}
		since, until := stored(start.AddDate(0, 1, 0)), stored(start.AddDate(0, 2, 0).Add(2*time.Second))
		for _, c := range []struct {
			name string
			f    firewall.AuditFilter
			want []string
		}{
			{"all", firewall.AuditFilter{TenantID: e.tenant, Limit: 4}, auditIDs(mine)},
			{"since", firewall.AuditFilter{TenantID: e.tenant, Since: since, Limit: 5},
				filter(func(r firewall.AuditRecord) bool { return !r.At.Before(since) })},
			{"since and until", firewall.AuditFilter{TenantID: e.tenant, Since: since, Until: until, Limit: 2},
				filter(func(r firewall.AuditRecord) bool { return !r.At.Before(since) && r.At.Before(until) })},
			{"decision", firewall.AuditFilter{TenantID: e.tenant, Decision: firewall.Block, Limit: 2},
				filter(func(r firewall.AuditRecord) bool { return r.Screen.Verdict.Decision == firewall.Block })},
			{"other tenant", firewall.AuditFilter{TenantID: e.other}, []string{theirs.ID}},
			{"none", firewall.AuditFilter{TenantID: newID("tenant")}, []string{}},
		} {
			got := e.list(t, c.f)
			if fmt.Sprint(auditIDs(got)) != fmt.Sprint(c.want) {
				t.Errorf("%s: List = %v\nwant %v", c.name, auditIDs(got), c.want)
			}
		}
		page, next, err := e.s.List(bg, firewall.AuditFilter{TenantID: e.tenant})
		mustNot(t, err)
		if len(page) != len(mine) || next != "" {
			t.Errorf("List with the default limit = %d records, cursor %q", len(page), next)
		}
		sameJSON(t, "listed record", page[0], mine[0])
	}},
	{"list of every tenant", func(t *testing.T, e *auditEnv) {
		base := time.Date(2003, 1, 2, 3, 4, 5, 0, time.UTC)
		recs := []firewall.AuditRecord{e.rec(e.tenant, "screened", firewall.Pass, base.Add(time.Second)),
			e.rec(e.other, "screened", firewall.Block, base), e.rec(e.other, "held", firewall.Hold, base.Add(time.Hour))}
		mustNot(t, e.s.Record(bg, recs...))
		got := e.list(t, firewall.AuditFilter{Since: base, Until: base.Add(time.Hour), Limit: 1})
		if want := []string{recs[1].ID, recs[0].ID}; fmt.Sprint(auditIDs(got)) != fmt.Sprint(want) {
			t.Errorf("List = %v, want %v", auditIDs(got), want)
		}
	}},
	{"list rejects a bad filter", func(t *testing.T, e *auditEnv) {
		for field, f := range map[string]firewall.AuditFilter{
			"decision": {Decision: "maybe"},
			"limit":    {Limit: -1},
			"cursor":   {Cursor: "bm90LWEtY3Vyc29y"},
		} {
			_, _, err := e.s.List(bg, f)
			wantField(t, err, field)
		}
	}},
}

func screenPtr(id, tenant, decision string) *firewall.Screen {
	s := screen(id, tenant, decision)
	return &s
}
