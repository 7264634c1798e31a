package smsgw

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/carrier"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/client"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
)

// Mobile-originated messages: a message of one part goes to Events.Inbound as it
// comes; the parts of a concatenated one (a UDH with IEI 0x00 or 0x08, or the sar_
// TLVs) are kept in MOParts, each acknowledged once kept, and the message goes to
// Events.Inbound once, whole, when its last part comes, or, partial, when its
// carrier's mo_part_timeout passes from its first part without the rest.

// Inbound is a mobile-originated message, reassembled when it came in parts.
type Inbound struct {
	// ID is stable for a concatenated message: every report of it (the gateway
	// reports at least once) carries the same one. Empty for a message of one part.
	ID             string
	From, To, Text string
	DataCoding     byte
	// Parts is how many parts Text came in; Total how many the sender announced
	// (both 1 for a message of one part).
	Parts, Total int
	// Partial is set when parts never came within the carrier's mo_part_timeout:
	// Text is the parts that did, in order, and Missing their sequence numbers.
	Partial bool
	Missing []int
	// ReceivedAt is when its first part arrived (the gateway's clock).
	ReceivedAt time.Time
	// Payload is the short_message as received for one part; for a concatenated
	// message, the parts' bodies joined (GSM-7 unpacked).
	Payload []byte
	// DecodeErr is why Text could not be decoded (see client.MO.DecodeErr).
	DecodeErr error
}

// moRedo is how long a handed-out message waits to be finished before the
// sweeper hands it out again (its report crashed or failed); moPoll bounds the
// sweeper's sleep (another gateway may have added an earlier deadline).
var (
	moRedo = 30 * time.Second
	moPoll = 30 * time.Second
)

// WithMOParts keeps the parts of concatenated inbound messages in p (default: a
// MemMOParts, lost on restart).
func WithMOParts(p MOParts) Option {
	return func(g *Gateway) {
		if p != nil {
			g.parts = p
		}
	}
}

// WithClock sets the clock of inbound reassembly: part times, deadlines and the
// sweeper's decisions (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(g *Gateway) {
		if now != nil {
			g.now = now
		}
	}
}

// moState is the gateway's inbound reassembly.
type moState struct {
	parts      MOParts
	now        func() time.Time
	moTimeouts map[string]time.Duration // carrier → mo_part_timeout
	moWake     chan struct{}
	moNext     atomic.Int64 // when the sweeper next looks (Unix ns of g.now), 0 if unknown
}

func (g *Gateway) partTimeout(carrierName string) time.Duration {
	if d, ok := g.moTimeouts[carrierName]; ok && d > 0 {
		return d
	}
	return carrier.DefaultMOPartTimeout
}

func (h *handler) MO(ctx context.Context, m client.MO) error {
	g := h.g
	now := g.now()
	if m.Concat == nil {
		return g.ev.Inbound(ctx, Inbound{From: m.From, To: m.To, Text: m.Text, DataCoding: m.DataCoding,
			Parts: 1, Total: 1, ReceivedAt: now, Payload: m.Payload, DecodeErr: m.DecodeErr}, h.carrier)
	}
	p := MOPart{MOKey: MOKey{Carrier: h.carrier, From: m.From, To: m.To, Ref: m.Concat.Ref(), Total: m.Concat.Total},
		Seq: m.Concat.Seq, DataCoding: m.DataCoding, Body: m.Body, ReceivedAt: now}
	deadline := now.Add(g.partTimeout(h.carrier))
	done, err := g.parts.Add(ctx, p, deadline, now.Add(moRedo))
	if err != nil {
		return fmt.Errorf("smsgw: keeping MO part %d/%d from %s: %w", p.Seq, p.Total, p.From, err)
	}
	if done == nil {
		if next := g.moNext.Load(); next == 0 || deadline.UnixNano() < next {
			select { // the sweeper may sleep past this message's deadline
			case g.moWake <- struct{}{}:
			default:
			}
		}
		return nil
	}
	if err := g.reportMO(ctx, *done); err != nil {
		// Released: the SMSC's resend of this part hands it out again.
		if rerr := g.parts.Release(context.WithoutCancel(ctx), done.MOKey, g.now()); rerr != nil {
			g.log.Error("smsgw: MO parts store failed releasing a message; the sweeper redelivers it",
				"carrier", h.carrier, "from", p.From, "err", rerr)
		}
		return err
	}
	return nil
}

