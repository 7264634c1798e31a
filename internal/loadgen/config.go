// Package loadgen drives a running Catalyst platform through its public HTTP API, as
// many integrators would at once: it creates tenants with the admin API, tops them up,
// sends SMS at a target rate with each tenant's API key, and reads back from the
// platform (GET /api/v1/messages/stats) how many were delivered and how long that took.
//
// The message shapes (GSM 7-bit, UCS-2, long, flash) and outcomes (delivered,
// undelivered, expired, rejected) are drawn per message from weighted mixes; outcomes
// other than delivered are requested through the sandbox SMSC's magic destinations
// (smsc.Config.MagicNumbers), so the run only controls them against `catalyst dev` or
// `catalyst smsc-sim`. docs/loadgen.md explains every number the summary reports.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

// Shape is what a message looks like on the wire.
type Shape string

// The shapes --mix weighs.
const (
	ShapeGSM7  Shape = "gsm7"  // one GSM 7-bit part
	ShapeUCS2  Shape = "ucs2"  // one UCS-2 part
	ShapeLong  Shape = "long"  // two or three GSM 7-bit parts (concatenated)
	ShapeFlash Shape = "flash" // one GSM 7-bit part, class 0
)

// Outcome is what the sandbox SMSC is asked to do with a message (by its destination).
type Outcome string

// The outcomes --outcomes weighs.
const (
	OutcomeDelivered   Outcome = "delivered"   // an ordinary number: DELIVRD
	OutcomeUndelivered Outcome = "undelivered" // …0000666: UNDELIV receipt
	OutcomeExpired     Outcome = "expired"     // …0000777: EXPIRED receipt
	OutcomeRejected    Outcome = "rejected"    // …0000888: submit_sm refused
)

var (
	shapes   = []string{string(ShapeGSM7), string(ShapeUCS2), string(ShapeLong), string(ShapeFlash)}
	outcomes = []string{string(OutcomeDelivered), string(OutcomeUndelivered), string(OutcomeExpired), string(OutcomeRejected)}
)

// Weight is one entry of a weighted mix.
type Weight struct {
	Name   string
	Weight int
}

// Weights is a weighted mix such as gsm7=70,ucs2=15; its String is that form.
type Weights []Weight

func (w Weights) String() string {
	parts := make([]string, len(w))
	for i, e := range w {
		parts[i] = e.Name + "=" + strconv.Itoa(e.Weight)
	}
	return strings.Join(parts, ",")
}

// total is the sum of the weights.
func (w Weights) total() int {
	n := 0
	for _, e := range w {
		n += e.Weight
	}
	return n
}

// ParseWeights reads name=weight pairs separated by commas. Names are checked against
// the known ones by Config.Validate, not here.
func ParseWeights(s string) (Weights, error) {
	var out Weights
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want name=weight", item)
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%q: weight is not a whole number", item)
		}
		out = append(out, Weight{Name: strings.ToLower(strings.TrimSpace(name)), Weight: n})
	}
	if len(out) == 0 {
		return nil, errors.New("empty: want name=weight pairs such as a=70,b=30")
	}
	return out, nil
}

// Defaults of Config's zero fields.
const (
	DefaultAPI         = "http://localhost:8080"
	DefaultTenants     = 4
	DefaultDuration    = 30 * time.Second
	DefaultConcurrency = 64
	DefaultDrain       = 30 * time.Second
	// DefaultTopUp covers over six million parts at the default rate card's 0.015 EUR:
	// enough for any run of the default length at any rate dev sustains.
	DefaultTopUp = "100000"
	// DefaultMix and DefaultOutcomes are --mix and --outcomes when not given.
	DefaultMix      = "gsm7=70,ucs2=15,long=10,flash=5"
	DefaultOutcomes = "delivered=96,undelivered=2,expired=1,rejected=1"
	// SenderRate is the rate each sender id is kept under: half the firewall's
	// message-bombing threshold (more than 100 messages a second from one sender).
	SenderRate = 50
	// unpacedSenders is the number of sender ids per tenant when the rate is unbounded:
	// enough for 1,600 messages a second per tenant at SenderRate.
	unpacedSenders = 32
	minSenders     = 3
)

