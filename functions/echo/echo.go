// Package echo is the diagnostics function: it answers io.catalyst.diagnostics.ping
// with io.catalyst.diagnostics.pong, carrying the same data and routing extensions, so
// an operator (or a smoke test, or the pipeline benchmark) can prove the whole path
// ingress → Kafka → trigger → function → reply → broker works.
package echo

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Event types.
const (
	PingType = "io.catalyst.diagnostics.ping"
	PongType = "io.catalyst.diagnostics.pong"
	Source   = "/catalyst/functions/echo"
)

// routingExtensions are copied from the ping so the pong stays with its tenant and in
// the same Kafka partition.
var routingExtensions = []string{"tenantid", "channel", "messageid", "partitionkey", "traceparent"}

// Definition registers the function.
func Definition() fn.Definition {
	return fn.Definition{
		Name:        "echo",
		Description: "Answers a diagnostics ping with a pong carrying the same data.",
		Consumes:    []string{PingType},
		Produces:    []string{PongType},
		New:         func(fn.Deps) (fn.Function, error) { return Echo{}, nil },
	}
}

// Echo is stateless.
type Echo struct{}

// Handle replies to a ping with a pong whose subject is the ping's id.
func (Echo) Handle(_ context.Context, in event.Event) (*event.Event, error) {
	if in.Type() != PingType {
		return nil, errs.E(errs.Invalid, "echo handles %s, not %s", PingType, in.Type())
	}
	out := event.New()
	out.SetID(uuid.NewString())
	out.SetType(PongType)
	out.SetSource(Source)
	out.SetSubject(in.ID())
	for _, name := range routingExtensions {
		if v, ok := in.Extensions()[name]; ok {
			out.SetExtension(name, v)
		}
	}
	if data := in.Data(); data != nil {
		if err := out.SetData(in.DataContentType(), data); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "copy ping data")
		}
	}
	return &out, nil
}
