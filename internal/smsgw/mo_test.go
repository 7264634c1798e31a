package smsgw

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
}

// Texts of three parts under every concatenation: 414 septets of GSM-7 (the euro
// sign takes two) and 160 UTF-16 units of UCS-2 (the emoji takes two).
var (
	gsm3  = strings.Repeat("The quick brown fox € ", 18)
	ucs23 = strings.Repeat("Привет, мир! 😀 ", 10)
)

// moGateway starts a sandbox SMSC and a gateway bound to it as carrier "sandbox".
func moGateway(t *testing.T, ev Events, packed bool, opts ...Option) (*Gateway, *smsc.Server) {
	t.Helper()
	srv := startSMSC(t, smsc.Config{})
	g := gatewayWith(t, ev, opts, carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1, packedGSM7: packed})
	waitUp(t, g, "sandbox")
	return g, srv
}

func inject(t *testing.T, srv *smsc.Server, from, text string, o smsc.MOOptions) {
	t.Helper()
	if err := srv.InjectMOWith("acme", from, "+447700900000", text, o); err != nil {
		t.Fatalf("InjectMOWith %+v: %v", o, err)
	}
}

func (r *recorder) inbounds() []Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.inbound)
}

// Every concatenation and coding, parts out of order and repeated: exactly one
// Inbound with the whole text. InjectMOWith returns once the gateway answered every
// part, so what Inbound got by then is final for those parts.
func TestConcatenatedMOReachesInboundOnceWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		text   string
		concat smsc.Concat
		packed bool
	}{
		{"udh 8-bit ref, gsm-7", gsm3, smsc.ConcatUDH8, false},
		{"udh 16-bit ref, gsm-7", gsm3, smsc.ConcatUDH16, false},
		{"sar tlvs, gsm-7", gsm3, smsc.ConcatSAR, false},
		{"udh 8-bit ref, packed gsm-7 with a fill bit", gsm3, smsc.ConcatUDH8, true},
		{"udh 16-bit ref, packed gsm-7", gsm3, smsc.ConcatUDH16, true},
		{"sar tlvs, packed gsm-7", gsm3, smsc.ConcatSAR, true},
		{"udh 8-bit ref, ucs-2", ucs23, smsc.ConcatUDH8, false},
		{"udh 16-bit ref, ucs-2", ucs23, smsc.ConcatUDH16, false},
		{"sar tlvs, ucs-2", ucs23, smsc.ConcatSAR, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := newRecorder()
			_, srv := moGateway(t, ev, tc.packed)
			o := smsc.MOOptions{Concat: tc.concat, Reference: 0x1A2, PackedGSM7: tc.packed, Parts: []int{3, 1, 3}}
			if tc.concat == smsc.ConcatUDH8 {
				o.Reference = 0xA2
			}
			inject(t, srv, "+447700900999", tc.text, o)
			if n := len(ev.inbounds()); n != 0 {
				t.Fatalf("%d Inbound before the last part", n)
			}
			o.Parts = []int{2, 1, 2} // the last part, then resends of parts already in
			inject(t, srv, "+447700900999", tc.text, o)
			got := ev.inbounds()
			if len(got) != 1 {
				t.Fatalf("%d Inbound, want 1: %+v", len(got), got)
			}
			in := got[0]
			if in.Text != tc.text || in.Parts != 3 || in.Total != 3 || in.Partial || in.Missing != nil || in.DecodeErr != nil ||
				in.ID == "" || in.From != "+447700900999" || in.To != "+447700900000" || ev.carriers[0] != "sandbox" {
				t.Fatalf("Inbound %+v (text %q), want the whole text from 3 parts", in, in.Text)
			}
		})
	}
}

func TestSinglePartMOIsNotKept(t *testing.T) {
	t.Parallel()
	ev := newRecorder()
	parts := NewMemMOParts()
	_, srv := moGateway(t, ev, false, WithMOParts(parts))
	inject(t, srv, "+447700900999", "STOP", smsc.MOOptions{})
	got := ev.inbounds()
	if len(got) != 1 || got[0].Text != "STOP" || got[0].Parts != 1 || got[0].ID != "" {
		t.Fatalf("Inbound %+v", got)
	}
	if _, ok, _ := parts.NextDeadline(context.Background()); ok {
		t.Error("a message of one part went to the parts store")
	}
}

// Parts that never come: at the carrier's mo_part_timeout (from the first part, on
// the injected clock) the parts that did come are delivered, flagged partial.
func TestMissingPartsTimeOutIntoAPartialMessage(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	ev := newRecorder()
	g, srv := moGateway(t, ev, false, WithClock(clk.Now))
	text := strings.Repeat("abcdefghij", 40) // 400 septets: 153 + 153 + 94
	inject(t, srv, "+447700900999", text, smsc.MOOptions{Reference: 7, Parts: []int{1, 3}})
	clk.Advance(10*time.Minute - time.Second)
	g.expireMO(context.Background())
	if n := len(ev.inbounds()); n != 0 {
		t.Fatalf("%d Inbound before the timeout", n)
	}
	clk.Advance(time.Second)
	g.expireMO(context.Background())
	ev.waitFor(t, "the partial Inbound", func() bool { return len(ev.inbound) == 1 })
	in := ev.inbounds()[0]
	if !in.Partial || !slices.Equal(in.Missing, []int{2}) || in.Parts != 2 || in.Total != 3 || in.Text != text[:153]+text[306:] {
		t.Fatalf("Inbound %+v, want parts 1 and 3, partial, 2 missing", in)
	}
	// Part 2 comes after all: the message was reported, so it starts another one.
	inject(t, srv, "+447700900999", text, smsc.MOOptions{Reference: 7, Parts: []int{2}})
	clk.Advance(10 * time.Minute)
	g.expireMO(context.Background())
	ev.waitFor(t, "the late part", func() bool { return len(ev.inbound) == 2 })
	if late := ev.inbounds()[1]; !late.Partial || late.Text != text[153:306] || !slices.Equal(late.Missing, []int{1, 3}) || late.ID == in.ID {
		t.Fatalf("late part %+v", late)
	}
	g.expireMO(context.Background()) // both were finished: nothing is due again
	if n := len(ev.inbounds()); n != 2 {
		t.Fatalf("%d Inbound, want 2", n)
	}
}

