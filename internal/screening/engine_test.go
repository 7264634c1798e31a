package screening_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

const configDir = "../../config"

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	engine *screening.Engine
	db     *inmem.DB
	clock  *clock
	tenant string
}

// newFixture is an engine over the shipped configuration (settings, rules, patterns,
// model) and in-memory stores.
func newFixture(t testing.TB, extraPatterns []dpi.Pattern, set *rules.Set) *fixture {
	t.Helper()
	settings, err := screening.LoadSettings(configDir)
	if err != nil {
		t.Fatal(err)
	}
	if set == nil {
		if set, err = rules.Load(filepath.Join(configDir, screening.RulesFile)); err != nil {
			t.Fatal(err)
		}
	}
	patterns, err := dpi.LoadPatterns(filepath.Join(configDir, screening.PatternsFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(filepath.Join(configDir, settings.Model.File))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	db := inmem.New()
	e, err := screening.New(screening.Config{
		Settings: settings, Rules: screening.StaticRules{Set: set}, Patterns: append(patterns, extraPatterns...), Model: m,
		Velocity: velocity.NewMemory(), Reputation: db.FirewallReputation(), Reviews: db.FirewallReviews(), Audit: db.FirewallAudit(),
		Now: c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return &fixture{engine: e, db: db, clock: c, tenant: "tenant-" + uuid.NewString()[:8]}
}

func (x *fixture) request(from, to, text string) catalog.MessageRequested {
	return catalog.MessageRequested{MessageID: uuid.NewString(), TenantID: x.tenant, Channel: "sms", From: from, To: to,
		Content: catalog.Content{Type: "text", Text: text}}
}

func (x *fixture) screen(t *testing.T, from, to, text string) *firewall.Screen {
	t.Helper()
	s, err := x.engine.Screen(context.Background(), x.request(from, to, text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, from, to, text string
		want                 string
		rule                 string // a rule that must be acted on ("" = none)
	}{
		{"clean", "Acme", "+447911123456", "Your appointment is confirmed for Tuesday at 10:30. Reply to this message to reschedule.", firewall.Pass, ""},
		{"clean short", "", "+447911123456", "hello", firewall.Pass, ""},
		{"banking phishing", "Bank", "+447911123457", "We noticed unusual activity. Please verify account details at http://secure-login.example.com", firewall.Block, "banking-phishing"},
		{"phishing disguised", "Bank", "+447911123458", "Please v3rify acc0unt now: http://secure-login.example.com", firewall.Block, "banking-phishing"},
		{"premium number", "Acme", "+19005551234", "hello", firewall.Block, ""},
		{"lottery", "Promo", "+447911123459", "Congratulations, you have won! Call now to claim your prize.", firewall.Block, ""},
		{"model spam", "", "+447911123460", "URGENT! Your mobile number has been awarded a £2000 bonus caller prize. Call 09058094597 from a landline. Box 97N7QP 150ppm", firewall.Block, ""},
		{"not a number", "Acme", "not-a-number", "hello", firewall.Block, ""},
	}
	x := newFixture(t, nil, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := x.screen(t, tc.from, tc.to, tc.text)
			v := s.Verdict
			if v.Decision != tc.want {
				t.Fatalf("decision %s, want %s: %s (features %+v)", v.Decision, tc.want, v.Explanation, s.Features)
			}
			if tc.rule != "" && !slices.Contains(v.Rules, tc.rule) {
				t.Errorf("rules %v, want %s", v.Rules, tc.rule)
			}
			if v.Explanation == "" || v.Risk < 0 || v.Risk > 100 {
				t.Errorf("verdict %+v", v)
			}
			if len(s.Done) != len(firewall.Phases) {
				t.Errorf("phases run %v", s.Done)
			}
		})
	}
	recs, _, err := x.db.FirewallAudit().List(context.Background(), firewall.AuditFilter{TenantID: x.tenant, Limit: 100})
	if err != nil || len(recs) != len(cases) {
		t.Fatalf("audit: %d records, %v; want %d", len(recs), err, len(cases))
	}
}

// More than 100 messages a second from one sender are throttled (message-bombing),
// then released as a pass after the rule's delay.
func TestBombingIsThrottledAndReleased(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	var throttled []*firewall.Screen
	for i := range 120 {
		s := x.screen(t, "Bomber", fmt.Sprintf("+4479111%05d", i*37), "Flash sale today only at our store")
		if s.Verdict.Decision == firewall.Throttle {
			throttled = append(throttled, s)
			if !slices.Contains(s.Verdict.Rules, "message-bombing") || s.Verdict.ReleaseAt == nil {
				t.Fatalf("throttled without the rule or a release time: %+v", s.Verdict)
			}
			// The rule names no delay: firewall.yaml's throttle.delay (60s) applies.
			if d := s.Verdict.ReleaseAt.Sub(s.Message.At); d != time.Minute {
				t.Fatalf("released after %v, want throttle.delay's 1m", d)
			}
		} else if s.Verdict.Decision != firewall.Pass {
			t.Fatalf("message %d: %s: %s", i, s.Verdict.Decision, s.Verdict.Explanation)
		}
	}
	if len(throttled) != 20 {
		t.Fatalf("%d throttled, want the 20 over 100/s", len(throttled))
	}
	ctx := context.Background()
	due, err := x.engine.DueThrottled(ctx, 100)
	if err != nil || len(due) != 0 {
		t.Fatalf("due before the delay: %d, %v", len(due), err)
	}
	x.clock.advance(2 * time.Minute)
	due, err = x.engine.DueThrottled(ctx, 100)
	if err != nil || len(due) != 20 {
		t.Fatalf("due after the delay: %d, %v", len(due), err)
	}
	// The sweeper releases 15 and crashes: a second sweep now gets none (claimed), one
	// after the lease the other 5.
	for _, s := range due[:15] {
		if s.Verdict.Decision != firewall.Pass || s.Verdict.Phase != screening.PhaseRelease {
			t.Fatalf("released verdict %+v", s.Verdict)
		}
		if err := x.engine.Released(ctx, s.Message.ID); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := x.engine.DueThrottled(ctx, 100); len(again) != 0 {
		t.Fatalf("%d due again while claimed", len(again))
	}
	x.clock.advance(firewall.DeliveryLease)
	again, err := x.engine.DueThrottled(ctx, 100)
	if err != nil || len(again) != 5 || again[0].Message.ID != due[15].Message.ID {
		t.Fatalf("due after the lease: %d, %v; want the 5 not released", len(again), err)
	}
	for _, s := range again {
		if err := x.engine.Released(ctx, s.Message.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A redelivered decide step of a released message does not queue it again.
	replay := throttled[0].Clone()
	if err := x.engine.Decide(ctx, &replay); err != nil {
		t.Fatal(err)
	}
	x.clock.advance(time.Hour)
	if due, _ = x.engine.DueThrottled(ctx, 100); len(due) != 0 {
		t.Fatalf("%d still due after release", len(due))
	}
}

// A watch-listed sender is held for review; an operator approves one, the SLA
// applies the default action (block) to the other.
func TestHoldReviewAndSLA(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	ctx := context.Background()
	if _, err := x.engine.AddReputation(ctx, firewall.ReputationEntry{Kind: firewall.KindSender, Value: "Watched", List: firewall.ListWatch, Reason: "new sender"}); err != nil {
		t.Fatal(err)
	}
	a := x.screen(t, "Watched", "+447911123456", "Your parcel arrives tomorrow")
	b := x.screen(t, "Watched", "+447911123999", "Your parcel arrives tomorrow")
	for _, s := range []*firewall.Screen{a, b} {
		if s.Verdict.Decision != firewall.Hold {
			t.Fatalf("decision %s, want hold: %s", s.Verdict.Decision, s.Verdict.Explanation)
		}
	}
	pending, _, err := x.engine.Reviews(ctx, firewall.ReviewFilter{TenantID: x.tenant, State: firewall.ReviewPending})
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending reviews: %d, %v", len(pending), err)
	}
	r, s, err := x.engine.Review(ctx, a.Message.ID, true, "ops@example.com", "known customer")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != firewall.ReviewApproved || s.Verdict.Decision != firewall.Pass || s.Verdict.Phase != screening.PhaseReview {
		t.Fatalf("approve: review %+v verdict %+v", r, s.Verdict)
	}
	if _, _, err := x.engine.Review(ctx, a.Message.ID, false, "ops@example.com", ""); err == nil {
		t.Fatal("rejecting an approved review: no error")
	}
	if got, err := x.engine.Overdue(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("overdue before the SLA: %d, %v", len(got), err)
	}
	x.clock.advance(6 * time.Minute)
	got, err := x.engine.Overdue(ctx, 10)
	if err != nil || len(got) != 1 || got[0].Message.ID != b.Message.ID {
		t.Fatalf("overdue after the SLA: %v, %v", got, err)
	}
	if v := got[0].Verdict; v.Decision != firewall.Block || v.Phase != screening.PhaseReviewSLA {
		t.Fatalf("SLA verdict %+v", v)
	}
	rv, err := x.engine.GetReview(ctx, b.Message.ID)
	if err != nil || rv.State != firewall.ReviewExpired || rv.DecidedBy != "sla" {
		t.Fatalf("expired review %+v, %v", rv, err)
	}
	// Neither decision was marked delivered (as if the API and the sweeper crashed
	// after deciding): once a claim lapses, the sweep gets it again, with the verdict
	// it was first sent with; once delivered, never again. The approval's lapsed
	// during the SLA wait; the expiry's is still running.
	owed, err := x.engine.Undelivered(ctx, 10)
	if err != nil || len(owed) != 1 || owed[0].Message.ID != a.Message.ID {
		t.Fatalf("undelivered: %v, %v; want the approval only", owed, err)
	}
	if owed[0].Verdict.Decision != firewall.Pass || owed[0].Verdict.Explanation != s.Verdict.Explanation {
		t.Errorf("re-sent approval %+v, first sent %+v", owed[0].Verdict, s.Verdict)
	}
	if err := x.engine.Delivered(ctx, a.Message.ID); err != nil {
		t.Fatal(err)
	}
	x.clock.advance(firewall.DeliveryLease)
	owed, err = x.engine.Undelivered(ctx, 10)
	if err != nil || len(owed) != 1 || owed[0].Message.ID != b.Message.ID {
		t.Fatalf("undelivered after the lease: %v, %v; want the expiry only", owed, err)
	}
	if v := owed[0].Verdict; v.Decision != firewall.Block || v.Phase != screening.PhaseReviewSLA || v.Explanation != got[0].Verdict.Explanation {
		t.Errorf("re-sent expiry %+v, first sent %+v", v, got[0].Verdict)
	}
	if err := x.engine.Delivered(ctx, b.Message.ID); err != nil {
		t.Fatal(err)
	}
	x.clock.advance(firewall.DeliveryLease)
	if owed, err := x.engine.Undelivered(ctx, 10); err != nil || len(owed) != 0 {
		t.Fatalf("undelivered after delivery: %d, %v", len(owed), err)
	}
	recs, _, err := x.db.FirewallAudit().List(ctx, firewall.AuditFilter{TenantID: x.tenant, Limit: 100})
	if err != nil || len(recs) != 4 { // two holds, an approval, an expiry (re-sends are not new decisions)
		t.Fatalf("audit: %d records, %v", len(recs), err)
	}
}

// A complaint raises the sender's score; enough of them block it.
func TestComplaintsRaiseReputation(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	ctx := context.Background()
	for range 8 {
		if _, err := x.engine.AddReputation(ctx, firewall.ReputationEntry{TenantID: x.tenant, Kind: firewall.KindSender, Value: "Spammy", List: firewall.ListComplaint}); err != nil {
			t.Fatal(err)
		}
	}
	s := x.screen(t, "Spammy", "+447911123456", "See you at the meeting")
	if s.Features.SenderReputation != 80 || s.Features.Complaints != 8 {
		t.Fatalf("reputation features %d/%d", s.Features.SenderReputation, s.Features.Complaints)
	}
	if s.Verdict.Decision != firewall.Block || !slices.Contains(s.Verdict.Rules, "bad-sender-reputation") {
		t.Fatalf("verdict %+v", s.Verdict)
	}
}

// A shadow rule is recorded, never acted on; Recommended says what it would do.
func TestShadowRule(t *testing.T) {
	t.Parallel()
	set, err := rules.Parse([]byte(`
- name: shadow-block-meetings
  match: {keywords: ["meeting"]}
  action: block
  mode: shadow
`))
	if err != nil {
		t.Fatal(err)
	}
	x := newFixture(t, nil, set)
	s := x.screen(t, "Acme", "+447911123456", "See you at the meeting")
	v := s.Verdict
	if v.Decision != firewall.Pass || v.Recommended != firewall.Block || !slices.Contains(v.Shadow, "shadow-block-meetings") {
		t.Fatalf("verdict %+v", v)
	}
	if !strings.Contains(v.Explanation, "shadow") {
		t.Errorf("explanation %q does not mention the shadow rule", v.Explanation)
	}
}

// Rescreen re-decides a stored screen under another rule set, without side effects.
func TestRescreenWithChangedRules(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	stored := x.screen(t, "Acme", "+447911123456", "Cheap watches at our warehouse")
	if stored.Verdict.Decision != firewall.Pass {
		t.Fatalf("baseline %+v", stored.Verdict)
	}
	set, err := rules.Parse([]byte(`
- name: no-watches
  match: {keywords: ["cheap watches"]}
  action: block
`))
	if err != nil {
		t.Fatal(err)
	}
	y := newFixture(t, nil, set)
	after, err := y.engine.Rescreen(*stored)
	if err != nil {
		t.Fatal(err)
	}
	if after.Verdict.Decision != firewall.Block || !slices.Contains(after.Verdict.Rules, "no-watches") {
		t.Fatalf("rescreened %+v", after.Verdict)
	}
	if stored.Verdict.Decision != firewall.Pass {
		t.Fatal("Rescreen changed the stored screen")
	}
	if recs, _, _ := y.db.FirewallAudit().List(context.Background(), firewall.AuditFilter{Limit: 10}); len(recs) != 0 {
		t.Fatalf("Rescreen audited %d records", len(recs))
	}
}

// A decide step redelivered after its inputs changed (here: the rules no longer
// match) repeats the first decision: a message once blocked is never passed on.
func TestRedeliveredDecideKeepsTheFirstDecision(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	ctx := context.Background()
	req := x.request("Acme", "+447911123456", "Please verify account at http://bank.example.com")
	first, err := x.engine.Screen(ctx, req)
	if err != nil || first.Verdict.Decision != firewall.Block {
		t.Fatalf("first decision %+v, %v", first.Verdict, err)
	}
	again := x.engine.Preprocess(req)
	again.Done = append(again.Done, firewall.PhaseDPI, firewall.PhaseVelocity, firewall.PhaseReputation, firewall.PhaseFraud, firewall.PhaseRules)
	again.Indicators = nil // as if nothing had matched this time
	if err := x.engine.Decide(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.Verdict.Decision != firewall.Block {
		t.Fatalf("redelivered decision %s, want the first (block) to stand", again.Verdict.Decision)
	}
}

// Each phase alone, as the Sequence runs them, ends where Screen ends; a replayed
// phase is not run twice (velocity is not counted again).
func TestPhasesMatchFused(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	ctx := context.Background()
	req := x.request("Acme", "+447911123456", "Please verify account at http://bank.example.com")
	s := x.engine.Preprocess(req)
	steps := []func() error{
		func() error { return x.engine.DPI(s) },
		func() error { return x.engine.Velocity(ctx, s) },
		func() error { return x.engine.Velocity(ctx, s) }, // replayed
		func() error { return x.engine.Reputation(ctx, s) },
		func() error { x.engine.Fraud(s); return nil },
		func() error { return x.engine.Rules(s) },
		func() error { return x.engine.Decide(ctx, s) },
		func() error { return x.engine.Decide(ctx, s) }, // replayed
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if s.Features.MessagesPerMinute != 1 {
		t.Errorf("messages per minute %d after a replayed velocity phase, want 1", s.Features.MessagesPerMinute)
	}
	if s.Verdict.Decision != firewall.Block {
		t.Fatalf("verdict %+v", s.Verdict)
	}
	recs, _, _ := x.db.FirewallAudit().List(ctx, firewall.AuditFilter{TenantID: x.tenant, Limit: 10})
	if len(recs) != 1 {
		t.Fatalf("%d audit records after a replayed decide, want 1", len(recs))
	}
}

// A request's own time is the message's within a few minutes of now (redeliveries
// screen the same); a backdated or future one gets the engine's clock, so it cannot
// land in old velocity windows or cut its throttle delay short.
func TestRequestTimeIsTrustedOnlyNearNow(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	now := x.clock.now()
	for _, tc := range []struct {
		requested, want time.Time
	}{
		{now.Add(-2 * time.Minute), now.Add(-2 * time.Minute)},
		{now.Add(-time.Hour), now},
		{now.Add(time.Hour), now},
		{time.Time{}, now},
	} {
		s := x.engine.PreprocessAt(x.request("Acme", "+447911123456", "hi"), tc.requested)
		if !s.Message.At.Equal(tc.want) || s.Features.HourUTC != tc.want.Hour() {
			t.Errorf("requested at %v: message at %v, want %v", tc.requested, s.Message.At, tc.want)
		}
	}
}

// After Close, a decision's audit is refused with an error, never a panic.
func TestDecideAfterClose(t *testing.T) {
	t.Parallel()
	x := newFixture(t, nil, nil)
	x.engine.Close()
	if _, err := x.engine.Screen(context.Background(), x.request("Acme", "+447911123456", "hi")); err == nil {
		t.Fatal("Screen after Close: no error")
	}
}