// Config configures a run. Zero fields take the defaults above; Validate reports
// every problem at once, each naming its command-line flag.
type Config struct {
	// API is the platform's HTTP API base URL (--api).
	API string
	// AdminToken is the admin bearer token that creates tenants and tops them up
	// (--admin-token or CATALYST_ADMIN_TOKEN).
	AdminToken string
	// Tenants is how many tenants are created and share the load (--tenants).
	Tenants int
	// Rate is the target of messages per second over all tenants; 0 sends as fast as
	// Concurrency allows (--rate).
	Rate float64
	// Duration bounds the sending when Count is 0 (--duration).
	Duration time.Duration
	// Count is how many messages to send; 0 sends for Duration (--count).
	Count int
	// Concurrency is how many send requests may be in flight (--concurrency).
	Concurrency int
	// Mix weighs the shapes: gsm7, ucs2, long, flash (--mix).
	Mix Weights
	// Outcomes weighs the outcomes: delivered, undelivered, expired, rejected (--outcomes).
	Outcomes Weights
	// Drain is how long to wait after the last send for messages to reach a terminal
	// state (--drain); the wait ends early once none is pending.
	Drain time.Duration
	// TopUp is the decimal amount each tenant is credited in EUR (--topup).
	TopUp string
	// Seed seeds every draw (shapes, outcomes, destinations, texts): the same seed
	// plans the same messages (--seed).
	Seed uint64
	// JSON adds one JSON line with the result, last on the output (--json).
	JSON bool
	// LiveProgress rewrites one progress line with \r every second; otherwise a line
	// is written every ProgressEvery (--progress, or errOut being a terminal).
	LiveProgress bool
	// ProgressEvery is the interval of progress lines when not live; default 5s.
	ProgressEvery time.Duration
	// PollEvery is how often the platform's stats are read; default 1s.
	PollEvery time.Duration
	// Logger receives diagnostics; default discards.
	Logger *slog.Logger
	// HTTPClient overrides the client built for Concurrency (tests).
	HTTPClient *http.Client

	clock clock // nil: the wall clock
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.API == "" {
		c.API = DefaultAPI
	}
	c.API = strings.TrimRight(c.API, "/")
	if c.Tenants == 0 {
		c.Tenants = DefaultTenants
	}
	if c.Count == 0 && c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Mix == nil {
		c.Mix, _ = ParseWeights(DefaultMix)
	}
	if c.Outcomes == nil {
		c.Outcomes, _ = ParseWeights(DefaultOutcomes)
	}
	if c.TopUp == "" {
		c.TopUp = DefaultTopUp
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.PollEvery == 0 {
		c.PollEvery = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = wallClock{}
	}
	return c
}

// Validate reports every problem of a defaulted Config, each prefixed with its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.API); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("api", "%q is not an http(s) URL such as %s", c.API, DefaultAPI)
	}
	if c.AdminToken == "" {
		bad("admin-token", "required (or set CATALYST_ADMIN_TOKEN): tenants are created with the admin API")
	}
	if c.Tenants < 1 || c.Tenants > 1000 {
		bad("tenants", "%d: want 1 to 1000", c.Tenants)
	}
	if c.Rate < 0 {
		bad("rate", "%v is negative (0 sends as fast as --concurrency allows)", c.Rate)
	}
	switch {
	case c.Count < 0:
		bad("count", "%d is negative", c.Count)
	case c.Duration < 0:
		bad("duration", "%v is negative", c.Duration)
	case c.Count > 0 && c.Duration > 0:
		bad("count", "give --count or --duration, not both")
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		bad("concurrency", "%d: want 1 to 10000", c.Concurrency)
	}
	if c.Drain < 0 {
		bad("drain", "%v is negative", c.Drain)
	}
	if err := checkWeights(c.Mix, shapes); err != nil {
		bad("mix", "%v", err)
	}
	if err := checkWeights(c.Outcomes, outcomes); err != nil {
		bad("outcomes", "%v", err)
	}
	if a, err := ledger.ParseAmount(c.TopUp); err != nil || !a.IsPositive() {
		bad("topup", "%q: want a positive decimal amount such as 1000 or 250.50", c.TopUp)
	}
	return errors.Join(errs...)
}

// checkWeights requires known, distinct names, no negative weight and a positive total.
func checkWeights(w Weights, known []string) error {
	var problems []string
	seen := map[string]bool{}
	for _, e := range w {
		switch {
		case !slices.Contains(known, e.Name):
			problems = append(problems, fmt.Sprintf("unknown %q (want %s)", e.Name, strings.Join(known, ", ")))
		case seen[e.Name]:
			problems = append(problems, fmt.Sprintf("%q given twice", e.Name))
		case e.Weight < 0:
			problems = append(problems, fmt.Sprintf("%s=%d is negative", e.Name, e.Weight))
		}
		seen[e.Name] = true
	}
	if len(problems) == 0 && w.total() <= 0 {
		problems = append(problems, "the weights add up to 0")
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// sendersPerTenant is how many sender ids each tenant spreads its messages over, so
// that every sender stays under SenderRate.
func (c Config) sendersPerTenant() int {
	if c.Rate == 0 {
		return unpacedSenders
	}
	perTenant := c.Rate / float64(c.Tenants)
	return max(minSenders, int(math.Ceil(perTenant/SenderRate)))
}

// orDiscard is w, or io.Discard for nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
