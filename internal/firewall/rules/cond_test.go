package rules

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// TestFastConditionsAgreeWithExpr runs every condition both ways, the closure and
// expr's VM, over random features, and requires the same answer each time.
func TestFastConditionsAgreeWithExpr(t *testing.T) {
	t.Parallel()
	s, err := Load(shippedPath)
	if err != nil {
		t.Fatal(err)
	}
	type cond struct {
		src  string
		fast bool // whether the closure path must take it
	}
	var conds []cond
	for _, r := range s.Rules {
		if r.Match.Condition != "" {
			conds = append(conds, cond{r.Match.Condition, true}) // every shipped one runs fast
		}
	}
	conds = append(conds,
		cond{"true", true},
		cond{"false || !valid_number", true},
		cond{"not watch_listed and url_count == 0", true},
		cond{"digit_ratio > 0.5 || capital_ratio < 0.1", true},
		cond{`country == "GB"`, true},
		cond{`country != 'US' && encoding < "h"`, true},
		cond{`"otp" in categories || "phishing" in keywords`, true},
		cond{"fraud_score > 50.5", true},
		cond{"spam_probability == 0", true},
		cond{"spam_probability <= 0.5 && spam_probability >= 0.25", true},
		cond{"repeat_ratio != repeat_ratio", true}, // NaN
		cond{"hour >= 22 || hour < 6", true},
		cond{"valid_number == false", true},
		cond{"segments > length", true},
		cond{"100 < messages_per_minute", true},
		cond{"shortener == mixed_script", true},
		cond{"len(keywords) > 1", false},
		cond{"url_count + 1 > 2", false},
		cond{"-messages_per_second < -3", false},
		cond{`any(domains, # endsWith ".ru")`, false},
	)
	rng := rand.New(rand.NewPCG(6, 4))
	samples := make([]firewall.Features, 400)
	for i := range samples {
		samples[i] = randomFeatures(rng)
	}
	for _, c := range conds {
		prog, err := expr.Compile(c.src, expr.Env(firewall.Features{}), expr.AsBool())
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		fn, ok := fast(prog)
		if ok != c.fast {
			t.Errorf("%s: fast = %v, want %v", c.src, ok, c.fast)
		}
		if !ok {
			continue
		}
		trues := 0
		for i := range samples {
			want, err := vm.Run(prog, &samples[i])
			if err != nil {
				t.Fatalf("%s: vm: %v", c.src, err)
			}
			if got := fn(&samples[i]); got != want {
				t.Fatalf("%s on %+v: closure %v, expr %v", c.src, samples[i], got, want)
			}
			if want == true {
				trues++
			}
		}
		if c.src != "true" && (trues == 0 || trues == len(samples)) {
			t.Errorf("%s: %d of %d samples true; the samples do not exercise it", c.src, trues, len(samples))
		}
	}
}

func randomFeatures(r *rand.Rand) firewall.Features {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	some := func(xs ...string) []string {
		var out []string
		for _, x := range xs {
			if r.IntN(3) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	ratio := func() float64 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return math.NaN()
		case 2:
			return 0.5
		}
		return r.Float64()
	}
	return firewall.Features{
		ValidNumber: r.IntN(2) == 0, Country: pick("GB", "US", "FR", ""), Encoding: pick("gsm7", "ucs2"),
		Length: r.IntN(300), Segments: r.IntN(400), DigitRatio: ratio(), CapitalRatio: ratio(), HourUTC: r.IntN(24),
		Keywords: some("phishing", "win", "verify account"), Categories: some("otp", "phishing", "lottery"),
		URLCount: r.IntN(3), Domains: some("a.ru", "b.com"), Shortener: r.IntN(2) == 0, Obfuscation: r.IntN(6),
		MixedScript: r.IntN(2) == 0, MessagesPerSecond: r.Int64N(200), MessagesPerMinute: r.Int64N(200),
		UniqueDestinationsPerHour: r.Int64N(1000), RepeatRatio: ratio(), SequentialDestinations: r.Int64N(10),
		HighCostPerMinute: r.Int64N(20), NewDestination: r.IntN(2) == 0, SenderReputation: r.IntN(101),
		DestinationReputation: r.IntN(101), DomainReputation: r.IntN(101), WatchListed: r.IntN(4) == 0,
		SpamProbability: ratio(), FraudScore: r.IntN(101),
	}
}
