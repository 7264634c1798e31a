package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
)

// maxEventBytes is the largest event body the ingress accepts (and the largest reply
// read from a subscriber). Kafka's default message.max.bytes is about 1 MiB.
const maxEventBytes = 1 << 20

// ServeHTTP is the broker ingress, POST /{namespace}/{broker}, in the order of
// Knative's ingress handler with the credential checks added: method → path → broker
// lookup → credential (401) → size → decode → validate → who may post this type and
// tenant (403) → store. Each failure has its own status and a message saying what is
// wrong; nothing invalid or unauthorised reaches Kafka.
func (r *Runtime) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	refused := r.ingest(w, req)
	status := http.StatusAccepted
	if refused != nil {
		status = refused.status
	}
	r.metrics.ingress.WithLabelValues(r.brokerLabel(req), strconv.Itoa(status)).Inc()
	if refused == nil {
		w.WriteHeader(status)
		return
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="catalyst-broker"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(refused)
}

// refusal is an answer other than 202: its status, and the JSON body every error
// answer has, {"error": "...", "fields": [...]} (fields only when the catalogue named them).
type refusal struct {
	status  int
	Message string                `json:"error"`
	Fields  []errs.FieldViolation `json:"fields,omitempty"`
}

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, Message: fmt.Sprintf(format, args...)}
}

// refuseErr answers a coded error with its status, message and fields.
func refuseErr(e *errs.Error) *refusal {
	return &refusal{status: errs.Status(e), Message: e.Message, Fields: e.Fields}
}

// brokerLabel names the broker for metrics; any path that is not a broker counts as
// "unknown", so stray requests cannot grow the label set.
func (r *Runtime) brokerLabel(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(parts) == 2 {
		if _, ok := r.brokerTopics[manifest.Key{Namespace: parts[0], Name: parts[1]}]; ok {
			return parts[0] + "/" + parts[1]
		}
	}
	return "unknown"
}

func (r *Runtime) ingest(w http.ResponseWriter, req *http.Request) *refusal {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return refuse(http.StatusMethodNotAllowed, "only POST is accepted")
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(parts) != 2 {
		return refuse(http.StatusNotFound, "path must be /{namespace}/{broker}")
	}
	key := manifest.Key{Namespace: parts[0], Name: parts[1]}
	topic, ok := r.brokerTopics[key]
	if !ok {
		return refuse(http.StatusNotFound, "broker %s not found", key)
	}
	who, aerr := r.opts.Ingress.authenticate(req.Context(), req)
	if aerr != nil {
		return r.refuseAuth(key, nil, aerr)
	}
	if req.ContentLength > maxEventBytes {
		return refuse(http.StatusRequestEntityTooLarge, "event larger than %d bytes", maxEventBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(http.StatusRequestEntityTooLarge, "event larger than %d bytes", maxEventBytes)
		}
		return refuse(http.StatusBadRequest, "read body: %v", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	msg := cehttp.NewMessageFromHttpRequest(req)
	switch msg.ReadEncoding() {
	case binding.EncodingUnknown:
		return refuse(http.StatusBadRequest, "not a CloudEvent: want ce-specversion and the other ce- headers (binary mode) or Content-Type application/cloudevents+json (structured mode)")
	case binding.EncodingBatch:
		return refuse(http.StatusBadRequest, "batched CloudEvents are not accepted; post one event per request")
	}
	e, err := binding.ToEvent(req.Context(), msg)
	if err != nil {
		return refuse(http.StatusBadRequest, "malformed CloudEvent: %v", err)
	}
	if err := e.Validate(); err != nil {
		return refuse(http.StatusBadRequest, "invalid CloudEvent: %v", err)
	}
	if aerr := who.authorize(e); aerr != nil {
		return r.refuseAuth(key, e, aerr)
	}
	rec, err := toRecord(topic, e)
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid CloudEvent: %v", err)
	}
	if err := r.kafka.produce(req.Context(), rec); err != nil {
		r.log.Error("ingress could not store event", "broker", key.String(), "id", e.ID(), "error", err)
		return refuse(http.StatusServiceUnavailable, "event not stored; retry")
	}
	return nil
}

// refuseAuth answers a credential or permission failure and logs it: a refused
// platform type is how a forgery shows, a store failure is the operator's to fix.
func (r *Runtime) refuseAuth(key manifest.Key, e *event.Event, err *errs.Error) *refusal {
	attrs := []any{"broker", key.String(), "code", err.Code, "reason", err.Error()}
	if e != nil {
		attrs = append(attrs, "id", e.ID(), "type", e.Type())
	}
	switch err.Code {
	case errs.Internal, errs.Unavailable:
		// The store's detail stays in the log; the caller may retry.
		r.log.Error("ingress could not check a credential", attrs...)
		return refuse(http.StatusServiceUnavailable, "credential not checked; retry")
	case errs.PermissionDenied:
		r.log.Warn("ingress refused an event", attrs...)
	case errs.Unauthenticated:
		r.log.Info("ingress refused a credential", attrs...)
	}
	return refuseErr(err)
}
