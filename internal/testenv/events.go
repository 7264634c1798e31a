package testenv

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// NewEvent builds a valid event with source /test, the given extensions and JSON data
// {"id": id}.
func NewEvent(id, typ string, ext map[string]string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/test")
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	_ = e.SetData("application/json", map[string]string{"id": id})
	return e
}

// Post sends e to url in binary content mode and returns the HTTP status.
func Post(t testing.TB, url string, e event.Event) int {
	t.Helper()
	return PostAs(t, url, "", e)
}

// PlatformToken is the platform token tests give the broker ingress
// (CATALYST_PLATFORM_TOKEN): PostAs with it may post the platform's own types.
const PlatformToken = "test-platform-token-0123456789abcdef"

// PostAs is Post presenting bearer (an API key or the platform token) in
// Authorization; empty presents nothing.
func PostAs(t testing.TB, url, bearer string, e event.Event) int {
	t.Helper()
	status, _ := PostAnswer(t, url, bearer, e)
	return status
}

// PostAnswer is PostAs that also returns the answer's body (a refusal's reason).
func PostAnswer(t testing.TB, url, bearer string, e event.Event) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer to %s: %v", e.ID(), err)
	}
	return resp.StatusCode, body
}
