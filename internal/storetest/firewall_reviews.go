package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Reviews runs the firewall.Reviews contract. Besides the doc comments it holds the
// adapters to these decisions (firewall.CheckReview, CheckDecision, CheckDeferred):
// Hold requires MessageID, TenantID and Deadline and stores the review pending,
// created at the clock's now, whatever State, CreatedAt or decision it was given; a
// replayed Hold returns the stored review even when the replay differs. Decide
// requires state approved/rejected/expired, outcome pass/block and a decider, takes
// a zero at as now, and "decided the same way" means the same state and outcome (the
// replay returns the first decision's by, note and time); of concurrent decisions of
// one review exactly one applies. List, Overdue and Due break ties by message id
// (byte-wise); their limit 0 is 100, a negative one Invalid. Defer requires
// MessageID, TenantID and ReleaseAt; Released of a message that is not deferred is a
// no-op (a retry). Overdue, Due, Undelivered and Purge span every tenant, so the
// subtests using them have times of their own (years 2000-2006) that no other
// subtest uses.
func Reviews(t *testing.T, newStore func(t *testing.T, now func() time.Time) firewall.Reviews) {
	runBilling(t, reviewCases, newStore, func(s firewall.Reviews, c *Clock) *reviewEnv {
		return &reviewEnv{s: s, clock: c, tenant: newID("tenant"), other: newID("tenant")}
	})
}

type reviewEnv struct {
	s             firewall.Reviews
	clock         *Clock
	tenant, other string
}

// screen is a screened message with every part filled, so a round trip is checked.
func screen(id, tenant string, decision string) firewall.Screen {
	release := start.Add(time.Minute)
	return firewall.Screen{
		Message: firewall.Message{ID: id, TenantID: tenant, Channel: "sms", From: "BANK", To: "447700900123",
			ContentType: "text", Text: "Verify account at http://phish.example now", At: stored(start)},
		Features: firewall.Features{ValidNumber: true, Destination: "447700900123", Country: "GB", Keywords: []string{"verify account"},
			Domains: []string{"phish.example"}, URLCount: 1, DigitRatio: 0.25, MessagesPerSecond: 3, SenderReputation: 40, SpamProbability: 0.97},
		Indicators: []firewall.Indicator{{Code: "dpi.keyword", Phase: firewall.PhaseDPI, Weight: 60, Detail: "verify account"}},
		Rules:      []firewall.RuleHit{{Name: "banking-phishing", Action: firewall.Hold, Severity: "high"}, {Name: "shadow", Action: firewall.Block, Shadow: true}},
		Done:       firewall.Phases,
		Verdict: &firewall.Verdict{Decision: decision, Recommended: decision, Risk: 80, Phase: firewall.PhaseDecide,
			Rules: []string{"banking-phishing"}, Shadow: []string{"shadow"}, Explanation: "phishing keywords", ReleaseAt: &release},
	}
}

func (e *reviewEnv) hold(t *testing.T, tenant string, deadline time.Time) firewall.Review {
	t.Helper()
	id := newID("msg")
	r, err := e.s.Hold(bg, firewall.Review{MessageID: id, TenantID: tenant, Screen: screen(id, tenant, firewall.Hold), Deadline: deadline})
	if err != nil {
		t.Fatalf("Hold(%s): %v", id, err)
	}
	return r
}

func deferredIDs(ds []firewall.Deferred) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.MessageID
	}
	return out
}

func reviewIDs(rs []firewall.Review) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.MessageID
	}
	return out
}

