package screening_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

// benchTexts are the SMS bodies BenchmarkScreenFused cycles through: mostly clean
// traffic (OTPs, reminders, deliveries, marketing), with phishing, prize,
// premium-rate, obfuscated and advance-fee spam mixed in, short and long.
var benchTexts = []string{
	"Your verification code is 482913. It expires in 10 minutes.",
	"Your appointment is confirmed for Tuesday at 10:30. Reply to this message to reschedule.",
	"Hi Sam, running 10 minutes late, see you at the station.",
	"Your parcel from Acme will be delivered today between 14:00 and 16:00. Track it in the app.",
	"Thanks for your order #55821. We will text you when it ships.",
	"Reminder: your dentist check-up is tomorrow at 9am. Call us if you can't make it.",
	"Your table for 4 at Luigi's is booked for Friday 19:30. See you then!",
	"Flash sale today only at our store: 20% off all shoes. Reply STOP to opt out.",
	"Happy birthday from all of us at the gym! Enjoy a free smoothie on your next visit.",
	"Your electricity bill of £54.20 is ready. It will be collected by direct debit on the 3rd.",
	"Olá! O seu código de acesso é 7731. Não o partilhe com ninguém.",
	"Dein Paket wurde zugestellt. Vielen Dank für deinen Einkauf.",
	"ok",
	"We noticed unusual activity. Please verify account details at http://secure-login.example.com",
	"Congratulations, you have won! Call now to claim your prize.",
	"URGENT! Your mobile number has been awarded a £2000 bonus caller prize. Call 09058094597 from a landline. Box 97N7QP 150ppm",
	"Please v3rify acc0unt now: http://secure-login.example.com",
	"Your package could not be delivered. Pay the £1.99 redelivery fee at http://parcel-redeliver.example.net",
	"Invest $250 today and earn 40% weekly guaranteed returns, reply YES to start",
	"Your account has been suspended. Confirm your card details within 24 hours: bit.ly/3xYzAbc",
	"FREE entry in 2 a wkly comp to win FA Cup final tkts. Text FA to 87121 to receive entry question (std txt rate)",
	"Hey mum, I lost my phone, this is my new number. Can you send me £300 for rent? I'll pay you back.",
}

// benchWords build the generated DPI patterns: three-word phrases of the shape of SMS
// spam, distinct in canonical form, in categories the rules score but do not block
// on outright.
var benchWords = [3][]string{
	{"exclusive", "limited", "instant", "special", "secret", "bonus", "premium", "mega", "super", "golden",
		"express", "vip", "final", "hidden", "lucky", "elite", "private", "flash", "mystery", "double"},
	{"cash", "voucher", "reward", "jackpot", "discount", "coupon", "credit", "loan", "gift", "deal",
		"payout", "refund", "rebate", "token", "points", "prize", "offer", "income", "profit", "coins"},
	{"waiting", "unlocked", "approved", "released", "reserved", "activated", "pending", "guaranteed",
		"available", "inside", "today", "tonight", "now", "instantly", "confirmed", "assigned", "queued",
		"granted", "expiring", "ready", "claimable", "transferable", "redeemable", "payable", "open"},
}

var benchCategories = []string{"marketing", "urgency", "financial", "prize"}

// benchPatterns is the shipped pattern set plus generated phrases, n distinct
// patterns in all.
func benchPatterns(b *testing.B, n int) []dpi.Pattern {
	patterns, err := dpi.LoadPatterns(filepath.Join(configDir, screening.PatternsFile))
	if err != nil {
		b.Fatal(err)
	}
	sc, err := dpi.Compile(patterns)
	if err != nil {
		b.Fatal(err)
	}
	w := benchWords
	for i, need := 0, n-sc.Len(); i < need; i++ {
		if i >= len(w[0])*len(w[1])*len(w[2])*4 {
			b.Fatalf("cannot generate %d patterns", need)
		}
		// A fourth word past the first 10,000 phrases keeps them distinct.
		text := fmt.Sprintf("%s %s %s", w[0][i%len(w[0])], w[1][i/len(w[0])%len(w[1])], w[2][i/(len(w[0])*len(w[1]))%len(w[2])])
		if q := i / (len(w[0]) * len(w[1]) * len(w[2])); q > 0 {
			text += " " + []string{"", "here", "online", "inside"}[q]
		}
		patterns = append(patterns, dpi.Pattern{Text: text, Category: benchCategories[i%len(benchCategories)], Weight: 20 + i%40})
	}
	if sc, err = dpi.Compile(patterns); err != nil || sc.Len() != n {
		b.Fatalf("%d distinct patterns (%v), want %d", sc.Len(), err, n)
	}
	return patterns
}

