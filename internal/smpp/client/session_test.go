package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/smpp/sms"
	"github.com/catalyst-cpaas/catalyst/internal/smsc"
)

func TestSubmitAndReceipts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		decimal bool // the SMSC writes receipt ids in decimal in the text
	}{{"hex receipt ids", false}, {"decimal receipt ids", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startSMSC(t, smsc.Config{DecimalReceiptIDs: tc.decimal, ReceiptDelay: 10 * time.Millisecond})
			rec := newRecorder()
			s := dial(t, testConfig(srv.Addr()), rec)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()

			gsm, err := sms.Encode("Hello from Catalyst {ok}", sms.Options{})
			if err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("Привет, мир! ", 14) // 182 UCS-2 characters: 3 parts of ≤67
			ucs, err := sms.Encode(long, sms.Options{Reference: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(gsm.Parts) != 1 || len(ucs.Parts) != 3 || ucs.DataCoding != 8 {
				t.Fatalf("encode: %d GSM parts, %d UCS-2 parts with data_coding %d; want 1, 3, 8", len(gsm.Parts), len(ucs.Parts), ucs.DataCoding)
			}
			reqs := append(Requests("Catalyst", "+447700900123", gsm), Requests("+447700900999", "+447700900123", ucs)...)
			ids := make([]SubmitResult, len(reqs))
			for i, r := range reqs {
				if ids[i], err = s.Submit(ctx, r); err != nil {
					t.Fatalf("Submit part %d: %v", i, err)
				}
				if ids[i].ID == "" || ids[i].ID != sms.NormalizeID(ids[i].RawID) {
					t.Fatalf("Submit part %d: result %+v", i, ids[i])
				}
			}

			subs := srv.Submitted()
			if len(subs) != len(reqs) {
				t.Fatalf("SMSC accepted %d submit_sm, want %d", len(subs), len(reqs))
			}
			for i, sub := range subs {
				if sub.ID != ids[i].RawID || sub.RegisteredDelivery != 1 || sub.DataCoding != reqs[i].DataCoding || sub.EsmClass != reqs[i].EsmClass {
					t.Errorf("submitted[%d] = id %s rd %d dc %d esm 0x%02X; want id %s rd 1 dc %d esm 0x%02X",
						i, sub.ID, sub.RegisteredDelivery, sub.DataCoding, sub.EsmClass, ids[i].RawID, reqs[i].DataCoding, reqs[i].EsmClass)
				}
				if sub.Dest != "447700900123" {
					t.Errorf("submitted[%d].Dest = %q, want the E.164 digits without '+'", i, sub.Dest)
				}
			}
			if subs[0].Source != "Catalyst" || subs[1].Source != "447700900999" {
				t.Errorf("sources %q, %q", subs[0].Source, subs[1].Source)
			}
			msgs := srv.Messages()
			if len(msgs) != 2 || msgs[0].Text != "Hello from Catalyst {ok}" || !msgs[1].Complete || msgs[1].Text != long {
				t.Errorf("SMSC reassembled %+v", msgs)
			}

			eventually(t, "a receipt for every part", func() bool {
				for _, r := range ids {
					if _, ok := rec.receipt(r.ID); !ok {
						return false
					}
				}
				return true
			})
			for _, r := range ids {
				rc, _ := rec.receipt(r.ID)
				if rc.State != sms.StateDelivered || !rc.Final {
					t.Errorf("receipt %s: state %v final %v", r.ID, rc.State, rc.Final)
				}
			}
		})
	}
}

func TestMO(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	rec := newRecorder()
	dial(t, testConfig(srv.Addr()), rec)

	if err := srv.InjectMO("acme", "+447700900123", "12345", "STOP please"); err != nil {
		t.Fatalf("InjectMO: %v", err)
	}
	mos := rec.moList()
	if len(mos) != 1 {
		t.Fatalf("got %d MO, want 1", len(mos))
	}
	if m := mos[0]; m.Text != "STOP please" || m.From != "+447700900123" || m.To != "12345" || m.DataCoding != 0 || m.UDH != nil || m.DecodeErr != nil {
		t.Errorf("MO = %+v", m)
	}

	long := strings.Repeat("ñandú ☃ ", 12) // UCS-2, 96 characters: two parts
	if err := srv.InjectMO("acme", "+447700900123", "12345", long); err != nil {
		t.Fatalf("InjectMO long: %v", err)
	}
	mos = rec.moList()[1:]
	if len(mos) != 2 {
		t.Fatalf("got %d MO parts, want 2", len(mos))
	}
	var joined string
	for i, m := range mos {
		if m.UDH == nil || !m.UDH.Concat || m.UDH.Total != 2 || int(m.UDH.Seq) != i+1 || m.DataCoding != 8 {
			t.Fatalf("part %d: UDH %+v dc %d", i, m.UDH, m.DataCoding)
		}
		joined += m.Text
	}
	if joined != long {
		t.Errorf("joined MO text %q, want %q", joined, long)
	}
}