// reportMO hands a message to Events and finishes it, keeping it for as long as
// its carrier waits for parts so that resent parts are dropped.
func (g *Gateway) reportMO(ctx context.Context, msg MOMessage) error {
	in := assemble(msg)
	if in.Partial {
		g.log.Warn("smsgw: concatenated MO incomplete at its deadline; delivered partial", "carrier", msg.Carrier,
			"from", msg.From, "to", msg.To, "ref", msg.Ref, "parts", in.Parts, "total", in.Total, "missing", in.Missing)
	}
	if err := g.ev.Inbound(ctx, in, msg.Carrier); err != nil {
		return fmt.Errorf("smsgw: inbound event for %s: %w", in.ID, err)
	}
	if err := g.parts.Finish(context.WithoutCancel(ctx), msg.MOKey, g.now().Add(g.partTimeout(msg.Carrier))); err != nil {
		g.log.Error("smsgw: MO parts store failed finishing a reported message; it will be reported again",
			"carrier", msg.Carrier, "from", msg.From, "err", err)
	}
	return nil
}

// assemble joins a handed-out message's parts.
func assemble(msg MOMessage) Inbound {
	in := Inbound{ID: moID(msg), From: msg.From, To: msg.To, Parts: len(msg.Parts), Total: msg.Total,
		ReceivedAt: msg.FirstReceived()}
	have := make(map[int]bool, len(msg.Parts))
	dcs := make([]byte, len(msg.Parts))
	bodies := make([][]byte, len(msg.Parts))
	for i, p := range msg.Parts {
		have[p.Seq] = true
		dcs[i], bodies[i] = p.DataCoding, p.Body
		in.Payload = append(in.Payload, p.Body...)
	}
	for seq := 1; seq <= msg.Total; seq++ {
		if !have[seq] {
			in.Missing = append(in.Missing, seq)
		}
	}
	in.Partial = len(in.Missing) > 0
	if len(dcs) > 0 {
		in.DataCoding = dcs[0]
	}
	in.Text, in.DecodeErr = sms.JoinParts(dcs, bodies)
	if in.DecodeErr != nil {
		in.Text = ""
	}
	return in
}

// moID names a concatenated message by its key, its first part's time (which the
// store keeps) and how many parts it has: the same for every report of it, and
// another one for the whole message should its last part overtake the report of
// it as partial.
func moID(msg MOMessage) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("catalyst:sms-mo:"+msg.Carrier+"\x00"+msg.From+"\x00"+msg.To+"\x00"+
		msg.Ref+"\x00"+strconv.Itoa(msg.Total)+"\x00"+strconv.FormatInt(msg.FirstReceived().UnixMicro(), 10)+
		"\x00"+strconv.Itoa(len(msg.Parts)))).String()
}

// sweepMO is the goroutine that delivers messages whose parts timed out, and
// those handed out but never finished. It runs until Close.
func (g *Gateway) sweepMO() {
	defer g.wg.Done()
	for {
		wait := g.expireMO(g.ctx)
		g.moNext.Store(g.now().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-g.moWake:
			t.Stop()
		case <-g.ctx.Done():
			t.Stop()
			return
		}
	}
}

// expireMO reports the store's messages whose deadline passed and returns how long
// to wait before looking again.
func (g *Gateway) expireMO(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return moPoll
	}
	now := g.now()
	msgs, err := g.parts.Expire(ctx, now, now.Add(moRedo), expireBatch)
	for _, m := range msgs { // handed out even when err is set
		if rerr := g.reportMO(ctx, m); rerr != nil && ctx.Err() == nil {
			g.log.Error("smsgw: inbound event failed; reported again later", "carrier", m.Carrier, "from", m.From,
				"tries", m.Tries, "retry_in", moRedo, "err", rerr)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("smsgw: MO parts store: expire failed; retrying", "err", err)
		}
		return storeRetry
	}
	if len(msgs) > 0 {
		return 0
	}
	d, ok, err := g.parts.NextDeadline(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			g.log.Error("smsgw: MO parts store: next deadline failed; retrying", "err", err)
		}
		return storeRetry
	case !ok:
		return moPoll
	}
	return min(max(d.Sub(g.now()), 0), moPoll)
}
