package deadletter

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// secret is the dead-lettered event's data; it must never reach the log.
const secret = "4111-1111-1111-1111"

func deadEvent(t *testing.T, ext map[string]any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("evt-1")
	e.SetType("io.catalyst.message.requested")
	e.SetSource("/catalyst/api")
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	if err := e.SetData("application/json", map[string]string{"card": secret}); err != nil {
		t.Fatal(err)
	}
	return e
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// handle runs the dead-letter function with a JSON logger and returns the one record
// it logged, decoded, and the raw log text.
func handle(t *testing.T, e event.Event) (map[string]any, string) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := Definition().New(fn.Deps{Logger: log})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	reply, err := f.Handle(context.Background(), e)
	if err != nil {
		t.Errorf("Handle returned error %v; a dead-letter sink must ack", err)
	}
	if reply != nil {
		t.Errorf("Handle replied %v; a dead-letter sink must not reply", reply)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	return rec, buf.String()
}

func TestHandleLogs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 600)
	// 511 ASCII bytes then "é" (2 bytes) straddles the 512-byte cut.
	straddle := strings.Repeat("a", 511) + "é" + strings.Repeat("b", 10)
	tests := []struct {
		name       string
		ext        map[string]any
		want       map[string]any // attributes that must be logged with these values
		wantAbsent []string       // attributes that must not be logged
	}{
		{
			name: "full failure from the in-process dispatcher",
			ext: map[string]any{
				ErrorDestExtension: "function:echo", ErrorCodeExtension: int32(503),
				ErrorDataExtension: b64("upstream unavailable"), "tenantid": "tenant-9",
			},
			want: map[string]any{
				"destination": "function:echo", "status": float64(503),
				"answer": "upstream unavailable", "tenantid": "tenant-9",
			},
		},
		{
			name: "extensions as strings, as they arrive over HTTP",
			ext: map[string]any{
				ErrorDestExtension: "http://sink.example/", ErrorCodeExtension: "422",
				ErrorDataExtension: b64(`{"error":"bad msisdn"}`),
			},
			want:       map[string]any{"destination": "http://sink.example/", "status": "422", "answer": `{"error":"bad msisdn"}`},
			wantAbsent: []string{"tenantid"},
		},
		{
			name: "long answer truncated at 512",
			ext:  map[string]any{ErrorDestExtension: "d", ErrorCodeExtension: "500", ErrorDataExtension: b64(long)},
			want: map[string]any{"answer": long[:512] + "…"},
		},
		{
			name: "truncation never splits a rune",
			ext:  map[string]any{ErrorDestExtension: "d", ErrorCodeExtension: "500", ErrorDataExtension: b64(straddle)},
			want: map[string]any{"answer": strings.Repeat("a", 511) + "…"},
		},
		{
			name: "answer exactly 512 is kept whole",
			ext:  map[string]any{ErrorDestExtension: "d", ErrorCodeExtension: "500", ErrorDataExtension: b64(long[:512])},
			want: map[string]any{"answer": long[:512]},
		},
		{
			name:       "undecodable answer is left out",
			ext:        map[string]any{ErrorDestExtension: "d", ErrorCodeExtension: "500", ErrorDataExtension: "%%%not base64"},
			want:       map[string]any{"destination": "d", "status": "500"},
			wantAbsent: []string{"answer"},
		},
		{
			name:       "no knativeerror extensions",
			ext:        nil,
			want:       map[string]any{"destination": nil, "status": nil},
			wantAbsent: []string{"answer", "tenantid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, raw := handle(t, deadEvent(t, tt.ext))
			if rec["level"] != "ERROR" {
				t.Errorf("level = %v, want ERROR", rec["level"])
			}
			if rec["msg"] != "event dead-lettered" {
				t.Errorf("msg = %v, want %q", rec["msg"], "event dead-lettered")
			}
			base := map[string]any{"id": "evt-1", "type": "io.catalyst.message.requested", "source": "/catalyst/api"}
			for _, want := range []map[string]any{base, tt.want} {
				for k, v := range want {
					got, ok := rec[k]
					if !ok {
						t.Errorf("attribute %q not logged; record: %s", k, raw)
						continue
					}
					if got != v {
						t.Errorf("attribute %q = %#v, want %#v", k, got, v)
					}
				}
			}
			for _, k := range tt.wantAbsent {
				if v, ok := rec[k]; ok {
					t.Errorf("attribute %q logged as %#v, want it absent", k, v)
				}
			}
			if strings.Contains(raw, secret) {
				t.Errorf("log contains the event's data %q:\n%s", secret, raw)
			}
			if !utf8.ValidString(raw) {
				t.Errorf("log is not valid UTF-8: %q", raw)
			}
		})
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	t.Parallel()
	f, err := Definition().New(fn.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := f.Handle(context.Background(), deadEvent(t, nil))
	if reply != nil || err != nil {
		t.Errorf("Handle = %v, %v; want nil, nil", reply, err)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 4, ""},
		{"abcd", 4, "abcd"},
		{"abcde", 4, "abcd…"},
		{"abcé", 4, "abc…"}, // é is 2 bytes at offsets 3-4
		{"日本語", 4, "日…"},    // 3-byte runes
		{"日本語", 3, "日…"},
		{"日本語", 2, "…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
