package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured. Client-side numbers (Sent … AcceptLatency) are
// always known; the platform's (Delivered … Latency) only when DeliveryKnown, that is
// when GET /api/v1/messages/stats answered for every tenant.
type Result struct {
	Tenants    int
	TargetRate float64 // 0: unpaced
	Seed       uint64
	TenantIDs  []string

	Sent             int64         // requests made
	Accepted         int64         // answered 202
	Rejected         int64         // answered anything else
	RejectedByStatus map[int]int64 // by HTTP status
	RejectSamples    map[int]string
	Errors           int64 // no answer (transport error, timeout)
	Parts            int64 // SMS parts of the accepted messages, as the API counted them
	AcceptedShapes   map[Shape]int64
	AcceptedOutcomes map[Outcome]int64 // what the accepted messages asked the sandbox for
	SendTime         time.Duration     // first send to the last answer
	AcceptedPerSec   float64
	AcceptLatency    latency // client side: request to 202

	DeliveryKnown   bool
	Delivered       int64 // delivered (or read) by the deadline
	Failed          int64
	Blocked         int64
	Pending         int64 // accepted but not terminal when the drain ended
	ByStatus        map[string]int64
	DeliveredPerSec float64 // Delivered over first send → last growth of Delivered
	Latency         latency // platform side: API accept → delivered recorded
	LatencyMerged   bool    // Latency's percentiles are the largest of several tenants'
	Drain           time.Duration
}

// ms rounds to a tenth of a millisecond for display.
func ms(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func perSec(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64) + "/s" }

// writeSummary writes the result as a table.
func writeSummary(w io.Writer, r Result, cfg Config) {
	rate := "unpaced"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("target %s msg/s", strconv.FormatFloat(r.TargetRate, 'f', -1, 64))
	}
	fmt.Fprintf(w, "\ncatalyst loadgen: %d tenants, %s, mix %s, outcomes %s, seed %d\n\n", r.Tenants, rate, cfg.Mix, cfg.Outcomes, r.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("", "messages", "rate")
	row("sent", strconv.FormatInt(r.Sent, 10), "", fmt.Sprintf("requests made in %s", r.SendTime.Round(time.Millisecond)))
	row("accepted", strconv.FormatInt(r.Accepted, 10), perSec(r.AcceptedPerSec), fmt.Sprintf("202 Accepted, %d SMS parts", r.Parts))
	row("rejected", strconv.FormatInt(r.Rejected, 10), "", rejectedDetail(r))
	errNote := "no answer (transport)"
	if s := r.RejectSamples[0]; s != "" {
		errNote += ": " + s
	}
	row("errors", strconv.FormatInt(r.Errors, 10), "", errNote)
	if r.DeliveryKnown {
		row("delivered", strconv.FormatInt(r.Delivered, 10), perSec(r.DeliveredPerSec), "over first send → last delivery")
		note := fmt.Sprintf("expected about %d from --outcomes", expectedFailed(r))
		if exp := expectedFailed(r); exp > 0 && r.Failed < exp/2 {
			note += " (is the SMSC ignoring magic destinations? see docs/loadgen.md)"
		}
		row("failed", strconv.FormatInt(r.Failed, 10), "", note)
		row("blocked", strconv.FormatInt(r.Blocked, 10), "", "by the firewall")
		row("pending", strconv.FormatInt(r.Pending, 10), "", fmt.Sprintf("not terminal after a %s drain", r.Drain.Round(time.Millisecond)))
	} else {
		row("delivered", "unknown", "", "GET /api/v1/messages/stats did not answer")
	}
	tw.Flush()
	fmt.Fprintln(w)
	row("latency (ms)", "p50", "p95", "p99", "max", "mean")
	a := r.AcceptLatency
	row("accept", ms(a.P50), ms(a.P95), ms(a.P99), ms(a.Max), ms(a.Mean), "client: request → 202")
	switch l := r.Latency; {
	case !r.DeliveryKnown:
	case l.Count == 0:
		row("end to end", "-", "-", "-", "-", "-", "no delivered message")
	default:
		note := "platform: accept → delivered"
		if r.LatencyMerged {
			note += fmt.Sprintf("; largest of %d tenants' percentiles (an upper bound)", r.Tenants)
		}
		row("end to end", ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), ms(l.Mean), note)
	}
	tw.Flush()
}