func TestMOHandlerErrorAsksForRedelivery(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{ResponseTimeout: time.Second})
	rec := newRecorder()
	rec.fail = errors.New("database down")
	dial(t, testConfig(srv.Addr()), rec)

	err := srv.InjectMO("acme", "+447700900123", "12345", "hi")
	var se *smsc.StatusError
	if !errors.As(err, &se) || se.Status != data.ESME_RX_T_APPN {
		t.Fatalf("InjectMO = %v, want a StatusError with ESME_RX_T_APPN", err)
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	for _, tc := range []struct {
		name, systemID, password string
		code                     errs.Code
		status                   data.CommandStatusType
	}{
		{"wrong password", "acme", "wrong", errs.Unauthenticated, data.ESME_RINVPASWD},
		{"unknown system_id", "nobody", "secret", errs.Unauthenticated, data.ESME_RBINDFAIL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(srv.Addr())
			cfg.SystemID, cfg.Password = tc.systemID, tc.password
			s, err := Dial(context.Background(), cfg, newRecorder())
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("Dial succeeded")
			}
			var se *StatusError
			if errs.CodeOf(err) != tc.code || !errors.As(err, &se) || se.Status != tc.status {
				t.Errorf("Dial = %v (code %s), want %s with %s", err, errs.CodeOf(err), tc.code, tc.status)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig("127.0.0.1:1")
		if _, err := Dial(context.Background(), cfg, newRecorder()); errs.CodeOf(err) != errs.Unavailable {
			t.Errorf("Dial = %v, want Unavailable", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		t.Parallel()
		_, err := Dial(context.Background(), Config{Password: "far too long", Window: -1}, nil)
		if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "Addr") || !strings.Contains(err.Error(), "Window") || !strings.Contains(err.Error(), "Password") {
			t.Errorf("Dial = %v, want Invalid naming Addr, Password and Window", err)
		}
	})
}

func TestThrottled(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	cfg := testConfig(srv.Addr())
	cfg.ThrottlePause = 200 * time.Millisecond
	s := dial(t, cfg, newRecorder())
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	srv.Throttle(3)
	const n = 30
	var wg sync.WaitGroup
	var retries, failures atomic.Int64
	ids := make([]string, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, r, err := submitRetrying(ctx, s, SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")})
			retries.Add(int64(r))
			if err != nil {
				failures.Add(1)
				t.Errorf("submit %d: %v", i, err)
			}
			ids[i] = res.RawID
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if retries.Load() != 3 || failures.Load() != 0 {
		t.Errorf("%d throttled answers, %d failures; want 3 and 0", retries.Load(), failures.Load())
	}
	if elapsed < cfg.ThrottlePause {
		t.Errorf("all done in %v: the session did not pause for %v after ESME_RTHROTTLED", elapsed, cfg.ThrottlePause)
	}
	accepted := make(map[string]bool)
	for _, sub := range srv.Submitted() {
		accepted[sub.ID] = true
	}
	for i, id := range ids {
		if !accepted[id] {
			t.Errorf("submit %d: id %q not accepted by the SMSC", i, id)
		}
	}
	if len(accepted) != n {
		t.Errorf("SMSC accepted %d, want %d", len(accepted), n)
	}
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	statuses := []data.CommandStatusType{data.ESME_RINVDSTADR, data.ESME_RMSGQFUL, data.ESME_RTHROTTLED, data.ESME_RSYSERR, data.ESME_RINVSRCADR, data.ESME_ROK}
	px := startProxy(t, srv.Addr(), 0, func(n int) data.CommandStatusType {
		if n <= len(statuses) {
			return statuses[n-1]
		}
		return data.ESME_ROK
	})
	cfg := testConfig(px.addr())
	cfg.ThrottlePause = time.Millisecond
	s := dial(t, cfg, newRecorder())
	want := []errs.Code{errs.Unprocessable, errs.RateLimited, errs.RateLimited, errs.Unavailable, errs.Unprocessable, ""}
	for i, st := range statuses {
		_, err := s.Submit(context.Background(), SubmitRequest{From: "12345", To: "+447700900123", ShortMessage: []byte("x")})
		if errs.CodeOf(err) != want[i] {
			t.Errorf("%s: Submit = %v, want code %q", st, err, want[i])
			continue
		}
		var se *StatusError
		if st != data.ESME_ROK && (!errors.As(err, &se) || se.Status != st || !strings.Contains(err.Error(), st.String())) {
			t.Errorf("%s: Submit = %v, want the status named and kept", st, err)
		}
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	for _, window := range []int{1, 4, 16} {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			srv := startSMSC(t, smsc.Config{})
			px := startProxy(t, srv.Addr(), 2*time.Millisecond, nil)
			cfg := testConfig(px.addr())
			cfg.Window = window
			s := dial(t, cfg, newRecorder())
			var wg sync.WaitGroup
			for range 4 * window {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.Submit(context.Background(), SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			// At most Window on the wire, and the window is actually used: Submits are
			// pipelined, not serialised.
			if got := px.maxOutstanding(); got != window {
				t.Errorf("at most %d submit_sm outstanding, want exactly the window %d", got, window)
			}
		})
	}
}

func TestDropConnectionsLosesNothing(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	// Responses are delayed so that submit_sm are surely in flight at the drop.
	px := startProxy(t, srv.Addr(), 200*time.Microsecond, nil)
	s := dial(t, testConfig(px.addr()), newRecorder())
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	const n = 200
	var wg sync.WaitGroup
	var ok, unavailable, other atomic.Int64
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Submit(ctx, SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")})
			switch errs.CodeOf(err) {
			case "":
				ok.Add(1)
				ids[i] = res.RawID
			case errs.Unavailable:
				unavailable.Add(1)
			default:
				other.Add(1)
				t.Errorf("submit %d: %v", i, err)
			}
		}()
	}
	eventually(t, "some submit_sm accepted", func() bool { return len(srv.Submitted()) >= 20 })
	srv.DropConnections()
	wg.Wait()
	t.Logf("%d ok, %d unavailable, %d other", ok.Load(), unavailable.Load(), other.Load())
	if ok.Load()+unavailable.Load() != n || unavailable.Load() == 0 {
		t.Errorf("%d ok + %d unavailable of %d; want every Submit answered once, some of them Unavailable", ok.Load(), unavailable.Load(), n)
	}
	accepted := make(map[string]bool)
	for _, sub := range srv.Submitted() {
		accepted[sub.ID] = true
	}
	for i, id := range ids {
		if id != "" && !accepted[id] {
			t.Errorf("submit %d: id %q not accepted by the SMSC", i, id)
		}
	}
	if _, err := s.Submit(ctx, SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("after")}); err != nil {
		t.Fatalf("Submit after the drop: %v", err)
	}
	if px.connections() < 2 {
		t.Errorf("%d connections; want a rebind", px.connections())
	}
}

func TestKeepaliveDetectsDeadLink(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	px := startProxy(t, srv.Addr(), 0, nil)
	cfg := testConfig(px.addr())
	cfg.EnquireLink, cfg.ResponseTimeout = 20*time.Millisecond, 200*time.Millisecond
	s := dial(t, cfg, newRecorder())
	time.Sleep(100 * time.Millisecond) // several keepalives answered: still the first connection
	if px.connections() != 1 {
		t.Fatalf("%d connections after healthy keepalives, want 1", px.connections())
	}
	px.drop()
	eventually(t, "a rebind", func() bool { return px.connections() >= 2 })
	if _, err := s.Submit(context.Background(), SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}); err != nil {
		t.Fatalf("Submit after rebind: %v", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	s, err := Dial(context.Background(), testConfig(srv.Addr()), newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = s.Submit(context.Background(), SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")})
	if errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("Submit after Close = %v, want Unavailable", err)
	}
}

func TestSubmitContext(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	px := startProxy(t, srv.Addr(), 300*time.Millisecond, nil)
	cfg := testConfig(px.addr())
	cfg.Window = 1
	s := dial(t, cfg, newRecorder())
	req := SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}
	go func() { _, _ = s.Submit(context.Background(), req) }() // holds the only slot for 300ms
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// Had Submit waited for the slot instead of its context, it would have succeeded
	// once the slot freed: the error is the proof, not a wall-clock bound (which a
	// loaded CI machine broke).
	_, err := s.Submit(ctx, req)
	if errs.CodeOf(err) != errs.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Submit with a full window = %v, want a Timeout from its context", err)
	}
}

func TestThroughput(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	cfg := testConfig(srv.Addr())
	cfg.Throughput = 100 // burst of 100, then one every 10ms
	s := dial(t, cfg, newRecorder())
	var wg sync.WaitGroup
	start := time.Now()
	for range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Submit(context.Background(), SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 450*time.Millisecond || d > 3*time.Second {
		t.Errorf("150 submit_sm at 100/s with a burst of 100 took %v, want about 500ms", d)
	}
}

func TestBindTypes(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, smsc.Config{})
	req := SubmitRequest{From: "Catalyst", To: "+447700900123", ShortMessage: []byte("x")}

	cfg := testConfig(srv.Addr())
	cfg.Bind = Receiver
	rx := dial(t, cfg, newRecorder())
	if _, err := rx.Submit(context.Background(), req); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("Submit on a receiver = %v, want Invalid", err)
	}

	cfg.Bind = Transmitter
	tx := dial(t, cfg, nil)
	if _, err := tx.Submit(context.Background(), req); err != nil {
		t.Errorf("Submit on a transmitter: %v", err)
	}

	cfg.Bind = Transceiver
	if _, err := Dial(context.Background(), cfg, nil); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("Dial transceiver without a Handler = %v, want Invalid", err)
	}
}
