// Package fnhttp serves one Catalyst function over CloudEvents HTTP, exactly as a
// Knative Service pod does: the broker's filter POSTs each event to / (binary or
// structured content mode), the reply event travels back in the HTTP response, and the
// status code tells Knative whether to retry or dead-letter (see errs.Retryable). This is
// what `catalyst function NAME` runs on $PORT.
package fnhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/httpserver"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is unset. It is
// generous for events (Kafka's default message limit is 1 MB) yet keeps a bad producer
// from exhausting the pod's memory.
const DefaultMaxBodyBytes int64 = 4 << 20

// DefaultDrainTimeout is Knative's default termination grace period: in-flight events
// get this long to finish after SIGTERM before the pod is killed anyway.
const DefaultDrainTimeout = 30 * time.Second

// Options configure the handler and the server serving one function.
type Options struct {
	// Name is the function's name (the Knative Service name); it labels metrics and logs.
	Name     string
	Function fn.Function
	// Logger is injected so tests and the CLI choose the sink; nil discards.
	Logger *slog.Logger
	// Metrics may be nil: nothing is recorded.
	Metrics *Metrics
	// MaxBodyBytes bounds the request body; larger requests get 413. 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DrainTimeout bounds Server.Run's graceful shutdown; 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// HTTP bounds the server's connections; zero fields take
	// httpserver.FunctionDefaults.
	HTTP httpserver.Config
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	o.HTTP = o.HTTP.Or(httpserver.FunctionDefaults())
	return o
}

type handler struct {
	name    string
	fn      fn.Function
	log     *slog.Logger
	metrics *Metrics
	max     int64
}

// NewHandler returns the event endpoint for one function. It answers every path, since a
// Trigger's subscriber URI may carry one; the health and metrics endpoints live on
// Server. It panics if o.Function is nil, a wiring bug no request could recover from.
func NewHandler(o Options) http.Handler {
	if o.Function == nil {
		panic("fnhttp: Options.Function is nil")
	}
	o = o.withDefaults()
	o.Metrics.init(o.Name)
	return &handler{name: o.Name, fn: o.Function, log: o.Logger, metrics: o.Metrics, max: o.MaxBodyBytes}
}

// ServeHTTP follows Knative's data-plane order: method, decode, validate, call, respond.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method "+r.Method+" not allowed: POST a CloudEvent", http.StatusMethodNotAllowed)
		return
	}
	ev, status, msg := h.decode(w, r)
	if ev == nil {
		code := errs.Invalid
		if status == http.StatusRequestEntityTooLarge {
			code = errs.TooLarge
		}
		h.metrics.count(h.name, false, errs.E(code, "%s", msg))
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "rejected event request",
			slog.String("function", h.name), slog.Int("status", status), slog.String("reason", withoutData(msg)))
		http.Error(w, msg, status)
		return
	}

	start := time.Now()
	reply, err := h.call(r.Context(), *ev)
	if err == nil && reply != nil {
		if verr := reply.Validate(); verr != nil {
			err = errs.E(errs.Internal, "function %s replied with an invalid event: %s", h.name, describe(verr))
		}
	}
	h.metrics.Observe(h.name, start, reply != nil, err)

	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "function failed",
			slog.String("function", h.name), slog.String("event_id", ev.ID()), slog.String("event_type", ev.Type()),
			slog.String("code", string(errs.CodeOf(err))), slog.String("error", err.Error()))
		writeError(w, err)
		return
	}
	if reply == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// Binary mode: Knative's filter reads the reply from the response headers and body
	// and re-publishes it to the broker.
	if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(reply), http.StatusOK, w); err != nil {
		// Headers may be out already; all that is left is to say so.
		h.log.LogAttrs(r.Context(), slog.LevelError, "writing reply failed",
			slog.String("function", h.name), slog.String("event_id", ev.ID()), slog.String("error", err.Error()))
	}
}

// decode reads one CloudEvent from r. On failure it returns a nil event, the status to
// answer with and a message specific enough for the producer to fix its request.
func (h *handler) decode(w http.ResponseWriter, r *http.Request) (*event.Event, int, string) {
	if r.ContentLength > h.max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, h.max)
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.max)
	msg := cehttp.NewMessageFromHttpRequest(r)
	switch msg.ReadEncoding() {
	case binding.EncodingBatch:
		return nil, http.StatusBadRequest, "batched content mode (" + event.ApplicationCloudEventsBatchJSON + ") is not supported: send one event per request"
	case binding.EncodingUnknown:
		return nil, http.StatusBadRequest, unknownEncoding(r.Header)
	}
	ev, err := binding.ToEvent(r.Context(), msg)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", tooLarge.Limit)
		}
		return nil, http.StatusBadRequest, "malformed CloudEvent: " + describe(err)
	}
	if err := ev.Validate(); err != nil {
		return nil, http.StatusBadRequest, "invalid CloudEvent: " + describe(err)
	}
	return ev, 0, ""
}

// unknownEncoding explains why a request is neither binary nor structured mode.
func unknownEncoding(h http.Header) string {
	if v := h.Get("Ce-Specversion"); v != "" {
		return fmt.Sprintf("unsupported ce-specversion %q: want %s or %s", v, event.CloudEventsVersionV1, event.CloudEventsVersionV03)
	}
	if ct := h.Get("Content-Type"); format.IsFormat(strings.ToLower(ct)) {
		return fmt.Sprintf("unsupported event format %q: want %s", ct, event.ApplicationCloudEventsJSON)
	}
	return "not a CloudEvent: missing ce-specversion header (binary mode) or Content-Type " +
		event.ApplicationCloudEventsJSON + " (structured mode)"
}

// describe renders an SDK validation error with its attributes sorted, so the message
// is stable and names each missing or invalid attribute.
func describe(err error) string {
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	parts := make([]string, 0, len(ve))
	for attr, e := range ve {
		parts = append(parts, "attribute "+attr+": "+e.Error())
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// withoutData cuts the input excerpt jsoniter appends to parse errors ("error found in
// #10 byte of ...|<data>|..."): the producer may see its own payload, the logs may not.
func withoutData(msg string) string {
	if i := strings.Index(msg, ", error found in #"); i >= 0 {
		return msg[:i]
	}
	return msg
}

// call runs the function, turning a panic into an Internal error so one bad event
// costs a 500 (and a Knative retry) rather than the pod.
func (h *handler) call(ctx context.Context, ev event.Event) (reply *event.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "function panicked",
				slog.String("function", h.name), slog.String("event_id", ev.ID()), slog.String("event_type", ev.Type()),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			reply, err = nil, errs.E(errs.Internal, "function %s panicked", h.name)
		}
	}()
	return h.fn.Handle(ctx, ev)
}

// errorBody is the JSON a failed delivery answers with; Knative copies it into the
// dead-lettered event's knativeerrordata extension, so it says what went wrong.
type errorBody struct {
	Error  string                `json:"error"`
	Code   errs.Code             `json:"code"`
	Fields []errs.FieldViolation `json:"fields,omitempty"`
}

func writeError(w http.ResponseWriter, err error) {
	body := errorBody{Error: err.Error(), Code: errs.CodeOf(err)}
	var e *errs.Error
	if errors.As(err, &e) {
		body.Fields = e.Fields
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(errs.Status(err))
	_ = json.NewEncoder(w).Encode(body) // the client may be gone; nothing to do about it
}
