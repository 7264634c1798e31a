package storetest

import (
	"encoding/json"

	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// batchCases hold message.Store.ApplyBatch to Apply's rules: a batch records what
// applying its updates one by one records.
var batchCases = []messageCase{
	{"apply batch records what applying one by one records", func(t *testing.T, e *messageEnv) {
		// The same story twice, for message a by Apply and for message b by
		// ApplyBatch: sent before requested (the requested arrives late and fills the
		// description in), a repeat of the sent, delivered then read, and a repeat
		// inside the batch.
		a, b := uuid.NewString(), uuid.NewString()
		story := func(id string) []message.Update {
			sent := e.event(id, message.Sent)
			req := e.requested(id)
			req.Entry.At = e.clock.Now().Add(-time.Second)
			return []message.Update{sent, req, sent, e.event(id, message.Delivered), e.event(id, message.Read)}
		}
		for _, u := range story(a) {
			e.apply(t, u)
		}
		bs := story(b)
		if err := e.s.ApplyBatch(e.ctx, append(bs, bs[3])); err != nil {
			t.Fatalf("ApplyBatch: %v", err)
		}
		ma, mb := e.get(t, a), e.get(t, b)
		if mb.Status != message.Read || mb.To != "+447700900123" || mb.AcceptedAt == nil || mb.FinishedAt == nil {
			t.Fatalf("batched message %+v", mb)
		}
		wantHistory(t, mb, bs[0].Entry.EventID, bs[1].Entry.EventID, bs[3].Entry.EventID, bs[4].Entry.EventID)
		ma.ID, ma.History, mb.History = mb.ID, nil, nil
		got, _ := json.Marshal(mb)
		want, _ := json.Marshal(ma)
		if string(got) != string(want) {
			t.Errorf("batched record\n%s\nwant (one by one)\n%s", got, want)
		}
	}},
	{"apply batch spans messages and tenants, and repeats a batch as nothing", func(t *testing.T, e *messageEnv) {
		other := &messageEnv{s: e.s, clock: e.clock, ctx: e.ctx, tenant: newID("tenant")}
		var us []message.Update
		ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		for _, id := range ids {
			us = append(us, e.requested(id), other.requested(id), e.event(id, message.Sent))
		}
		for range 2 {
			if err := e.s.ApplyBatch(e.ctx, us); err != nil {
				t.Fatalf("ApplyBatch: %v", err)
			}
		}
		for i, id := range ids {
			wantHistory(t, e.get(t, id), us[3*i].Entry.EventID, us[3*i+2].Entry.EventID)
			wantHistory(t, other.get(t, id), us[3*i+1].Entry.EventID)
			if m := e.get(t, id); m.Status != message.Sent {
				t.Errorf("message %s: %s, want sent", id, m.Status)
			}
		}
	}},
	{"apply batch refuses a bad update and records nothing", func(t *testing.T, e *messageEnv) {
		good := e.requested(uuid.NewString())
		bad := e.event(uuid.NewString(), "lost")
		if err := e.s.ApplyBatch(e.ctx, []message.Update{good, bad}); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("ApplyBatch with a bad update: %v, want Invalid", err)
		}
		if _, err := e.s.Get(e.ctx, e.tenant, good.MessageID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("the good update of a refused batch was recorded: %v", err)
		}
	}},
	{"concurrent batches over the same messages record every event once", func(t *testing.T, e *messageEnv) {
		ids := make([]string, 8)
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		var wg sync.WaitGroup
		batches := make([][]message.Update, 6)
		for b := range batches {
			for i := range ids { // each batch in another order
				id := ids[(i+b)%len(ids)]
				batches[b] = append(batches[b], e.event(id, []message.Status{message.Accepted, message.Sent, message.Delivered}[b%3]))
			}
		}
		errsOut := make([]error, len(batches))
		for b := range batches {
			wg.Go(func() { errsOut[b] = e.s.ApplyBatch(e.ctx, batches[b]) })
		}
		wg.Wait()
		for b, err := range errsOut {
			if err != nil {
				t.Fatalf("batch %d: %v", b, err)
			}
		}
		for _, id := range ids {
			m := e.get(t, id)
			if len(m.History) != len(batches) || m.Status != message.Delivered {
				t.Errorf("message %s: %d entries, status %s; want %d and delivered", id, len(m.History), m.Status, len(batches))
			}
		}
	}},
}
