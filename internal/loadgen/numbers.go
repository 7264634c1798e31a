package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// mobilePlan is one country's mobile numbering: the E.164 country code, national
// prefixes of mobile ranges, and the national significant number's length.
type mobilePlan struct {
	region   string
	cc       string
	prefixes []string
	length   int
}

// mobilePlans spread destinations over several countries (and over the API's
// per-destination-prefix rate limits). Every drawn number is checked with
// libphonenumber as the API checks it, so a range the metadata does not know is
// skipped, never sent.
var mobilePlans = []mobilePlan{
	{"GB", "44", []string{"74", "75", "78", "79"}, 10},
	{"DE", "49", []string{"151", "152", "157", "160", "162", "170", "171", "172", "173", "175", "176", "177", "178", "179"}, 11},
	{"FR", "33", []string{"6", "7"}, 9},
	{"IT", "39", []string{"320", "328", "333", "338", "347", "348", "366", "380", "388", "392"}, 10},
	{"ES", "34", []string{"6"}, 9},
	{"NL", "31", []string{"6"}, 9},
	{"AU", "61", []string{"4"}, 9},
	{"IN", "91", []string{"99", "96", "94", "70"}, 10},
	{"BR", "55", []string{"119", "219", "319"}, 11},
	{"US", "1", []string{"212", "312", "415", "646", "206", "617"}, 10},
}

// premiumNational are national-number prefixes the firewall's premium-number-pumping
// rule blocks in any country (config/firewall-rules.yaml); drawn numbers avoid them.
var premiumNational = []string{"900", "976", "988"}

// draw returns a number of the plan ending in suffix ("" for none), or "" when the
// plan's numbers are too short for it.
func (p mobilePlan) draw(r *rand.Rand, suffix string) string {
	prefix := p.prefixes[r.IntN(len(p.prefixes))]
	n := p.length - len(prefix) - len(suffix)
	if n < 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("+" + p.cc + prefix)
	for range n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	b.WriteString(suffix)
	return b.String()
}

// validMobile reports whether e164 is a valid mobile number in its canonical form,
// outside the ranges the firewall blocks.
func validMobile(e164, cc string) bool {
	n, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != e164 {
		return false
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return false
	}
	national := strings.TrimPrefix(e164, "+"+cc)
	for _, p := range premiumNational {
		if strings.HasPrefix(national, p) {
			return false
		}
	}
	return true
}

// magicSuffix is the sandbox SMSC's destination suffix of an outcome ("" for
// delivered: an ordinary number).
func magicSuffix(o Outcome) string {
	switch o {
	case OutcomeUndelivered:
		return smsc.MagicUndelivered
	case OutcomeExpired:
		return smsc.MagicExpired
	case OutcomeRejected:
		return smsc.MagicRejected
	}
	return ""
}

// destinations are the pools a run draws its numbers from: many ordinary numbers for
// delivered messages, fewer magic ones for the other outcomes.
type destinations struct {
	byOutcome map[Outcome][]string
}

const (
	ordinaryPool = 5000
	magicPool    = 200
	drawTries    = 20 // per number, before the next country is tried
)

// newDestinations draws the pools with r; the same seed draws the same numbers.
func newDestinations(r *rand.Rand) (*destinations, error) {
	d := &destinations{byOutcome: map[Outcome][]string{}}
	for _, o := range outcomes {
		want := magicPool
		if Outcome(o) == OutcomeDelivered {
			want = ordinaryPool
		}
		pool := drawPool(r, magicSuffix(Outcome(o)), want)
		if len(pool) == 0 {
			return nil, fmt.Errorf("no valid destination number found for outcome %s", o)
		}
		d.byOutcome[Outcome(o)] = pool
	}
	return d, nil
}

// drawPool draws up to want distinct valid numbers ending in suffix, taking the
// countries in turn; an ordinary number must not end in a magic suffix by chance.
func drawPool(r *rand.Rand, suffix string, want int) []string {
	seen := map[string]bool{}
	var out []string
	budget := want * drawTries * 2 // magic ranges are small: stop when exhausted
	for i := 0; len(out) < want && budget > 0; i++ {
		p := mobilePlans[i%len(mobilePlans)]
		for range drawTries {
			budget--
			n := p.draw(r, suffix)
			if n == "" {
				break
			}
			if seen[n] || !validMobile(n, p.cc) || (suffix == "" && isMagic(n)) {
				continue
			}
			seen[n] = true
			out = append(out, n)
			break
		}
	}
	return out
}

func isMagic(n string) bool {
	return strings.HasSuffix(n, smsc.MagicUndelivered) || strings.HasSuffix(n, smsc.MagicExpired) ||
		strings.HasSuffix(n, smsc.MagicRejected)
}

// pick returns a number for outcome o.
func (d *destinations) pick(r *rand.Rand, o Outcome) string {
	pool := d.byOutcome[o]
	return pool[r.IntN(len(pool))]
}
