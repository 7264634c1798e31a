package smsc

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

var (
	idPattern      = regexp.MustCompile(`^[0-9a-f]{16}$`)
	receiptPattern = regexp.MustCompile(`^id:(\S+) sub:001 dlvrd:(00[01]) submit date:(\d{10}) done date:(\d{10}) stat:([A-Z]{7}) err:(\d{3}) text:(.*)$`)
)

func TestSubmitGSM7GetsReceipt(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{ReceiptDelay: 10 * time.Millisecond})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	const text = "Hello {Catalyst} 5€ @home"

	resp := c.submit(t, newSubmit(t, "Catalyst", "4915112345678", text, data.GSM7BIT, 1))
	if resp.CommandStatus != data.ESME_ROK || !idPattern.MatchString(resp.MessageID) {
		t.Fatalf("submit_sm_resp = %s, id %q; want ESME_ROK and 16 hex digits", resp.CommandStatus, resp.MessageID)
	}
	rc := c.receipt(t, resp.MessageID)
	body, err := rc.Message.GetMessage()
	if err != nil {
		t.Fatal(err)
	}
	m := receiptPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("receipt text %q is not a standard receipt", body)
	}
	if m[1] != resp.MessageID || m[2] != "001" || m[5] != "DELIVRD" || m[6] != "000" || m[7] != "Hello ?Catalyst? 5? " {
		t.Errorf("receipt text %q: want id %s, dlvrd 001, DELIVRD, err 000, first 20 chars", body, resp.MessageID)
	}
	if st := rc.OptionalParameters[pdu.TagMessageStateOption].Data; len(st) != 1 || st[0] != 2 {
		t.Errorf("message_state = %v, want [2] (DELIVERED)", st)
	}
	if rc.SourceAddr.Address() != "4915112345678" || rc.DestAddr.Address() != "Catalyst" {
		t.Errorf("receipt from %q to %q, want from the handset to the sender", rc.SourceAddr.Address(), rc.DestAddr.Address())
	}

	subs := s.Submitted()
	if len(subs) != 1 {
		t.Fatalf("Submitted() has %d entries, want 1", len(subs))
	}
	got := subs[0]
	if got.ID != resp.MessageID || got.SystemID != "acme" || got.Source != "Catalyst" || got.Dest != "4915112345678" ||
		got.DataCoding != 0 || got.Total != 0 || got.RegisteredDelivery != 1 {
		t.Errorf("Submitted()[0] = %+v", got)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].Text != text || !msgs[0].Complete || msgs[0].Total != 1 {
		t.Errorf("Messages() = %+v, want one complete message %q", msgs, text)
	}
}