var reviewCases = []billingCase[*reviewEnv]{
	{"hold parks the message pending; get returns it; a replay returns what is stored", func(t *testing.T, e *reviewEnv) {
		id := newID("msg")
		deadline := start.Add(5 * time.Minute)
		decided := start
		in := firewall.Review{MessageID: id, TenantID: e.tenant, Screen: screen(id, e.tenant, firewall.Hold), State: firewall.ReviewApproved,
			CreatedAt: start.Add(-time.Hour), Deadline: deadline, DecidedAt: &decided, DecidedBy: "x", Outcome: firewall.Pass, Note: "n"}
		got, err := e.s.Hold(bg, in)
		mustNot(t, err)
		read, err := e.s.Get(bg, id)
		mustNot(t, err)
		for what, r := range map[string]firewall.Review{"Hold": got, "Get": read} {
			if r.MessageID != id || r.TenantID != e.tenant || r.State != firewall.ReviewPending || r.DecidedAt != nil ||
				r.DecidedBy != "" || r.Outcome != "" || r.Note != "" {
				t.Errorf("%s = %+v", what, r)
			}
			wantTime(t, what+".CreatedAt", r.CreatedAt, start)
			wantTime(t, what+".Deadline", r.Deadline, deadline)
			sameJSON(t, what+".Screen", r.Screen, in.Screen)
		}
		e.clock.Advance(time.Minute)
		again, err := e.s.Hold(bg, firewall.Review{MessageID: id, TenantID: e.other, Screen: screen(id, e.other, firewall.Block),
			Deadline: deadline.Add(time.Hour)})
		mustNot(t, err)
		sameJSON(t, "replayed Hold", again, read)
		_, err = e.s.Get(bg, newID("msg"))
		wantCode(t, err, errs.NotFound)
	}},
	{"hold rejects a review without message id, tenant or deadline", func(t *testing.T, e *reviewEnv) {
		id := newID("msg")
		for field, r := range map[string]firewall.Review{
			"message_id": {TenantID: e.tenant, Deadline: start},
			"tenant_id":  {MessageID: id, Deadline: start},
			"deadline":   {MessageID: id, TenantID: e.tenant},
		} {
			_, err := e.s.Hold(bg, r)
			wantField(t, err, field)
		}
		_, err := e.s.Get(bg, id)
		wantCode(t, err, errs.NotFound)
	}},
	{"decide moves a pending review once; the same decision replays, another conflicts", func(t *testing.T, e *reviewEnv) {
		r := e.hold(t, e.tenant, start.Add(5*time.Minute))
		at := start.Add(time.Minute)
		got, err := e.s.Decide(bg, r.MessageID, firewall.ReviewApproved, firewall.Pass, "alice", "looks fine", at)
		mustNot(t, err)
		read, err := e.s.Get(bg, r.MessageID)
		mustNot(t, err)
		for what, d := range map[string]firewall.Review{"Decide": got, "Get": read} {
			if d.State != firewall.ReviewApproved || d.Outcome != firewall.Pass || d.DecidedBy != "alice" || d.Note != "looks fine" || d.DecidedAt == nil {
				t.Fatalf("%s = %+v", what, d)
			}
			wantTime(t, what+".DecidedAt", *d.DecidedAt, at)
			wantTime(t, what+".CreatedAt", d.CreatedAt, start)
			sameJSON(t, what+".Screen", d.Screen, r.Screen)
		}
		replay, err := e.s.Decide(bg, r.MessageID, firewall.ReviewApproved, firewall.Pass, "bob", "again", at.Add(time.Hour))
		mustNot(t, err)
		sameJSON(t, "replayed Decide", replay, read)
		for _, d := range [][2]string{{firewall.ReviewRejected, firewall.Block}, {firewall.ReviewApproved, firewall.Block}, {firewall.ReviewExpired, firewall.Pass}} {
			_, err = e.s.Decide(bg, r.MessageID, d[0], d[1], "bob", "", at)
			wantCode(t, err, errs.Conflict)
		}
		_, err = e.s.Decide(bg, newID("msg"), firewall.ReviewRejected, firewall.Block, "bob", "", at)
		wantCode(t, err, errs.NotFound)
	}},
	{"decide: expired by the sla, and a zero time is the clock's", func(t *testing.T, e *reviewEnv) {
		r := e.hold(t, e.tenant, start.Add(5*time.Minute))
		e.clock.Advance(5 * time.Minute)
		got, err := e.s.Decide(bg, r.MessageID, firewall.ReviewExpired, firewall.Block, "sla", "", time.Time{})
		mustNot(t, err)
		if got.State != firewall.ReviewExpired || got.Outcome != firewall.Block || got.DecidedBy != "sla" || got.DecidedAt == nil {
			t.Fatalf("Decide = %+v", got)
		}
		wantTime(t, "DecidedAt", *got.DecidedAt, start.Add(5*time.Minute))
	}},
	{"decide rejects a bad state, outcome or decider and changes nothing", func(t *testing.T, e *reviewEnv) {
		r := e.hold(t, e.tenant, start.Add(5*time.Minute))
		for field, d := range map[string][3]string{
			"state":      {firewall.ReviewPending, firewall.Pass, "alice"},
			"outcome":    {firewall.ReviewApproved, firewall.Hold, "alice"},
			"decided_by": {firewall.ReviewRejected, firewall.Block, ""},
		} {
			_, err := e.s.Decide(bg, r.MessageID, d[0], d[1], d[2], "", start)
			wantField(t, err, field)
		}
		got, err := e.s.Get(bg, r.MessageID)
		mustNot(t, err)
		if got.State != firewall.ReviewPending {
			t.Fatalf("after rejected decisions the review is %+v", got)
		}
	}},
	{"concurrent decisions of one review: exactly one applies", func(t *testing.T, e *reviewEnv) {
		for round := range 5 {
			r := e.hold(t, e.tenant, start.Add(5*time.Minute))
			const n = 8
			results := make([]firewall.Review, n)
			failures := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				state, outcome := firewall.ReviewApproved, firewall.Pass
				if i%2 == 1 {
					state, outcome = firewall.ReviewRejected, firewall.Block
				}
				wg.Go(func() {
					results[i], failures[i] = e.s.Decide(bg, r.MessageID, state, outcome, fmt.Sprint("op", i), fmt.Sprint("note", i), start)
				})
			}
			wg.Wait()
			final, err := e.s.Get(bg, r.MessageID)
			mustNot(t, err)
			winner := -1
			for i := range n {
				if fmt.Sprint("note", i) == final.Note {
					winner = i
				}
			}
			if winner < 0 || final.DecidedBy != fmt.Sprint("op", winner) {
				t.Fatalf("round %d: stored decision %+v is no caller's", round, final)
			}
			for i := range n {
				if i%2 == winner%2 {
					if failures[i] != nil || results[i].Note != final.Note || results[i].State != final.State {
						t.Errorf("round %d: caller %d (same decision as the winner) got %+v, %v; want the stored review", round, i, results[i], failures[i])
					}
				} else {
					wantCode(t, failures[i], errs.Conflict)
				}
			}
		}
	}},
	{"list: oldest first, by tenant and state, paged", func(t *testing.T, e *reviewEnv) {
		var all []firewall.Review
		for i := range 7 {
			all = append(all, e.hold(t, e.tenant, start.Add(time.Hour)))
			if i%3 != 0 { // some share created_at: ties go by message id
				e.clock.Advance(time.Second)
			}
		}
		e.hold(t, e.other, start.Add(time.Hour))
		rejected := all[1].MessageID
		_, err := e.s.Decide(bg, rejected, firewall.ReviewRejected, firewall.Block, "alice", "", start)
		mustNot(t, err)
		sortReviews(all)
		var pages [][]string
		var got []string
		cursor := ""
		for {
			rs, next, err := e.s.List(bg, firewall.ReviewFilter{TenantID: e.tenant, Limit: 3, Cursor: cursor})
			mustNot(t, err)
			pages = append(pages, reviewIDs(rs))
			got = append(got, reviewIDs(rs)...)
			if next == "" {
				break
			}
			if len(pages) > 5 {
				t.Fatalf("List never ends: pages %v", pages)
			}
			cursor = next
		}
		if fmt.Sprint(got) != fmt.Sprint(reviewIDs(all)) || len(pages) != 3 || len(pages[2]) != 1 {
			t.Errorf("pages %v, want %v in pages of 3", pages, reviewIDs(all))
		}
		rs, next, err := e.s.List(bg, firewall.ReviewFilter{TenantID: e.tenant, State: firewall.ReviewRejected})
		mustNot(t, err)
		if len(rs) != 1 || rs[0].MessageID != rejected || next != "" {
			t.Errorf("List(rejected) = %v, %q", reviewIDs(rs), next)
		}
		rs, _, err = e.s.List(bg, firewall.ReviewFilter{TenantID: e.tenant, State: firewall.ReviewPending})
		mustNot(t, err)
		if len(rs) != 6 {
			t.Errorf("List(pending) = %d reviews, want 6", len(rs))
		}
		rs, next, err = e.s.List(bg, firewall.ReviewFilter{TenantID: newID("tenant")})
		if err != nil || rs == nil || len(rs) != 0 || next != "" {
			t.Errorf("List of an unknown tenant = %v, %q, %v; want an empty, non-nil page", rs, next, err)
		}
		_, _, err = e.s.List(bg, firewall.ReviewFilter{State: "bogus"})
		wantField(t, err, "state")
		_, _, err = e.s.List(bg, firewall.ReviewFilter{Limit: -1})
		wantField(t, err, "limit")
		_, _, err = e.s.List(bg, firewall.ReviewFilter{Cursor: "!!"})
		wantField(t, err, "cursor")
	}},
	{"overdue: pending reviews past their deadline, by deadline", func(t *testing.T, e *reviewEnv) {
		base := time.Date(2001, 3, 4, 5, 6, 7, 0, time.UTC)
		late := e.hold(t, e.tenant, base.Add(2*time.Minute))
		early := e.hold(t, e.other, base)
		decided := e.hold(t, e.tenant, base)
		e.hold(t, e.tenant, base.Add(time.Hour)) // not yet due
		_, err := e.s.Decide(bg, decided.MessageID, firewall.ReviewApproved, firewall.Pass, "alice", "", start)
		mustNot(t, err)
		got, err := e.s.Overdue(bg, base.Add(2*time.Minute), 0)
		mustNot(t, err)
		if want := []string{early.MessageID, late.MessageID}; fmt.Sprint(reviewIDs(got)) != fmt.Sprint(want) {
			t.Errorf("Overdue = %v, want %v", reviewIDs(got), want)
		}
		got, err = e.s.Overdue(bg, base.Add(time.Minute), 5)
		mustNot(t, err)
		if want := []string{early.MessageID}; fmt.Sprint(reviewIDs(got)) != fmt.Sprint(want) {
			t.Errorf("Overdue(earlier) = %v, want %v", reviewIDs(got), want)
		}
		got, err = e.s.Overdue(bg, base.Add(2*time.Minute), 1)
		mustNot(t, err)
		if len(got) != 1 || got[0].MessageID != early.MessageID {
			t.Errorf("Overdue(limit 1) = %v", reviewIDs(got))
		}
		sameJSON(t, "Overdue screen", got[0].Screen, early.Screen)
		got, err = e.s.Overdue(bg, base.Add(-time.Second), 0)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Overdue before any deadline = %v, %v; want empty, non-nil", got, err)
		}
		_, err = e.s.Overdue(bg, base, -1)
		wantField(t, err, "limit")
	}},
	{"sweeps, in time order and one at a time (each claims what is due across tenants, and leaves nothing claimable behind)", func(t *testing.T, e *reviewEnv) {
		for _, sweep := range []struct {
			name string
			run  func(*testing.T, *reviewEnv)
		}{
			{"concurrent sweeps claim disjoint deferred messages", sweepConcurrently},
			{"defer queues once; due claims by release time; released stays released", sweepDue},
			{"purge deletes delivered reviews and released messages older than the cut-off", sweepPurge},
			{"undelivered: a decision nobody marked delivered comes back after the lease, once per claim", sweepUndelivered},
		} {
			if !t.Run(sweep.name, func(t *testing.T) { sweep.run(t, e) }) {
				return
			}
		}
	}},
}

