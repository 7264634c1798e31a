package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// brands name the tenants, their sender ids and their texts. (Some made-up brand
// names push the content model toward spam; these were checked not to.)
var brands = []string{"Acme", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Soylent",
	"Tyrell", "Vandelay", "Gringotts", "Monarch", "Fabrikam", "Tailspin", "Maple", "Oakridge",
	"Meadow", "Contoso", "Adatum", "Proseware"}

// brandOf is tenant i's brand.
func brandOf(i int) string { return brands[i%len(brands)] }

// senderIDs are tenant i's n alphanumeric sender ids, Acme01, Acme02, …: the brand
// cut so that the id stays within an alphanumeric sender's 11 characters.
func senderIDs(i, n int) []string {
	width := max(2, len(fmt.Sprint(n)))
	b := brandOf(i)
	b = b[:min(len(b), 11-width)]
	out := make([]string, n)
	for j := range out {
		out[j] = fmt.Sprintf("%s%0*d", b, width, j+1)
	}
	return out
}

// smsRequest is the body of POST /api/v1/sms/send (internal/api/sms.go smsInput).
type smsRequest struct {
	To      string `json:"to"`
	Message string `json:"message"`
	From    string `json:"from,omitempty"`
	Flash   bool   `json:"flash,omitempty"`
}

// job is one planned message.
type job struct {
	index   int64
	tenant  int
	shape   Shape
	outcome Outcome
	body    []byte
}

// planner draws each message's tenant, sender, shape, outcome, destination and text.
// It is used by one goroutine (the dispatcher) in message order, so that a seed plans
// the same run every time.
type planner struct {
	r        *rand.Rand
	tenants  int
	senders  [][]string // per tenant
	mix      Weights
	outcomes Weights
	dests    *destinations
}

func newPlanner(cfg Config) (*planner, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x10adc0de))
	d, err := newDestinations(r)
	if err != nil {
		return nil, err
	}
	p := &planner{r: r, tenants: cfg.Tenants, mix: cfg.Mix, outcomes: cfg.Outcomes, dests: d}
	for i := range cfg.Tenants {
		p.senders = append(p.senders, senderIDs(i, cfg.sendersPerTenant()))
	}
	return p, nil
}

// pickWeighted draws a name with probability proportional to its weight.
func pickWeighted(r *rand.Rand, w Weights) string {
	n := r.IntN(w.total())
	for _, e := range w {
		if n < e.Weight {
			return e.Name
		}
		n -= e.Weight
	}
	return w[len(w)-1].Name // not reached: n < total
}

// next plans message i. Tenants take turns, and so do each tenant's senders, so
// every sender carries the same share of the rate.
func (p *planner) next(i int64) job {
	t := int(i % int64(p.tenants))
	senders := p.senders[t]
	from := senders[(i/int64(p.tenants))%int64(len(senders))]
	shape := Shape(pickWeighted(p.r, p.mix))
	outcome := Outcome(pickWeighted(p.r, p.outcomes))
	tmpls := templatesFor(shape)
	req := smsRequest{
		To:      p.dests.pick(p.r, outcome),
		Message: fillText(tmpls[p.r.IntN(len(tmpls))], brandOf(t), p.r),
		From:    from,
		Flash:   shape == ShapeFlash,
	}
	body, _ := json.Marshal(req) // strings and a bool: cannot fail
	return job{index: i, tenant: t, shape: shape, outcome: outcome, body: body}
}