func TestSubmitConcatenatedUCS2(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	text := strings.Repeat("Grüße aus Köln ☀ ", 9) // 153 characters outside GSM 7-bit: 3 parts of ≤67

	long := newSubmit(t, "Catalyst", "4915112345678", "", data.UCS2, 1)
	if err := long.Message.SetLongMessageWithEnc(text, data.UCS2); err != nil {
		t.Fatal(err)
	}
	parts, err := long.Split()
	if err != nil || len(parts) != 3 {
		t.Fatalf("Split: %d parts, %v; want 3", len(parts), err)
	}
	var ids []string
	for _, p := range parts {
		p.AssignSequenceNumber() // Split copies one header into every part
		resp := c.submit(t, p)
		if resp.CommandStatus != data.ESME_ROK {
			t.Fatalf("part: %s", resp.CommandStatus)
		}
		ids = append(ids, resp.MessageID)
	}
	for _, id := range ids {
		rc := c.receipt(t, id)
		if st := rc.OptionalParameters[pdu.TagMessageStateOption].Data; len(st) != 1 || st[0] != 2 {
			t.Errorf("receipt for %s: message_state %v, want [2]", id, st)
		}
	}

	subs := s.Submitted()
	if len(subs) != 3 {
		t.Fatalf("Submitted() has %d entries, want 3", len(subs))
	}
	for i, sub := range subs {
		if sub.DataCoding != 8 || sub.Total != 3 || int(sub.Seq) != i+1 || sub.Ref != subs[0].Ref || sub.EsmClass&0x40 == 0 {
			t.Errorf("part %d: coding %d, ref %d, %d/%d, esm_class %#x; want UCS-2, one ref, %d/3, UDHI",
				i+1, sub.DataCoding, sub.Ref, sub.Seq, sub.Total, sub.EsmClass, i+1)
		}
		if len(sub.Bytes) > 134 {
			t.Errorf("part %d has %d bytes of user data, more than 134", i+1, len(sub.Bytes))
		}
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("Messages() has %d entries, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.Complete || m.Total != 3 || m.Text != text || strings.Join(m.IDs, ",") != strings.Join(ids, ",") {
		t.Errorf("reassembled = %+v\nwant text %q, ids %v", m, text, ids)
	}
}

func TestReceiptOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mix   Mix
		stat  string
		state byte
		dlvrd string
	}{
		{Mix{Delivered: 1}, "DELIVRD", 2, "001"},
		{Mix{Undelivered: 1}, "UNDELIV", 5, "000"},
		{Mix{Expired: 1}, "EXPIRED", 3, "000"},
	}
	for _, tc := range tests {
		t.Run(tc.stat, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{Outcomes: tc.mix})
			c := mustDial(t, s.Addr(), "acme", "secret", 0)
			resp := c.submit(t, newSubmit(t, "Shop", "4917012345", "Your code is 1234", data.GSM7BIT, 1))
			rc := c.receipt(t, resp.MessageID)
			body, _ := rc.Message.GetMessage()
			m := receiptPattern.FindStringSubmatch(body)
			if m == nil || m[5] != tc.stat || m[2] != tc.dlvrd {
				t.Errorf("receipt %q, want stat:%s dlvrd:%s", body, tc.stat, tc.dlvrd)
			}
			if st := rc.OptionalParameters[pdu.TagMessageStateOption].Data; len(st) != 1 || st[0] != tc.state {
				t.Errorf("message_state = %v, want [%d]", st, tc.state)
			}
			_, hasNetErr := rc.OptionalParameters[pdu.TagNetworkErrorCode]
			if hasNetErr != (tc.stat == "UNDELIV") {
				t.Errorf("network_error_code present = %v, want it only for UNDELIV", hasNetErr)
			}
			if got := s.Submitted()[0].Stat; got != tc.stat {
				t.Errorf("Submitted()[0].Stat = %s, want %s", got, tc.stat)
			}
		})
	}
}

func TestOutcomesAreDeterministicWithSeed(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []string {
		s := startServer(t, Config{Seed: seed, Outcomes: Mix{Delivered: 2, Undelivered: 1, Expired: 1}})
		c := mustDial(t, s.Addr(), "acme", "secret", 0)
		for i := range 40 {
			c.submit(t, newSubmit(t, "A", "B", fmt.Sprint("m", i), data.GSM7BIT, 0))
		}
		var stats []string
		for _, sub := range s.Submitted() {
			stats = append(stats, sub.Stat)
		}
		return stats
	}
	a, b := run(42), run(42)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("same seed, different outcomes:\n%v\n%v", a, b)
	}
	seen := map[string]bool{}
	for _, st := range a {
		seen[st] = true
	}
	if len(seen) != 3 {
		t.Errorf("40 draws from a 2:1:1 mix gave only %v", seen)
	}
}

func TestInjectMO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		coding     byte
		parts      int
	}{
		{"gsm7", "Hi there, STOP to opt out", 0, 1},
		{"ucs2", "Привет! Как дела?", 8, 1},
		{"long-gsm7", strings.Repeat("0123456789", 20), 0, 2},
		{"long-ucs2", strings.Repeat("Ünïcödé ☀ ", 10), 8, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			c := mustDial(t, s.Addr(), "acme", "secret", 0)
			if err := s.InjectMO("acme", "4915112345678", "12345", tc.text); err != nil {
				t.Fatalf("InjectMO: %v", err)
			}
			var text string
			for i := range tc.parts {
				d := c.waitFor(t, "deliver_sm", func(p pdu.PDU) bool { _, ok := p.(*pdu.DeliverSM); return ok }).(*pdu.DeliverSM)
				if d.EsmClass&data.SM_SMSC_DLV_RCPT_TYPE != 0 || d.SourceAddr.Address() != "4915112345678" || d.DestAddr.Address() != "12345" {
					t.Fatalf("deliver_sm esm_class %#x from %q to %q", d.EsmClass, d.SourceAddr.Address(), d.DestAddr.Address())
				}
				if got := d.Message.Encoding().DataCoding(); got != tc.coding {
					t.Errorf("data_coding = %d, want %d", got, tc.coding)
				}
				if tc.parts > 1 {
					total, seq, _, ok := d.Message.UDH().GetConcatInfo()
					if !ok || int(total) != tc.parts || int(seq) != i+1 {
						t.Errorf("part %d: concat UDH %d/%d (found %v)", i+1, seq, total, ok)
					}
				}
				part, err := d.Message.GetMessage()
				if err != nil {
					t.Fatal(err)
				}
				text += part
			}
			if text != tc.text {
				t.Errorf("MO text = %q, want %q", text, tc.text)
			}
		})
	}
}