// rejectedDetail lists rejections by status with a sample message each.
func rejectedDetail(r Result) string {
	if r.Rejected == 0 {
		return "4xx/5xx answers"
	}
	codes := make([]int, 0, len(r.RejectedByStatus))
	for c := range r.RejectedByStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d×%d", c, r.RejectedByStatus[c])
		if s := r.RejectSamples[c]; s != "" {
			parts[i] += " (" + s + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// expectedFailed is how many accepted messages asked for an outcome other than
// delivered.
func expectedFailed(r Result) int64 {
	return r.AcceptedOutcomes[OutcomeUndelivered] + r.AcceptedOutcomes[OutcomeExpired] + r.AcceptedOutcomes[OutcomeRejected]
}

// jsonResult is the --json line. Numbers only the platform knows are null when it did
// not answer.
type jsonResult struct {
	Tenants          int               `json:"tenants"`
	TenantIDs        []string          `json:"tenant_ids"`
	TargetRate       float64           `json:"target_rate"`
	Seed             uint64            `json:"seed"`
	Sent             int64             `json:"sent"`
	Accepted         int64             `json:"accepted"`
	Rejected         int64             `json:"rejected"`
	RejectedByStatus map[string]int64  `json:"rejected_by_status"`
	Errors           int64             `json:"errors"`
	Parts            int64             `json:"parts"`
	Shapes           map[Shape]int64   `json:"accepted_shapes"`
	Outcomes         map[Outcome]int64 `json:"accepted_outcomes"`
	SendSeconds      float64           `json:"send_seconds"`
	AcceptedPerSec   float64           `json:"accepted_per_sec"`
	AcceptP50        float64           `json:"accept_p50_ms"`
	AcceptP95        float64           `json:"accept_p95_ms"`
	AcceptP99        float64           `json:"accept_p99_ms"`
	AcceptMax        float64           `json:"accept_max_ms"`
	AcceptMean       float64           `json:"accept_mean_ms"`
	DeliveryKnown    bool              `json:"delivery_known"`
	Delivered        *int64            `json:"delivered"`
	Failed           *int64            `json:"failed"`
	Blocked          *int64            `json:"blocked"`
	Pending          *int64            `json:"pending"`
	ByStatus         map[string]int64  `json:"by_status"`
	DeliveredPerSec  *float64          `json:"delivered_per_sec"`
	LatencyCount     *int64            `json:"latency_count"`
	P50              *float64          `json:"p50_ms"`
	P95              *float64          `json:"p95_ms"`
	P99              *float64          `json:"p99_ms"`
	Max              *float64          `json:"max_ms"`
	Mean             *float64          `json:"mean_ms"`
	LatencyMerge     string            `json:"latency_merge,omitempty"`
	DrainSeconds     float64           `json:"drain_seconds"`
}

func writeJSON(w io.Writer, r Result) error {
	j := jsonResult{Tenants: r.Tenants, TenantIDs: r.TenantIDs, TargetRate: r.TargetRate, Seed: r.Seed,
		Sent: r.Sent, Accepted: r.Accepted, Rejected: r.Rejected, RejectedByStatus: map[string]int64{},
		Errors: r.Errors, Parts: r.Parts, Shapes: r.AcceptedShapes, Outcomes: r.AcceptedOutcomes,
		SendSeconds: r.SendTime.Seconds(), AcceptedPerSec: r.AcceptedPerSec,
		AcceptP50: r.AcceptLatency.P50, AcceptP95: r.AcceptLatency.P95, AcceptP99: r.AcceptLatency.P99,
		AcceptMax: r.AcceptLatency.Max, AcceptMean: r.AcceptLatency.Mean,
		DeliveryKnown: r.DeliveryKnown, DrainSeconds: r.Drain.Seconds()}
	for c, n := range r.RejectedByStatus {
		j.RejectedByStatus[strconv.Itoa(c)] = n
	}
	if r.DeliveryKnown {
		j.Delivered, j.Failed, j.Blocked, j.Pending = &r.Delivered, &r.Failed, &r.Blocked, &r.Pending
		j.ByStatus, j.DeliveredPerSec = r.ByStatus, &r.DeliveredPerSec
		if r.Latency.Count > 0 {
			l := r.Latency
			j.LatencyCount, j.P50, j.P95, j.P99, j.Max, j.Mean = &l.Count, &l.P50, &l.P95, &l.P99, &l.Max, &l.Mean
			j.LatencyMerge = "single tenant"
			if r.LatencyMerged {
				j.LatencyMerge = "max of tenants"
			}
		}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// progressLine is the one-line state of a run.
func progressLine(elapsed time.Duration, sent, accepted int64, acceptedLastSec float64, d delivery, known bool, acc latency) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6s  sent %d  accepted %d (%s)", elapsed.Round(time.Second), sent, accepted, perSec(acceptedLastSec))
	if known {
		fmt.Fprintf(&b, "  delivered %d  failed %d", d.Delivered, d.Failed)
		if d.Blocked > 0 {
			fmt.Fprintf(&b, "  blocked %d", d.Blocked)
		}
		if l := d.Latency; l.Count > 0 {
			fmt.Fprintf(&b, "  e2e p50/p95/p99 %s/%s/%s ms", ms(l.P50), ms(l.P95), ms(l.P99))
		}
	} else {
		b.WriteString("  delivered ?")
	}
	if acc.Count > 0 {
		fmt.Fprintf(&b, "  accept p50/p95/p99 %s/%s/%s ms", ms(acc.P50), ms(acc.P95), ms(acc.P99))
	}
	return b.String()
}
