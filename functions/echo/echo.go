// Package echo is the diagnostics function: it answers io.catalyst.diagnostics.ping
// with io.catalyst.diagnostics.pong, carrying the same data and routing extensions, so
// an operator (or a smoke test, or the pipeline benchmark) can prove the whole path
// ingress → Kafka → trigger → function → reply → broker works.
package echo

import (
	"context"

	"encoding/json"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Event types.
const (
	PingType = catalog.DiagnosticsPingType
	PongType = catalog.DiagnosticsPongType
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

// Handle replies to a ping with a pong whose subject is the ping's id. The pong is
// built by the catalogue (dataschema set, validated); its data is the ping's JSON data,
// or null when the ping carried none.
func (Echo) Handle(_ context.Context, in event.Event) (*event.Event, error) {
	if in.Type() != PingType {
		return nil, errs.E(errs.Invalid, "echo handles %s, not %s", PingType, in.Type())
	}
	data := catalog.DiagnosticsData("null")
	if raw := in.Data(); len(raw) > 0 {
		if !json.Valid(raw) {
			return nil, errs.E(errs.Invalid, "ping %s: data is not JSON", in.ID())
		}
		data = raw
	}
	ext := map[string]string{}
	for _, name := range routingExtensions {
		if v, ok := in.Extensions()[name]; ok {
			if s, err := types.ToString(v); err == nil {
				ext[name] = s
			}
		}
	}
	out, err := catalog.New(PongType, Source, data, ext)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "ping %s cannot be answered", in.ID())
	}
	out.SetSubject(in.ID())
	return &out, nil
}
