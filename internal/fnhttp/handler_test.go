package fnhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// secret is carried as event data in every request; logs must never contain it.
const secret = "s3cr3t-payload"

var inData = `{"msg":"` + secret + `"}`

// binaryRequest builds a binary-mode request; an empty value omits that header.
func binaryRequest(id, typ, source string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(inData))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Ce-Specversion", "1.0")
	for h, v := range map[string]string{"Ce-Id": id, "Ce-Type": typ, "Ce-Source": source} {
		if v != "" {
			r.Header.Set(h, v)
		}
	}
	return r
}

func structuredRequest(contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	return r
}

func structuredEvent(omit string) string {
	attrs := map[string]any{"specversion": "1.0", "id": "s-1", "type": "com.example.in", "source": "/test",
		"datacontenttype": "application/json", "data": json.RawMessage(inData)}
	delete(attrs, omit)
	b, err := json.Marshal(attrs)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// echo replies with an event derived from the input, so the reply proves what was decoded.
func echo(_ context.Context, in event.Event) (*event.Event, error) {
	out := event.New()
	out.SetID("reply-" + in.ID())
	out.SetType(in.Type() + ".reply")
	out.SetSource("/fn/echo")
	if err := out.SetData(in.DataContentType(), in.Data()); err != nil {
		return nil, err
	}
	return &out, nil
}

func fails(err error) fn.HandlerFunc {
	return func(context.Context, event.Event) (*event.Event, error) { return nil, err }
}

// newTestHandler returns a handler for h and the buffer its JSON logs go to.
func newTestHandler(h fn.Function, max int64, m *Metrics) (http.Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	return NewHandler(Options{
		Name:         "echo",
		Function:     h,
		Logger:       slog.New(slog.NewJSONHandler(&logs, nil)),
		Metrics:      m,
		MaxBodyBytes: max,
	}), &logs
}

// assertReply checks a 200 binary-mode reply produced by echo for input id and type.
func assertReply(t *testing.T, res *http.Response, id, typ string) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (binary mode)", ct)
	}
	for h, want := range map[string]string{"Ce-Id": "reply-" + id, "Ce-Type": typ + ".reply", "Ce-Source": "/fn/echo", "Ce-Specversion": "1.0"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	got, err := cehttp.NewEventFromHTTPResponse(res)
	if err != nil {
		t.Fatalf("decoding reply: %v", err)
	}
	if string(got.Data()) != inData {
		t.Errorf("reply data = %q, want %q", got.Data(), inData)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	unavailable := errs.E(errs.Unavailable, "store down")
	invalid := &errs.Error{Code: errs.Invalid, Message: "bad number", Fields: []errs.FieldViolation{{Field: "data.to", Reason: "not E.164"}}}
	tests := []struct {
		name string
		// handle nil means the request must be rejected before the function runs.
		handle     fn.HandlerFunc
		max        int64
		req        func() *http.Request
		wantStatus int
		// wantBody is a substring of a plain-text body, or of the JSON "error" field
		// when wantCode is set.
		wantBody string
		wantCode errs.Code
		// wantLog lists substrings the log must contain.
		wantLog []string
		check   func(t *testing.T, res *http.Response)
	}{
		{
			name: "binary reply", handle: echo, wantStatus: http.StatusOK,
			req:   func() *http.Request { return binaryRequest("b-1", "com.example.in", "/test") },
			check: func(t *testing.T, res *http.Response) { assertReply(t, res, "b-1", "com.example.in") },
		},
		{
			name: "structured reply", handle: echo, wantStatus: http.StatusOK,
			req:   func() *http.Request { return structuredRequest(event.ApplicationCloudEventsJSON, structuredEvent("")) },
			check: func(t *testing.T, res *http.Response) { assertReply(t, res, "s-1", "com.example.in") },
		},
		{
			name: "structured with charset", handle: echo, wantStatus: http.StatusOK,
			req: func() *http.Request {
				return structuredRequest(event.ApplicationCloudEventsJSON+"; charset=utf-8", structuredEvent(""))
			},
			check: func(t *testing.T, res *http.Response) { assertReply(t, res, "s-1", "com.example.in") },
		},
		{
			name: "any path", handle: echo, wantStatus: http.StatusOK,
			req: func() *http.Request {
				r := binaryRequest("p-1", "com.example.in", "/test")
				r.URL.Path = "/events"
				return r
			},
			check: func(t *testing.T, res *http.Response) { assertReply(t, res, "p-1", "com.example.in") },
		},
		{
			name: "no reply", wantStatus: http.StatusAccepted,
			handle: func(context.Context, event.Event) (*event.Event, error) { return nil, nil },
			req:    func() *http.Request { return binaryRequest("b-1", "com.example.in", "/test") },
			check: func(t *testing.T, res *http.Response) {
				b, _ := io.ReadAll(res.Body)
				if res.Header.Get("Ce-Id") != "" || len(b) != 0 {
					t.Errorf("202 carries an event: Ce-Id %q, body %q", res.Header.Get("Ce-Id"), b)
				}
			},
		},
		{
			name: "invalid error", handle: fails(invalid), wantStatus: http.StatusBadRequest, wantCode: errs.Invalid,
			wantBody: "bad number", wantLog: []string{`"function":"echo"`, `"event_id":"e-7"`, `"event_type":"com.example.in"`, "bad number", `"level":"WARN"`},
			req: func() *http.Request { return binaryRequest("e-7", "com.example.in", "/test") },
			check: func(t *testing.T, res *http.Response) {
				var body errorBody
				if err := json.NewDecoder(res.Body).Decode(&body); err != nil || len(body.Fields) != 1 || body.Fields[0] != invalid.Fields[0] {
					t.Errorf("fields = %+v (%v), want %+v", body.Fields, err, invalid.Fields)
				}
			},
		},
		{
			name: "unavailable error", handle: fails(unavailable), wantStatus: http.StatusServiceUnavailable, wantCode: errs.Unavailable,
			wantBody: "store down", req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "/test") },
		},
		{
			name: "wrapped not found", handle: fails(fmt.Errorf("lookup: %w", errs.E(errs.NotFound, "no such number"))),
			wantStatus: http.StatusNotFound, wantCode: errs.NotFound, wantBody: "lookup: no such number",
			req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "/test") },
		},
		{
			name: "plain error", handle: fails(errors.New("disk on fire")), wantStatus: http.StatusInternalServerError,
			wantCode: errs.Internal, wantBody: "disk on fire",
			req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "/test") },
		},
		{
			name: "panic", wantStatus: http.StatusInternalServerError, wantCode: errs.Internal, wantBody: "echo panicked",
			handle:  func(context.Context, event.Event) (*event.Event, error) { panic("boom") },
			wantLog: []string{"function panicked", `"panic":"boom"`, "goroutine", "handler_test.go", `"event_id":"e-9"`},
			req:     func() *http.Request { return binaryRequest("e-9", "com.example.in", "/test") },
		},
		{
			name: "invalid reply", wantStatus: http.StatusInternalServerError, wantCode: errs.Internal, wantBody: "attribute id",
			handle: func(context.Context, event.Event) (*event.Event, error) {
				out := event.New()
				out.SetType("t")
				out.SetSource("/s")
				return &out, nil
			},
			req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "/test") },
		},
		{
			name: "GET", wantStatus: http.StatusMethodNotAllowed, wantBody: "method GET not allowed",
			req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) },
			check: func(t *testing.T, res *http.Response) {
				if a := res.Header.Get("Allow"); a != http.MethodPost {
					t.Errorf("Allow = %q, want POST", a)
				}
			},
		},
		{
			name: "too large by content-length", max: 8, wantStatus: http.StatusRequestEntityTooLarge, wantBody: "exceeds the limit of 8",
			req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "/test") },
		},
		{
			name: "too large chunked", max: 8, wantStatus: http.StatusRequestEntityTooLarge, wantBody: "exceeds the limit of 8",
			req: func() *http.Request {
				r := binaryRequest("e-1", "com.example.in", "/test")
				r.ContentLength = -1 // unknown length: only MaxBytesReader can catch it
				return r
			},
		},
		{
			name: "too large structured chunked", max: 8, wantStatus: http.StatusRequestEntityTooLarge, wantBody: "exceeds the limit of 8",
			req: func() *http.Request {
				r := structuredRequest(event.ApplicationCloudEventsJSON, structuredEvent(""))
				r.ContentLength = -1
				return r
			},
		},
		{
			name: "binary missing id", wantStatus: http.StatusBadRequest, wantBody: "invalid CloudEvent: attribute id:",
			wantLog: []string{"rejected event request", "attribute id"},
			req:     func() *http.Request { return binaryRequest("", "com.example.in", "/test") },
		},
		{
			name: "binary missing type", wantStatus: http.StatusBadRequest, wantBody: "invalid CloudEvent: attribute type:",
			req: func() *http.Request { return binaryRequest("e-1", "", "/test") },
		},
		{
			name: "binary missing source", wantStatus: http.StatusBadRequest, wantBody: "invalid CloudEvent: attribute source:",
			req: func() *http.Request { return binaryRequest("e-1", "com.example.in", "") },
		},
		{
			name: "binary missing specversion", wantStatus: http.StatusBadRequest, wantBody: "missing ce-specversion header",
			req: func() *http.Request {
				r := binaryRequest("e-1", "com.example.in", "/test")
				r.Header.Del("Ce-Specversion")
				return r
			},
		},
		{
			name: "binary unknown specversion", wantStatus: http.StatusBadRequest, wantBody: `unsupported ce-specversion "2.0"`,
			req: func() *http.Request {
				r := binaryRequest("e-1", "com.example.in", "/test")
				r.Header.Set("Ce-Specversion", "2.0")
				return r
			},
		},
		{
			name: "structured missing id", wantStatus: http.StatusBadRequest, wantBody: "invalid CloudEvent: attribute id:",
			req: func() *http.Request {
				return structuredRequest(event.ApplicationCloudEventsJSON, structuredEvent("id"))
			},
		},
		{
			name: "structured missing specversion", wantStatus: http.StatusBadRequest, wantBody: "attribute specversion:",
			req: func() *http.Request {
				return structuredRequest(event.ApplicationCloudEventsJSON, structuredEvent("specversion"))
			},
		},
		{
			name: "structured malformed JSON", wantStatus: http.StatusBadRequest, wantBody: "malformed CloudEvent:",
			req: func() *http.Request { return structuredRequest(event.ApplicationCloudEventsJSON, `{"id": `) },
		},
		{
			// jsoniter quotes the input in this error; the body may, the log may not.
			name: "structured data not matching its content type", wantStatus: http.StatusBadRequest,
			wantBody: "expected a string", wantLog: []string{"rejected event request", "expected a string"},
			req: func() *http.Request {
				return structuredRequest(event.ApplicationCloudEventsJSON, strings.Replace(structuredEvent(""), "application/json", "text/plain", 1))
			},
		},
		{
			name: "unknown structured format", wantStatus: http.StatusBadRequest, wantBody: `unsupported event format "application/cloudevents+avro"`,
			req: func() *http.Request { return structuredRequest("application/cloudevents+avro", structuredEvent("")) },
		},
		{
			name: "batched", wantStatus: http.StatusBadRequest, wantBody: "batched content mode",
			req: func() *http.Request {
				return structuredRequest(event.ApplicationCloudEventsBatchJSON, "["+structuredEvent("")+"]")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			handle := tt.handle
			if handle == nil {
				handle = func(context.Context, event.Event) (*event.Event, error) {
					t.Error("Handle called for a request that should have been rejected")
					return nil, nil
				}
			}
			h, logs := newTestHandler(handle, tt.max, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req())
			res := rec.Result()

			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %q", res.StatusCode, tt.wantStatus, rec.Body.String())
			}
			body := rec.Body.String()
			if tt.wantCode != "" {
				var eb errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
					t.Fatalf("error body %q is not JSON: %v", body, err)
				}
				if eb.Code != tt.wantCode {
					t.Errorf("code = %q, want %q", eb.Code, tt.wantCode)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				body = eb.Error
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log does not contain %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log contains event data:\n%s", logs)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestHandlerPassesRequestContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	var got any
	h, _ := newTestHandler(fn.HandlerFunc(func(ctx context.Context, _ event.Event) (*event.Event, error) {
		got = ctx.Value(key{})
		return nil, nil
	}), 0, nil)
	r := binaryRequest("e-1", "com.example.in", "/test")
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithValue(r.Context(), key{}, "v")))
	if got != "v" {
		t.Errorf("Handle's ctx value = %v, want the request context's", got)
	}
}

func TestNewHandlerNilFunction(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewHandler accepted a nil Function")
		}
	}()
	NewHandler(Options{Name: "x"})
}

// BenchmarkHandler measures the per-event cost of the HTTP boundary (decode, call,
// metrics, binary reply) without the network, reported as events/s.
func BenchmarkHandler(b *testing.B) {
	h, _ := newTestHandler(fn.HandlerFunc(echo), 0, NewMetrics(prometheus.NewRegistry()))
	body := []byte(inData)
	n := 0
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Ce-Specversion", "1.0")
		r.Header.Set("Ce-Id", "b-1")
		r.Header.Set("Ce-Type", "com.example.in")
		r.Header.Set("Ce-Source", "/bench")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