// sweepDue: defer queues once; due claims by release time; released stays released.
func sweepDue(t *testing.T, e *reviewEnv) {
	base := time.Date(2002, 6, 7, 8, 9, 10, 0, time.UTC)
	d := func(release time.Time, tenant string) firewall.Deferred {
		id := newID("msg")
		return firewall.Deferred{MessageID: id, TenantID: tenant, Screen: screen(id, tenant, firewall.Throttle), ReleaseAt: release}
	}
	a, b, c := d(base.Add(time.Second), e.tenant), d(base, e.other), d(base.Add(time.Hour), e.tenant)
	for _, x := range []firewall.Deferred{a, b, c} {
		mustNot(t, e.s.Defer(bg, x))
	}
	replay := a
	replay.ReleaseAt, replay.TenantID = base.Add(-time.Hour), e.other
	mustNot(t, e.s.Defer(bg, replay))
	got, err := e.s.Due(bg, base, 0)
	mustNot(t, err)
	if len(got) != 1 || got[0].MessageID != b.MessageID {
		t.Fatalf("Due(base) = %v, want %s", deferredIDs(got), b.MessageID)
	}
	// b is claimed for the lease: a second sweep at the same time gets only a.
	got, err = e.s.Due(bg, base.Add(time.Second), 0)
	mustNot(t, err)
	if len(got) != 1 || got[0].MessageID != a.MessageID {
		t.Fatalf("Due while b is claimed = %v, want %s", deferredIDs(got), a.MessageID)
	}
	sameJSON(t, "Due()[0]", got[0], firewall.Deferred{MessageID: a.MessageID, TenantID: e.tenant, Screen: a.Screen, ReleaseAt: stored(a.ReleaseAt)})
	if got[0].ReleaseAt.Location() != time.UTC {
		t.Errorf("ReleaseAt %v not in UTC", got[0].ReleaseAt)
	}
	// b's claimer released it; a's crashed: after the lease a is due again, b never.
	mustNot(t, e.s.Released(bg, b.MessageID, start))
	mustNot(t, e.s.Released(bg, b.MessageID, start))
	mustNot(t, e.s.Released(bg, newID("msg"), start))
	mustNot(t, e.s.Defer(bg, b)) // a redelivered throttle decision: still released
	afterLease := base.Add(time.Second + firewall.DeliveryLease)
	got, err = e.s.Due(bg, afterLease, 1)
	mustNot(t, err)
	if len(got) != 1 || got[0].MessageID != a.MessageID {
		t.Errorf("Due(limit 1) after the lease = %v, want %s", deferredIDs(got), a.MessageID)
	}
	mustNot(t, e.s.Released(bg, a.MessageID, start))
	got, err = e.s.Due(bg, base.Add(time.Hour), 0)
	mustNot(t, err)
	if len(got) != 1 || got[0].MessageID != c.MessageID {
		t.Errorf("Due after release = %v, want only %s", deferredIDs(got), c.MessageID)
	}
	mustNot(t, e.s.Released(bg, c.MessageID, start))
	_, err = e.s.Due(bg, base, -1)
	wantField(t, err, "limit")
	for field, x := range map[string]firewall.Deferred{
		"message_id": {TenantID: e.tenant, ReleaseAt: base},
		"tenant_id":  {MessageID: newID("msg"), ReleaseAt: base},
		"release_at": {MessageID: newID("msg"), TenantID: e.tenant},
	} {
		wantField(t, e.s.Defer(bg, x), field)
	}
}

