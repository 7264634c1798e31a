package loadgen

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

func mustWeights(t *testing.T, s string) Weights {
	t.Helper()
	w, err := ParseWeights(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The drawn shapes and outcomes follow the weights, every planned body is an SMS the
// API accepts, in the shape and with the destination its draw asked for, and tenants
// and their senders take even turns.
func TestPlannerFollowsTheMixes(t *testing.T) {
	t.Parallel()
	cfg := Config{Tenants: 3, Rate: 600, Seed: 7, AdminToken: "x",
		Mix: mustWeights(t, "gsm7=70,ucs2=15,long=10,flash=5"), Outcomes: mustWeights(t, "delivered=90,undelivered=5,expired=3,rejected=2")}.withDefaults()
	p, err := newPlanner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	shapes, outs := map[Shape]int{}, map[Outcome]int{}
	perTenant, perSender := map[int]int{}, map[string]int{}
	for i := range int64(n) {
		j := p.next(i)
		shapes[j.shape]++
		outs[j.outcome]++
		perTenant[j.tenant]++
		var in smsRequest
		if err := json.Unmarshal(j.body, &in); err != nil {
			t.Fatal(err)
		}
		perSender[in.From]++
		if i%10 == 0 { // validating every body costs more than it tells
			checkPlanned(t, j, in)
		}
	}
	for _, w := range cfg.Mix {
		checkShare(t, "shape "+w.Name, shapes[Shape(w.Name)], n, w.Weight, cfg.Mix.total())
	}
	for _, w := range cfg.Outcomes {
		checkShare(t, "outcome "+w.Name, outs[Outcome(w.Name)], n, w.Weight, cfg.Outcomes.total())
	}
	for ti := range cfg.Tenants {
		if perTenant[ti] != n/cfg.Tenants {
			t.Errorf("tenant %d got %d messages, want %d", ti, perTenant[ti], n/cfg.Tenants)
		}
	}
	if want := cfg.Tenants * cfg.sendersPerTenant(); len(perSender) != want {
		t.Errorf("%d sender ids used, want %d", len(perSender), want)
	}
	for s, c := range perSender {
		if want := n / len(perSender); c != want {
			t.Errorf("sender %s got %d messages, want %d (even turns)", s, c, want)
		}
	}
}

// checkShare allows 1.5 points of deviation from the weight's share: at 30,000 draws
// the standard deviation is below 0.3 points, and the seed is fixed.
func checkShare(t *testing.T, what string, got, n, weight, total int) {
	t.Helper()
	share, want := float64(got)/float64(n), float64(weight)/float64(total)
	if math.Abs(share-want) > 0.015 {
		t.Errorf("%s: %.2f%% of messages, want %.2f%%", what, 100*share, 100*want)
	}
}

// checkPlanned validates one planned body as the API would and checks its shape and
// destination.
func checkPlanned(t *testing.T, j job, in smsRequest) {
	t.Helper()
	req := channel.Request{Channel: "sms", To: in.To, From: in.From, Content: catalog.Content{Type: "text", Text: in.Message}}
	norm, err := channel.Validate(req)
	if err != nil {
		t.Fatalf("message %d would be refused by the API: %v (%+v)", j.index, err, in)
	}
	if norm.To != in.To {
		t.Errorf("message %d: destination %s normalises to %s", j.index, in.To, norm.To)
	}
	enc, parts := channel.SMSParts(in.Message)
	ok := false
	switch j.shape {
	case ShapeGSM7:
		ok = enc == "GSM-7" && parts == 1 && !in.Flash
	case ShapeUCS2:
		ok = enc == "UCS-2" && parts == 1 && !in.Flash
	case ShapeLong:
		ok = enc == "GSM-7" && parts >= 2 && parts <= 3 && !in.Flash
	case ShapeFlash:
		ok = enc == "GSM-7" && parts == 1 && in.Flash
	}
	if !ok {
		t.Errorf("message %d is %s in %d parts, flash %v; not shape %s: %q", j.index, enc, parts, in.Flash, j.shape, in.Message)
	}
	if got := outcomeOfDestination(in.To); got != j.outcome {
		t.Errorf("message %d to %s asks the sandbox for %s, want %s", j.index, in.To, got, j.outcome)
	}
}

func outcomeOfDestination(to string) Outcome {
	switch {
	case strings.HasSuffix(to, smsc.MagicUndelivered):
		return OutcomeUndelivered
	case strings.HasSuffix(to, smsc.MagicExpired):
		return OutcomeExpired
	case strings.HasSuffix(to, smsc.MagicRejected):
		return OutcomeRejected
	}
	return OutcomeDelivered
}

// The same seed plans the same messages.
func TestPlannerIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{AdminToken: "x", Seed: 42}.withDefaults()
	a, errA := newPlanner(cfg)
	b, errB := newPlanner(cfg)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for i := range int64(500) {
		if ja, jb := a.next(i), b.next(i); string(ja.body) != string(jb.body) {
			t.Fatalf("message %d differs with the same seed:\n%s\n%s", i, ja.body, jb.body)
		}
	}
}

// Each sender stays well under the firewall's message-bombing threshold (100/s) at
// the requested rate.
func TestSendersStayUnderTheFirewallRate(t *testing.T) {
	t.Parallel()
	for _, tenants := range []int{1, 4, 50} {
		for _, rate := range []float64{1, 200, 1000, 5000, 25000} {
			cfg := Config{Tenants: tenants, Rate: rate}
			senders := cfg.sendersPerTenant()
			if per := rate / float64(tenants) / float64(senders); per > SenderRate || senders < minSenders {
				t.Errorf("%d tenants at %v/s: %d senders each at %.1f/s; want at least %d, at most %d/s", tenants, rate, senders, per, minSenders, SenderRate)
			}
			for _, id := range senderIDs(tenants-1, senders) {
				if _, err := channel.Validate(channel.Request{Channel: "sms", To: "+447400123456", From: id,
					Content: catalog.Content{Type: "text", Text: "hi"}}); err != nil {
					t.Fatalf("sender id %q refused: %v", id, err)
				}
			}
		}
	}
}

// The destination pools: valid numbers as the API checks them, in several countries,
// the ordinary ones never magic, the magic ones with their suffix; no two neighbours
// (the firewall's sequential-destination rule).
func TestDestinationPools(t *testing.T) {
	t.Parallel()
	d, err := newDestinations(rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	ordinary := d.byOutcome[OutcomeDelivered]
	if len(ordinary) < ordinaryPool*9/10 {
		t.Errorf("%d ordinary numbers, want about %d", len(ordinary), ordinaryPool)
	}
	countries := map[string]bool{}
	for o, pool := range d.byOutcome {
		if len(pool) == 0 {
			t.Fatalf("no number for %s", o)
		}
		for _, n := range pool {
			if got := outcomeOfDestination(n); got != o {
				t.Errorf("%s is in the %s pool but asks for %s", n, o, got)
			}
			if _, err := channel.Validate(channel.Request{Channel: "sms", To: n, Content: catalog.Content{Type: "text", Text: "hi"}}); err != nil {
				t.Errorf("%s (%s): refused by the API: %v", n, o, err)
			}
			for _, p := range mobilePlans {
				if strings.HasPrefix(n, "+"+p.cc) {
					countries[p.region] = true
				}
			}
		}
	}
	if len(countries) < 6 {
		t.Errorf("numbers in %d countries (%v), want several", len(countries), countries)
	}
}

// Every template with every brand passes the repository's content model and matches
// no DPI pattern, and renders in its shape.
func TestTextsPassTheFirewall(t *testing.T) {
	t.Parallel()
	m, err := model.Load("../../config/firewall-model.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := dpi.LoadPatterns("../../config/firewall-patterns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := dpi.Compile(patterns)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	// Well under the threshold, so that a retrained model has room to move.
	limit := m.Threshold * 0.75
	for _, shape := range shapes {
		for _, tmpl := range templatesFor(Shape(shape)) {
			worst, worstText, reported := 0.0, "", false
			for _, brand := range brands {
				for range 10 {
					text := fillText(tmpl, brand, r)
					if s := m.Score(text); s > worst {
						worst, worstText = s, text
					}
					res := sc.Scan(text)
					bad := len(res.Hits) > 0 || res.Obfuscation > 0 || res.MixedScript || len(res.URLs) > 0 || strings.Contains(text, "{")
					if bad && !reported {
						t.Errorf("%q: DPI finds %+v, or a placeholder is left", text, res)
						reported = true
					}
				}
			}
			if worst >= limit {
				t.Errorf("%s template scores up to %.3f (limit %.3f, model threshold %.3f): %q", shape, worst, limit, m.Threshold, worstText)
			}
		}
	}
}

func TestParseWeights(t *testing.T) {
	t.Parallel()
	w, err := ParseWeights(" gsm7=70, UCS2=30 ")
	if err != nil || w.String() != "gsm7=70,ucs2=30" {
		t.Errorf("ParseWeights = %v, %v; want gsm7=70,ucs2=30", w, err)
	}
	for _, bad := range []string{"", "gsm7", "gsm7=x", "gsm7=1.5", ","} {
		if _, err := ParseWeights(bad); err == nil {
			t.Errorf("ParseWeights(%q) = nil error", bad)
		}
	}
}
