// Package deadletter is the broker's default dead-letter sink: it receives events that
// exhausted their retries (or were rejected outright) and records why, from the
// knativeerror* extensions Knative's dispatcher adds, so an operator sees every loss
// in logs and metrics instead of it vanishing.
package deadletter

import (
	"context"
	"encoding/base64"
	"log/slog"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Extensions set on a dead-lettered event (Knative's names).
const (
	ErrorCodeExtension = "knativeerrorcode"
	ErrorDestExtension = "knativeerrordest"
	ErrorDataExtension = "knativeerrordata"
)

// Definition registers the function.
func Definition() fn.Definition {
	return fn.Definition{
		Name:        "dead-letter",
		Description: "Records events that could not be delivered, with the failing destination and answer.",
		New: func(d fn.Deps) (fn.Function, error) {
			log := d.Logger
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			return &DeadLetter{log: log}, nil
		},
	}
}

// DeadLetter logs each dead-lettered event at error level; it never replies.
type DeadLetter struct {
	log *slog.Logger
}

// Handle records the event's identity and failure; the event's data is not logged, as
// it may hold personal data.
func (d *DeadLetter) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	ext := e.Extensions()
	attrs := []any{
		slog.String("id", e.ID()), slog.String("type", e.Type()), slog.String("source", e.Source()),
		slog.Any("destination", ext[ErrorDestExtension]), slog.Any("status", ext[ErrorCodeExtension]),
	}
	if tenant, ok := ext["tenantid"]; ok {
		attrs = append(attrs, slog.Any("tenantid", tenant))
	}
	if data, ok := ext[ErrorDataExtension].(string); ok {
		if answer, err := base64.StdEncoding.DecodeString(data); err == nil {
			attrs = append(attrs, slog.String("answer", truncate(string(answer), 512)))
		}
	}
	d.log.ErrorContext(ctx, "event dead-lettered", attrs...)
	return nil, nil
}

// truncate cuts s to at most n bytes, backing off to a rune boundary so a multi-byte
// character is never split into invalid UTF-8, and marks the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
