package message

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

const msgID = "0b5e8f4c-3a1d-4c1e-9a57-2f0c6d1e7b10"

var now = time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)

func wantCode(t *testing.T, err error, want errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
}

func update() Update {
	return Update{
		TenantID: "acme", MessageID: msgID, Channel: "sms", To: "+15550100",
		Content: json.RawMessage(`{"text":"hi"}`),
		Entry:   Entry{EventID: "ev-1", Type: "io.catalyst.message.requested", Status: Accepted},
	}
}

func TestPrepareUpdateNormalizes(t *testing.T) {
	u := update()
	u.MessageID = "{0B5E8F4C-3A1D-4C1E-9A57-2F0C6D1E7B10}" // a UUID, not in canonical form
	got, err := PrepareUpdate(u, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != msgID {
		t.Errorf("message id %q, want %q", got.MessageID, msgID)
	}
	if want := now.Truncate(time.Microsecond); got.Entry.At != want {
		t.Errorf("zero entry time became %v, want %v", got.Entry.At, want)
	}

	u = update()
	at := time.Date(2026, 1, 1, 9, 0, 0, 1500, time.FixedZone("UTC-5", -5*60*60))
	u.Entry.At = at
	if got, err = PrepareUpdate(u, now); err != nil {
		t.Fatal(err)
	}
	if want := at.UTC().Truncate(time.Microsecond); got.Entry.At != want {
		t.Errorf("entry time %v, want %v", got.Entry.At, want)
	}
}

func TestPrepareUpdateInvalid(t *testing.T) {
	for name, change := range map[string]func(*Update){
		"empty tenant":     func(u *Update) { u.TenantID = "" },
		"message id":       func(u *Update) { u.MessageID = "msg-1" },
		"empty message id": func(u *Update) { u.MessageID = "" },
		"empty event id":   func(u *Update) { u.Entry.EventID = "" },
		"empty status":     func(u *Update) { u.Entry.Status = "" },
		"unknown status":   func(u *Update) { u.Entry.Status = "bounced" },
		"content not JSON": func(u *Update) { u.Content = json.RawMessage(`{"text":`) },
		"detail not JSON":  func(u *Update) { u.Entry.Detail = json.RawMessage(`nope`) },
	} {
		t.Run(name, func(t *testing.T) {
			u := update()
			change(&u)
			_, err := PrepareUpdate(u, now)
			wantCode(t, err, errs.Invalid)
		})
	}
}

func TestPrepareUpdateStatuses(t *testing.T) {
	for s := range rank {
		u := update()
		u.Entry.Status = s
		if _, err := PrepareUpdate(u, now); err != nil {
			t.Errorf("status %q: %v", s, err)
		}
	}
}