// sweepConcurrently: concurrent sweeps claim disjoint deferred messages.
func sweepConcurrently(t *testing.T, e *reviewEnv) {
	base := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC) // before every other subtest's release times
	const n = 40
	mine := map[string]bool{}
	for range n {
		id := newID("msg")
		mine[id] = true
		mustNot(t, e.s.Defer(bg, firewall.Deferred{MessageID: id, TenantID: e.tenant, Screen: screen(id, e.tenant, firewall.Throttle), ReleaseAt: base}))
	}
	claimed := make([][]firewall.Deferred, 6)
	var wg sync.WaitGroup
	for i := range claimed {
		wg.Go(func() {
			var err error
			claimed[i], err = e.s.Due(bg, base, 1000)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, ds := range claimed {
		for _, d := range ds {
			if mine[d.MessageID] { // an earlier run's rows may be claimable too
				seen[d.MessageID]++
			}
		}
	}
	if len(seen) != n {
		t.Errorf("the sweeps claimed %d distinct messages, want all %d", len(seen), n)
	}
	for id, k := range seen {
		if k > 1 {
			t.Errorf("message %s claimed by %d sweeps", id, k)
		}
	}
	for id := range mine {
		mustNot(t, e.s.Released(bg, id, start))
	}
}

// sweepUndelivered: undelivered: a decision nobody marked delivered comes back after the lease, once per claim.
func sweepUndelivered(t *testing.T, e *reviewEnv) {
	base := time.Date(2006, 2, 3, 4, 5, 6, 0, time.UTC) // after the purge subtest's cut-off
	first, second, delivered, pending := e.hold(t, e.tenant, base), e.hold(t, e.other, base), e.hold(t, e.tenant, base), e.hold(t, e.tenant, base)
	_, err := e.s.Decide(bg, second.MessageID, firewall.ReviewRejected, firewall.Block, "alice", "", base.Add(time.Second))
	mustNot(t, err)
	_, err = e.s.Decide(bg, first.MessageID, firewall.ReviewExpired, firewall.Block, "sla", "", base)
	mustNot(t, err)
	_, err = e.s.Decide(bg, delivered.MessageID, firewall.ReviewApproved, firewall.Pass, "bob", "", base)
	mustNot(t, err)
	mustNot(t, e.s.Delivered(bg, delivered.MessageID, base))
	mustNot(t, e.s.Delivered(bg, delivered.MessageID, base.Add(time.Minute))) // idempotent
	wantCode(t, e.s.Delivered(bg, pending.MessageID, base), errs.Conflict)
	wantCode(t, e.s.Delivered(bg, newID("msg"), base), errs.NotFound)
	// Within the decider's lease nothing is owed.
	got, err := e.s.Undelivered(bg, base.Add(firewall.DeliveryLease-time.Millisecond), 0)
	mustNot(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("Undelivered within the lease = %v, want empty, non-nil", reviewIDs(got))
	}
	at := base.Add(firewall.DeliveryLease + time.Second)
	got, err = e.s.Undelivered(bg, at, 0)
	mustNot(t, err)
	if want := []string{first.MessageID, second.MessageID}; fmt.Sprint(reviewIDs(got)) != fmt.Sprint(want) {
		t.Fatalf("Undelivered = %v, want %v (oldest decision first)", reviewIDs(got), want)
	}
	if got[0].State != firewall.ReviewExpired || got[0].DeliveredAt != nil {
		t.Errorf("Undelivered()[0] = %+v", got[0])
	}
	sameJSON(t, "Undelivered screen", got[0].Screen, first.Screen)
	again, err := e.s.Undelivered(bg, at, 0)
	mustNot(t, err)
	if len(again) != 0 {
		t.Errorf("Undelivered while claimed = %v, want none", reviewIDs(again))
	}
	mustNot(t, e.s.Delivered(bg, first.MessageID, at))
	got, err = e.s.Undelivered(bg, at.Add(firewall.DeliveryLease), 1)
	mustNot(t, err)
	if len(got) != 1 || got[0].MessageID != second.MessageID {
		t.Errorf("Undelivered after the claim lapsed = %v, want %s", reviewIDs(got), second.MessageID)
	}
	read, err := e.s.Get(bg, first.MessageID)
	mustNot(t, err)
	if read.DeliveredAt == nil {
		t.Fatalf("Get after Delivered = %+v", read)
	}
	wantTime(t, "DeliveredAt", *read.DeliveredAt, at)
	mustNot(t, e.s.Delivered(bg, second.MessageID, at))
	_, err = e.s.Undelivered(bg, at, -1)
	wantField(t, err, "limit")
}

// sweepPurge: purge deletes delivered reviews and released messages older than the cut-off.
func sweepPurge(t *testing.T, e *reviewEnv) {
	old := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)
	gone, kept, owed := e.hold(t, e.tenant, old), e.hold(t, e.tenant, old), e.hold(t, e.tenant, old)
	for _, r := range []firewall.Review{gone, kept, owed} {
		at := old
		if r.MessageID == kept.MessageID {
			at = old.Add(48 * time.Hour)
		}
		_, err := e.s.Decide(bg, r.MessageID, firewall.ReviewApproved, firewall.Pass, "alice", "", at)
		mustNot(t, err)
		if r.MessageID != owed.MessageID {
			mustNot(t, e.s.Delivered(bg, r.MessageID, at))
		}
	}
	id := newID("msg")
	mustNot(t, e.s.Defer(bg, firewall.Deferred{MessageID: id, TenantID: e.tenant, Screen: screen(id, e.tenant, firewall.Throttle), ReleaseAt: old}))
	mustNot(t, e.s.Released(bg, id, old))
	n, err := e.s.Purge(bg, old.Add(24*time.Hour))
	mustNot(t, err)
	if n < 2 {
		t.Errorf("Purge = %d rows, want at least this test's 2", n)
	}
	_, err = e.s.Get(bg, gone.MessageID)
	wantCode(t, err, errs.NotFound)
	for _, r := range []firewall.Review{kept, owed} {
		_, err = e.s.Get(bg, r.MessageID)
		mustNot(t, err)
	}
	mustNot(t, e.s.Delivered(bg, owed.MessageID, start))
}

// sortReviews sorts rs oldest first, ties by message id, as List returns them.
func sortReviews(rs []firewall.Review) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (rs[j].CreatedAt.Before(rs[j-1].CreatedAt) ||
			rs[j].CreatedAt.Equal(rs[j-1].CreatedAt) && rs[j].MessageID < rs[j-1].MessageID); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