func TestInjectMOWithoutReceiver(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	tx := rawDial(t, s.Addr())
	if r := tx.bind(pdu.Transmitter, "acme", "secret"); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("bind: %s", r.CommandStatus)
	}
	for _, account := range []string{"acme", "other", "nobody"} {
		if err := s.InjectMO(account, "491", "123", "hi"); !errors.Is(err, ErrNoReceiver) {
			t.Errorf("InjectMO(%s) with only a transmitter bound = %v, want ErrNoReceiver", account, err)
		}
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	c := mustDial(t, s.Addr(), "acme", "secret", 0)
	s.Throttle(2)
	want := []data.CommandStatusType{data.ESME_RTHROTTLED, data.ESME_RTHROTTLED, data.ESME_ROK}
	for i, w := range want {
		resp := c.submit(t, newSubmit(t, "A", "4917", "x", data.GSM7BIT, 0))
		if resp.CommandStatus != w {
			t.Errorf("submit %d: %s, want %s", i+1, resp.CommandStatus, w)
		}
	}
	if n := len(s.Submitted()); n != 1 {
		t.Errorf("Submitted() has %d entries, want only the accepted one", n)
	}
}

func TestBindFailure(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	tests := []struct {
		name, systemID, password string
		want                     data.CommandStatusType
	}{
		{"wrong password", "acme", "guess", data.ESME_RINVPASWD},
		{"other account's password", "acme", "pw2", data.ESME_RINVPASWD},
		{"unknown system_id", "mallory", "secret", data.ESME_RBINDFAIL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := dial(s.Addr(), tc.systemID, tc.password, 0)
			var be gosmpp.BindError
			if !errors.As(err, &be) || be.CommandStatus != tc.want {
				t.Errorf("bind %s/%s: %v, want a bind error %s", tc.systemID, tc.password, err, tc.want)
			}
		})
	}
}

func TestReconnectAfterDropConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{ReceiptDelay: 300 * time.Millisecond})
	c := mustDial(t, s.Addr(), "acme", "secret", 50*time.Millisecond)
	resp := c.submit(t, newSubmit(t, "A", "4917", "before the crash", data.GSM7BIT, 1))

	s.DropConnections()
	select {
	case <-c.rebound:
	case <-time.After(waitLimit):
		t.Fatal("client did not rebind after DropConnections")
	}
	c.receipt(t, resp.MessageID) // due after the crash: it reaches the new session
	if r := c.submit(t, newSubmit(t, "A", "4917", "after the crash", data.GSM7BIT, 0)); r.CommandStatus != data.ESME_ROK {
		t.Errorf("submit after reconnect: %s", r.CommandStatus)
	}
}

func TestReceiptsWaitForAReceiver(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	tx := rawDial(t, s.Addr())
	if r := tx.bind(pdu.Transmitter, "acme", "secret"); r.CommandStatus != data.ESME_ROK {
		t.Fatalf("bind transmitter: %s", r.CommandStatus)
	}
	tx.write(newSubmit(t, "A", "4917", "queued receipt", data.GSM7BIT, 1))
	resp, ok := tx.read().(*pdu.SubmitSMResp)
	if !ok || resp.CommandStatus != data.ESME_ROK {
		t.Fatalf("submit_sm_resp: %+v", resp)
	}
	// No receiver is bound: the receipt waits. Another account's receiver must not get it.
	other := mustDial(t, s.Addr(), "other", "pw2", 0)
	rx := mustDial(t, s.Addr(), "acme", "secret", 0)
	rx.receipt(t, resp.MessageID)
	other.mu.Lock()
	n := len(other.got)
	other.mu.Unlock()
	if n != 0 {
		t.Errorf("account other got %d PDUs meant for acme", n)
	}
}

func TestManyInFlightOnConcurrentSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	const clients, window = 4, 64
	var wg sync.WaitGroup
	ids := make(chan string, clients*window)
	for range clients {
		c := mustDial(t, s.Addr(), "acme", "secret", 0)
		var sms []*pdu.SubmitSM
		for i := range window {
			sms = append(sms, newSubmit(t, "A", "4917", fmt.Sprint("msg ", i), data.GSM7BIT, 0))
		}
		wg.Go(func() {
			for _, sm := range sms { // all in flight before the first response is read
				if err := c.sess.Transceiver().Submit(sm); err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
			}
			for _, sm := range sms {
				seq := sm.GetSequenceNumber()
				r, ok := c.await(func(p pdu.PDU) bool {
					r, ok := p.(*pdu.SubmitSMResp)
					return ok && r.SequenceNumber == seq
				}).(*pdu.SubmitSMResp)
				if !ok {
					t.Errorf("no submit_sm_resp for seq %d", seq)
					return
				}
				ids <- r.MessageID
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("message_id %s given twice", id)
		}
		seen[id] = true
	}
	if len(seen) != clients*window || len(s.Submitted()) != clients*window {
		t.Errorf("%d distinct ids, %d recorded; want %d", len(seen), len(s.Submitted()), clients*window)
	}
}

// InjectMOWith's concatenations, read back with gosmpp's parser: the 16-bit UDH and
// the sar_ TLVs, with the parts chosen and ordered by the caller.
func TestInjectMOWith(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("0123456789", 40) // 400 septets
	tests := []struct {
		name   string
		o      MOOptions
		per    int
		seqs   []int
		concat func(t *testing.T, d *pdu.DeliverSM) (ref, total, seq int)
	}{
		{"16-bit reference", MOOptions{Concat: ConcatUDH16, Reference: 0xBEEF, Parts: []int{3, 1}}, 152, []int{3, 1},
			func(t *testing.T, d *pdu.DeliverSM) (int, int, int) {
				ie, ok := d.Message.UDH().FindInfoElement(data.UDH_CONCAT_MSG_16_BIT_REF)
				if !ok || len(ie.Data) != 4 || d.EsmClass&data.SM_UDH_GSM == 0 {
					t.Fatalf("UDH %+v, esm_class %#x", d.Message.UDH(), d.EsmClass)
				}
				return int(ie.Data[0])<<8 | int(ie.Data[1]), int(ie.Data[2]), int(ie.Data[3])
			}},
		{"sar tlvs", MOOptions{Concat: ConcatSAR, Reference: 0x0102, Parts: []int{2, 2, 3}}, 160, []int{2, 2, 3},
			func(t *testing.T, d *pdu.DeliverSM) (int, int, int) {
				ref, total, seq := d.OptionalParameters[pdu.TagSarMsgRefNum], d.OptionalParameters[pdu.TagSarTotalSegments], d.OptionalParameters[pdu.TagSarSegmentSeqnum]
				if len(ref.Data) != 2 || len(total.Data) != 1 || len(seq.Data) != 1 || d.EsmClass&data.SM_UDH_GSM != 0 {
					t.Fatalf("TLVs %+v, esm_class %#x", d.OptionalParameters, d.EsmClass)
				}
				return int(ref.Data[0])<<8 | int(ref.Data[1]), int(total.Data[0]), int(seq.Data[0])
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{})
			c := mustDial(t, s.Addr(), "acme", "secret", 0)
			if err := s.InjectMOWith("acme", "4915112345678", "12345", text, tc.o); err != nil {
				t.Fatalf("InjectMOWith: %v", err)
			}
			seen := map[*pdu.DeliverSM]bool{}
			for _, want := range tc.seqs {
				d := c.waitFor(t, "deliver_sm", func(p pdu.PDU) bool { d, ok := p.(*pdu.DeliverSM); return ok && !seen[d] }).(*pdu.DeliverSM)
				seen[d] = true
				ref, total, seq := tc.concat(t, d)
				if ref != int(tc.o.Reference) || total != 3 || seq != want {
					t.Fatalf("part ref %#x %d/%d, want %#x %d/3", ref, seq, total, tc.o.Reference, want)
				}
				got, err := d.Message.GetMessage()
				if err != nil || got != text[(want-1)*tc.per:min(want*tc.per, len(text))] {
					t.Fatalf("part %d = %q, %v", want, got, err)
				}
			}
			if err := s.InjectMOWith("acme", "4915112345678", "12345", text, MOOptions{Parts: []int{4}}); err == nil {
				t.Error("a fourth part of three was sent")
			}
		})
	}
}