// A gateway restarted between parts (the parts store shared, as PostgreSQL is)
// still delivers one whole message.
func TestMOPartsSurviveAGatewayRestart(t *testing.T) {
	t.Parallel()
	parts := NewMemMOParts()
	srv := startSMSC(t, smsc.Config{})
	spec := carrierSpec{name: "sandbox", addr: srv.Addr(), priority: 1}
	first := newRecorder()
	g1 := gatewayWith(t, first, []Option{WithMOParts(parts)}, spec)
	waitUp(t, g1, "sandbox")
	inject(t, srv, "+447700900999", gsm3, smsc.MOOptions{Reference: 9, Parts: []int{1, 2}})
	if err := g1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := newRecorder()
	g2 := gatewayWith(t, second, []Option{WithMOParts(parts)}, spec)
	waitUp(t, g2, "sandbox")
	inject(t, srv, "+447700900999", gsm3, smsc.MOOptions{Reference: 9, Parts: []int{3}})
	if got := second.inbounds(); len(got) != 1 || got[0].Text != gsm3 || got[0].Partial || len(first.inbounds()) != 0 {
		t.Fatalf("after the restart: %+v; before: %+v", got, first.inbounds())
	}
}

// failingInbound fails its first n Inbound calls.
type failingInbound struct {
	*recorder
	mu    sync.Mutex
	fails int
}

func (f *failingInbound) Inbound(ctx context.Context, m Inbound, carrier string) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return errors.New("broker down")
	}
	return f.recorder.Inbound(ctx, m, carrier)
}

// The event for the whole message fails: the last part is refused, so the SMSC
// sends it again, and its resend delivers the message, once.
func TestFailedInboundEventIsRetriedByTheResentPart(t *testing.T) {
	t.Parallel()
	ev := &failingInbound{recorder: newRecorder(), fails: 1}
	_, srv := moGateway(t, ev, false)
	err := srv.InjectMOWith("acme", "+447700900999", "+447700900000", gsm3, smsc.MOOptions{Reference: 3})
	var se *smsc.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("last part answered %v, want an error status", err)
	}
	inject(t, srv, "+447700900999", gsm3, smsc.MOOptions{Reference: 3, Parts: []int{3}})
	inject(t, srv, "+447700900999", gsm3, smsc.MOOptions{Reference: 3, Parts: []int{3}}) // once more: dropped
	if got := ev.inbounds(); len(got) != 1 || got[0].Text != gsm3 {
		t.Fatalf("Inbound %+v, want the whole text once", got)
	}
}

// A gateway that crashed after a message was handed out and before it was reported
// leaves it to the sweeper of the next one, at its redo time: whole, not partial.
func TestHandedOutButUnreportedMessageIsReportedByTheSweeper(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	parts := NewMemMOParts()
	k := MOKey{Carrier: "sandbox", From: "+447700900999", To: "12345", Ref: "udh8:1", Total: 2}
	ctx := context.Background()
	for seq, body := range []string{"Hello, ", "world"} {
		p := MOPart{MOKey: k, Seq: seq + 1, DataCoding: 0, Body: []byte(body), ReceivedAt: clk.Now()}
		if done, err := parts.Add(ctx, p, clk.Now().Add(time.Minute), clk.Now().Add(moRedo)); err != nil || (done != nil) != (seq == 1) {
			t.Fatalf("Add part %d: %v, %v", seq+1, done, err)
		}
	} // handed out; the crash loses it before Events
	ev := newRecorder()
	g, _ := moGateway(t, ev, false, WithMOParts(parts), WithClock(clk.Now))
	g.expireMO(ctx)
	if n := len(ev.inbounds()); n != 0 {
		t.Fatalf("%d Inbound before the redo time", n)
	}
	clk.Advance(moRedo)
	g.expireMO(ctx)
	ev.waitFor(t, "the redone Inbound", func() bool { return len(ev.inbound) == 1 })
	if in := ev.inbounds()[0]; in.Text != "Hello, world" || in.Partial || in.Parts != 2 {
		t.Fatalf("Inbound %+v", in)
	}
}

func TestMOIDIsStablePerReport(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	k := MOKey{Carrier: "sandbox", From: "+447700900999", To: "12345", Ref: "sar:1", Total: 3}
	part := func(seq int, d time.Duration) MOPart { return MOPart{MOKey: k, Seq: seq, ReceivedAt: at.Add(d)} }
	partial := MOMessage{MOKey: k, Parts: []MOPart{part(1, 0), part(3, time.Second)}}
	again := MOMessage{MOKey: k, Parts: []MOPart{part(1, 0), part(3, time.Second)}, Tries: 2}
	whole := MOMessage{MOKey: k, Parts: []MOPart{part(1, 0), part(2, time.Minute), part(3, time.Second)}}
	reused := MOMessage{MOKey: k, Parts: []MOPart{part(1, time.Hour), part(3, time.Hour)}}
	if moID(partial) != moID(again) {
		t.Error("a repeated report has another id")
	}
	if moID(partial) == moID(whole) || moID(partial) == moID(reused) {
		t.Error("the whole message, or a later one with the reference reused, has the partial's id")
	}
}
