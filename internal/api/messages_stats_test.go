package api

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/message"
)

// deliver records, straight into the store, a message of tenantID accepted now (on
// the test clock) and delivered latency later.
func (a *testAPI) deliver(t *testing.T, tenantID string, latency time.Duration) {
	t.Helper()
	id := uuid.NewString()
	ctx := context.Background()
	_, err := a.db.Messages().Apply(ctx, message.Update{TenantID: tenantID, MessageID: id, Channel: "sms", To: "+447911123456",
		Entry: message.Entry{EventID: uuid.NewString(), Type: message.RequestedType, Status: message.Accepted, At: *a.now}})
	if err != nil {
		t.Fatal(err)
	}
	*a.now = a.now.Add(latency)
	_, err = a.db.Messages().Apply(ctx, message.Update{TenantID: tenantID, MessageID: id,
		Entry: message.Entry{EventID: uuid.NewString(), Type: "io.catalyst.message.delivered", Status: message.Delivered}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMessageStats(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme, globex := a.createTenant(t, "acme"), a.createTenant(t, "globex")
	since := a.now.Format(time.RFC3339)
	a.deliver(t, acme.id, 1500*time.Millisecond)
	a.deliver(t, acme.id, 250*time.Millisecond)
	a.deliver(t, acme.id, 2*time.Second+500*time.Microsecond)
	if status, _, body := a.do(t, "POST", "/api/v1/messages", acme.key, sms("hello")); status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, body)
	}
	a.record(t)

	status, _, body := a.do(t, "GET", "/api/v1/messages/stats?since="+since, acme.key, nil)
	want := map[string]any{
		"since": "2026-11-26T12:00:00Z", "total": 4.0,
		"by_status": map[string]any{"accepted": 1.0, "delivered": 3.0},
		"latency": map[string]any{"count": 3.0, "p50_ms": 1500.0, "p95_ms": 2000.5, "p99_ms": 2000.5,
			"max_ms": 2000.5, "mean_ms": 1250.167},
	}
	if status != http.StatusOK || !reflect.DeepEqual(body, want) {
		t.Fatalf("acme's stats: %d\n%v\nwant\n%v", status, body, want)
	}

	until := a.now.Add(-time.Second).Format(time.RFC3339) // before the API's message was created
	status, _, body = a.do(t, "GET", "/api/v1/messages/stats?since="+since+"&until="+until, acme.key, nil)
	if status != http.StatusOK || body["until"] != until || body["total"] != 3.0 {
		t.Fatalf("acme's stats until %s: %d %v", until, status, body)
	}

	status, _, body = a.do(t, "GET", "/api/v1/messages/stats?since="+since, globex.key, nil)
	want = map[string]any{
		"since": "2026-11-26T12:00:00Z", "total": 0.0, "by_status": map[string]any{},
		"latency": map[string]any{"count": 0.0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0},
	}
	if status != http.StatusOK || !reflect.DeepEqual(body, want) {
		t.Fatalf("globex's stats: %d %v, want %v", status, body, want)
	}
}

func TestMessageStatsRejectsBadParameters(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t)
	acme := a.createTenant(t, "acme")
	for _, c := range []struct {
		name, query string
		token       string
		want        int
		fields      []string
	}{
		{"no key", "?since=2026-11-26T12:00:00Z", "", http.StatusUnauthorized, nil},
		{"no since", "", acme.key, http.StatusBadRequest, []string{"since"}}, // not GET /messages/{id}
		{"malformed", "?since=yesterday&until=2026", acme.key, http.StatusBadRequest, []string{"since", "until"}},
		{"no since, bad until", "?until=soon", acme.key, http.StatusBadRequest, []string{"since", "until"}},
		{"until before since", "?since=2026-11-26T12:00:00Z&until=2026-11-26T11:00:00Z", acme.key, http.StatusBadRequest, []string{"until"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := a.do(t, "GET", "/api/v1/messages/stats"+c.query, c.token, nil)
			if status != c.want {
				t.Fatalf("status %d, want %d: %v", status, c.want, body)
			}
			got := fieldsOf(body)
			if len(got) != len(c.fields) {
				t.Errorf("fields %v, want %v", got, c.fields)
			}
			for _, f := range c.fields {
				if !got[f] {
					t.Errorf("fields %v lack %s", got, f)
				}
			}
		})
	}
}