// benchEngine is an engine over the shipped settings, rules and model, n DPI
// patterns and in-memory stores; modelOff turns the content model off.
func benchEngine(b *testing.B, n int, modelOff bool) *screening.Engine {
	settings, err := screening.LoadSettings(configDir)
	if err != nil {
		b.Fatal(err)
	}
	set, err := rules.Load(filepath.Join(configDir, screening.RulesFile))
	if err != nil {
		b.Fatal(err)
	}
	var m *model.Model
	if modelOff {
		settings.Model.Mode = screening.ModelOff
	} else if m, err = model.Load(filepath.Join(configDir, settings.Model.File)); err != nil {
		b.Fatal(err)
	}
	db := inmem.New()
	e, err := screening.New(screening.Config{Settings: settings, Rules: screening.StaticRules{Set: set}, Patterns: benchPatterns(b, n),
		Model: m, Velocity: velocity.NewMemory(), Reputation: db.FirewallReputation(), Reviews: db.FirewallReviews(), Audit: db.FirewallAudit()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return e
}

// benchRequest is the i-th message: a new sender every 50 messages (so the
// message-bombing rule does not throttle the run), destinations spread over four
// countries, the texts cycled.
//
// Built with strconv, and the message id from the counter: the figure is the
// firewall's, not the cost of making up requests (a UUID and four Sprintf were
// about a tenth of it).
func benchRequest(i int64) catalog.MessageRequested {
	var to string
	switch i % 4 {
	case 0:
		to = "+4479111" + pad(i%100000, 5)
	case 1:
		to = "+1202555" + pad(i%10000, 4)
	case 2:
		to = "+49151" + pad(i%10000000, 7)
	default:
		to = "+336123" + pad(i%100000, 5)
	}
	return catalog.MessageRequested{MessageID: "bench-" + strconv.FormatInt(i, 36), TenantID: "bench", Channel: "sms",
		From: "Sender" + strconv.FormatInt(i/50, 10), To: to, Content: catalog.Content{Type: "text", Text: benchTexts[i%int64(len(benchTexts))]}}
}

// pad writes n in width digits, zero-padded.
func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", max(width-len(s), 0)) + s
}

// BenchmarkScreenFused measures the firewall in fused mode: Engine.Screen (every
// phase, the decision stored and audited) in-process on in-memory stores, from
// parallel goroutines. The sub-benchmarks separate the DPI pattern count, the
// content model and the phases after DPI.
//
//	go test -run '^$' -bench BenchmarkScreenFused -benchtime 3s ./internal/screening/
func BenchmarkScreenFused(b *testing.B) {
	for _, tc := range []struct {
		name     string
		patterns int
		modelOff bool
		phases   string // "all", "preprocess+dpi" or "preprocess"
	}{
		{"patterns=1000", 1000, false, "all"},
		{"patterns=10000", 10000, false, "all"},
		{"model=off/patterns=1000", 1000, true, "all"},
		{"phases=preprocess+dpi/patterns=1000", 1000, false, "preprocess+dpi"},
		{"phases=preprocess/patterns=1000", 1000, false, "preprocess"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := benchEngine(b, tc.patterns, tc.modelOff)
			ctx := context.Background()
			var next atomic.Int64
			var passed atomic.Int64
			b.ResetTimer()
			cpu := cpuTime(b)
			// Several messages in flight per core, as in a server: one waiting for its
			// audit batch leaves the core to another.
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := benchRequest(next.Add(1))
					if tc.phases != "all" {
						s := e.Preprocess(req)
						if tc.phases == "preprocess" {
							continue
						}
						if err := e.DPI(s); err != nil {
							b.Error(err)
							return
						}
						continue
					}
					s, err := e.Screen(ctx, req)
					if err != nil {
						b.Error(err)
						return
					}
					if s.Verdict.Decision == firewall.Pass {
						passed.Add(1)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			// CPU time spent per decision (the whole process, GC and audit batching
			// included): what the figure would be on idle cores, on a shared machine.
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/decision")
			if tc.phases == "all" {
				b.ReportMetric(100*float64(passed.Load())/float64(b.N), "%pass")
			}
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
