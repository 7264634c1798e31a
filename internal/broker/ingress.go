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
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/catalyst-cpaas/catalyst/internal/manifest"
)

// maxEventBytes is the largest event body the ingress accepts (and the largest reply
// read from a subscriber). Kafka's default message.max.bytes is about 1 MiB.
const maxEventBytes = 1 << 20

// ServeHTTP is the broker ingress, POST /{namespace}/{broker}, in the order of
// Knative's ingress handler: method → path → broker lookup → size → decode →
// validate → store. Each failure has its own status and a message saying what is
// wrong; nothing invalid reaches Kafka.
func (r *Runtime) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	status, msg := r.ingest(w, req)
	r.metrics.ingress.WithLabelValues(r.brokerLabel(req), strconv.Itoa(status)).Inc()
	if status == http.StatusAccepted {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
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

func (r *Runtime) ingest(w http.ResponseWriter, req *http.Request) (int, string) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, "only POST is accepted"
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(parts) != 2 {
		return http.StatusNotFound, "path must be /{namespace}/{broker}"
	}
	key := manifest.Key{Namespace: parts[0], Name: parts[1]}
	topic, ok := r.brokerTopics[key]
	if !ok {
		return http.StatusNotFound, fmt.Sprintf("broker %s not found", key)
	}
	if req.ContentLength > maxEventBytes {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("event larger than %d bytes", maxEventBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("event larger than %d bytes", maxEventBytes)
		}
		return http.StatusBadRequest, "read body: " + err.Error()
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	msg := cehttp.NewMessageFromHttpRequest(req)
	switch msg.ReadEncoding() {
	case binding.EncodingUnknown:
		return http.StatusBadRequest, "not a CloudEvent: want ce-specversion and the other ce- headers (binary mode) or Content-Type application/cloudevents+json (structured mode)"
	case binding.EncodingBatch:
		return http.StatusBadRequest, "batched CloudEvents are not accepted; post one event per request"
	}
	e, err := binding.ToEvent(req.Context(), msg)
	if err != nil {
		return http.StatusBadRequest, "malformed CloudEvent: " + err.Error()
	}
	if err := e.Validate(); err != nil {
		return http.StatusBadRequest, "invalid CloudEvent: " + err.Error()
	}
	rec, err := toRecord(topic, e)
	if err != nil {
		return http.StatusBadRequest, "invalid CloudEvent: " + err.Error()
	}
	if err := r.kafka.produce(req.Context(), rec); err != nil {
		r.log.Error("ingress could not store event", "broker", key.String(), "id", e.ID(), "error", err)
		return http.StatusServiceUnavailable, "event not stored; retry"
	}
	return http.StatusAccepted, ""
}
