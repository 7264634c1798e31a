package smsc

import (
	"fmt"
	"testing"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

func TestMagicOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want magic
	}{
		{"+447400000666", magicUndelivered},
		{"447400000666", magicUndelivered},
		{"+44 7400 000 666", magicUndelivered},
		{"0000666", magicUndelivered},
		{"+4917100000777", magicExpired},
		{"+33600000888", magicRejected},
		{"+447400000667", magicNone},
		{"+447400006660", magicNone},
		{"000666", magicNone}, // too short: six digits are not the suffix
		{"Catalyst", magicNone},
		{"", magicNone},
	}
	for _, tc := range tests {
		if got := magicOf(tc.addr); got != tc.want {
			t.Errorf("magicOf(%q) = %d, want %d", tc.addr, got, tc.want)
		}
	}
}

// With MagicNumbers, the destination decides over a Mix that would deliver all: each
// magic suffix gets its outcome, the rest the Mix's.
func TestMagicNumbersChooseTheOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		to     string
		status data.CommandStatusType
		stat   string // "" when refused: no receipt
		state  byte
	}{
		{"447400000666", data.ESME_ROK, "UNDELIV", 5},
		{"4917100000777", data.ESME_ROK, "EXPIRED", 3},
		{"33600000888", data.ESME_RINVDSTADR, "", 0},
		{"447400123456", data.ESME_ROK, "DELIVRD", 2},
	}
	s := startServer(t, Config{MagicNumbers: true, Outcomes: Mix{Delivered: 1}})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	accepted := 0
	for _, tc := range tests {
		resp := c.submit(t, newSubmit(t, "Shop", tc.to, "Your code is 1234", data.GSM7BIT, 1))
		if resp.CommandStatus != tc.status {
			t.Errorf("submit to %s: %s, want %s", tc.to, resp.CommandStatus, tc.status)
			continue
		}
		if tc.stat == "" {
			if resp.MessageID != "" {
				t.Errorf("refused submit to %s has message_id %q", tc.to, resp.MessageID)
			}
			continue
		}
		accepted++
		rc := c.receipt(t, resp.MessageID)
		body, _ := rc.Message.GetMessage()
		if m := receiptPattern.FindStringSubmatch(body); m == nil || m[5] != tc.stat {
			t.Errorf("receipt for %s: %q, want stat:%s", tc.to, body, tc.stat)
		}
		if st := rc.OptionalParameters[pdu.TagMessageStateOption].Data; len(st) != 1 || st[0] != tc.state {
			t.Errorf("receipt for %s: message_state %v, want [%d]", tc.to, st, tc.state)
		}
	}
	subs := s.Submitted()
	if len(subs) != accepted {
		t.Fatalf("Submitted() has %d entries, want the %d accepted", len(subs), accepted)
	}
	for _, sub := range subs {
		if sub.Dest == "33600000888" {
			t.Errorf("the refused submit_sm was recorded: %+v", sub)
		}
	}
}

// Without MagicNumbers (the zero Config) the same destinations keep the Mix.
func TestMagicNumbersOffByDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	for _, to := range []string{"447400000666", "4917100000777", "33600000888"} {
		resp := c.submit(t, newSubmit(t, "Shop", to, "Your code is 1234", data.GSM7BIT, 0))
		if resp.CommandStatus != data.ESME_ROK {
			t.Errorf("submit to %s: %s, want ESME_ROK with MagicNumbers off", to, resp.CommandStatus)
		}
	}
	for _, sub := range s.Submitted() {
		if sub.Stat != "DELIVRD" {
			t.Errorf("%s: %s, want DELIVRD from the zero Mix", sub.Dest, sub.Stat)
		}
	}
}

// Every part of a concatenated message to a magic destination gets its outcome.
func TestMagicNumbersLongMessage(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{MagicNumbers: true})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	long := newSubmit(t, "Shop", "447400000777", "", data.GSM7BIT, 0)
	text := "Your appointment is confirmed for Tuesday at 10:30. Please arrive ten minutes early and bring your card. Reply STOP to opt out of reminders. See you soon, the team."
	if err := long.Message.SetLongMessageWithEnc(text, data.GSM7BIT); err != nil {
		t.Fatal(err)
	}
	parts, err := long.Split()
	if err != nil || len(parts) < 2 {
		t.Fatalf("Split: %d parts, %v; want several", len(parts), err)
	}
	for _, p := range parts {
		p.AssignSequenceNumber()
		if r := c.submit(t, p); r.CommandStatus != data.ESME_ROK {
			t.Fatalf("part: %s", r.CommandStatus)
		}
	}
	for _, sub := range s.Submitted() {
		if sub.Stat != "EXPIRED" {
			t.Errorf("part %d/%d: %s, want EXPIRED", sub.Seq, sub.Total, sub.Stat)
		}
	}
}

// A sandbox under load remembers at most Config.Keep submissions: past it the older
// half is forgotten, the newest kept.
func TestKeepBoundsWhatIsRemembered(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Keep: 4, Outcomes: Mix{Delivered: 1}})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	var last string
	for i := range 9 {
		resp := c.submit(t, newSubmit(t, "Shop", fmt.Sprintf("4474001234%02d", i), "hello", data.GSM7BIT, 1))
		if resp.CommandStatus != data.ESME_ROK {
			t.Fatalf("submit %d: %s", i, resp.CommandStatus)
		}
		last = resp.MessageID
	}
	subs, msgs := s.Submitted(), s.Messages()
	if len(subs) == 0 || len(subs) > 4 || subs[len(subs)-1].ID != last {
		t.Errorf("Submitted() = %d entries ending %+v; want at most 4, the last %s", len(subs), subs[len(subs)-1], last)
	}
	if len(msgs) == 0 || len(msgs) > 4 || msgs[len(msgs)-1].IDs[0] != last {
		t.Errorf("Messages() = %d entries; want at most 4, the last %s", len(msgs), last)
	}
}
