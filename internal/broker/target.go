package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
)

const defaultProduceTimeout = 10 * time.Second

// maxErrorBody bounds how much of a failing subscriber's answer is kept for the
// knativeerrordata extension (Knative keeps 1 KiB too).
const maxErrorBody = 1024

// outcome is one delivery attempt's result, in HTTP terms whatever the transport, so
// in-process functions and remote sinks are retried by the same rules.
type outcome struct {
	Status     int
	Reply      *event.Event
	Body       []byte        // the answer, for the dead-letter extensions
	RetryAfter time.Duration // from a Retry-After header, 0 when absent
	Err        error
}

func (o outcome) ok() bool { return o.Err == nil && o.Status >= 200 && o.Status < 300 }

// target is a resolved Destination.
type target interface {
	send(ctx context.Context, e *event.Event) outcome
	// String names the destination for logs and knativeerrordest.
	String() string
}

// functionTarget calls a registered function in-process, as if over HTTP.
type functionTarget struct {
	name    string
	fn      fn.Function
	metrics *fnhttp.Metrics
	log     *slog.Logger
}

func (t *functionTarget) String() string { return "function:" + t.name }

func (t *functionTarget) send(ctx context.Context, e *event.Event) (o outcome) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("function panicked", "function", t.name, "id", e.ID(), "panic", p, "stack", string(debug.Stack()))
			o = outcome{Status: http.StatusInternalServerError, Err: fmt.Errorf("function %s panicked: %v", t.name, p)}
		}
		if t.metrics != nil {
			t.metrics.Observe(t.name, start, o.Reply != nil, o.Err)
		}
	}()
	// The function gets its own copy: it must not see another subscriber's changes.
	reply, err := t.fn.Handle(ctx, e.Clone())
	if err != nil {
		return outcome{Status: errs.Status(err), Body: []byte(err.Error()), Err: err}
	}
	if reply != nil {
		if verr := reply.Validate(); verr != nil {
			err := errs.Wrap(errs.Internal, verr, "function %s replied with an invalid event", t.name)
			return outcome{Status: http.StatusBadGateway, Body: []byte(err.Error()), Err: err}
		}
	}
	return outcome{Status: http.StatusAccepted, Reply: reply}
}

// httpTarget POSTs the event in binary content mode and reads a reply event from the
// response, as Knative's dispatcher does.
type httpTarget struct {
	url    string
	client *http.Client
	token  string // sent as Authorization: Bearer when set (HTTPEmitter's platform token)
	// external marks a uri subscriber (an integrator's webhook): its replies carry
	// no credential, so they are held to externalReply's rule.
	external bool
}

func (t *httpTarget) String() string { return t.url }

func (t *httpTarget) send(ctx context.Context, e *event.Event) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, nil)
	if err != nil {
		return outcome{Status: http.StatusBadRequest, Err: err}
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(e), req); err != nil {
		return outcome{Status: http.StatusInternalServerError, Err: fmt.Errorf("encode request: %w", err)}
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// No answer at all (refused, reset, timeout): retryable, like a 5xx.
		return outcome{Status: http.StatusBadGateway, Err: err}
	}
	defer resp.Body.Close()
	o := outcome{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	if !o.ok() {
		o.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		o.Err = fmt.Errorf("%s answered %d", t.url, resp.StatusCode)
		return o
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEventBytes+1))
	if err != nil {
		return outcome{Status: http.StatusBadGateway, Err: fmt.Errorf("read reply: %w", err)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	msg := cehttp.NewMessageFromHttpResponse(resp)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return o // a plain 2xx: acknowledged without a reply
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err == nil {
		err = reply.Validate()
	}
	if err != nil {
		return outcome{Status: http.StatusBadGateway, Body: body, Err: fmt.Errorf("%s replied with an invalid event: %w", t.url, err)}
	}
	o.Reply = reply
	return o
}

// retryAfter parses a Retry-After header given in seconds or as an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// topicTarget appends the event to a Kafka topic: a broker (replies re-entering it)
// or a Sequence's channel.
type topicTarget struct {
	name  string // e.g. "broker:catalyst/default"
	topic string
	kafka *Kafka
}

func (t *topicTarget) String() string { return t.name }

func (t *topicTarget) send(ctx context.Context, e *event.Event) outcome {
	rec, err := toRecord(t.topic, e)
	if err != nil {
		return outcome{Status: http.StatusBadRequest, Err: err}
	}
	if err := t.kafka.produce(ctx, rec); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, context.Canceled) {
			status = http.StatusRequestTimeout
		}
		return outcome{Status: status, Err: fmt.Errorf("produce to %s: %w", t.topic, err)}
	}
	return outcome{Status: http.StatusAccepted}
}

// HTTPEmitter posts events to a broker's ingress (K_SINK in a Knative pod) in binary
// mode; Emit returns once the ingress has stored the event (2xx).
type HTTPEmitter struct {
	URL    string
	Client *http.Client // nil: a client with a 30s timeout
	// Token is the platform token (CATALYST_PLATFORM_TOKEN), presented as
	// Authorization: Bearer: the ingress stores the platform's own types only with it.
	Token string
}

// Emit posts e; a non-2xx answer is an error with the status's errs code.
func (h *HTTPEmitter) Emit(ctx context.Context, e event.Event) error {
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	o := (&httpTarget{url: h.URL, client: client, token: h.Token}).send(ctx, &e)
	if o.ok() {
		return nil
	}
	return errs.Wrap(errs.CodeForStatus(o.Status), o.Err, "emit %s to %s", e.Type(), h.URL)
}
