package catalog

import (
	"slices"

	"github.com/invopop/jsonschema"
)

// Channel names a messaging channel. It is its own type so that every schema with a
// channel gets the same enum, and Validate can check the channel extension against it.
type Channel string

// channels is the one list of channels; message_requested.go repeats it in a tag, and
// a test keeps the two equal.
var channels = []string{"sms", "ussd", "whatsapp", "telegram", "messenger", "instagram", "viber", "rcs", "xmpp", "custom"}

// Channels returns the channel names, in catalogue order.
func Channels() []string { return slices.Clone(channels) }

func knownChannel(c string) bool { return slices.Contains(channels, c) }

// JSONSchema makes every channel field an enum of Channels.
func (Channel) JSONSchema() *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, c := range channels {
		s.Enum = append(s.Enum, c)
	}
	return s
}

// DecimalPattern is how money travels in event data: a JSON string, never a number,
// because a float cannot hold 0.1 exactly and a JSON parser may read a number as one.
// At most 18 fractional digits, the precision of the ledger (NUMERIC(38,18)); round
// before emitting. Amounts are decimal.Decimal in Go, which marshals to this form.
const DecimalPattern = `^-?[0-9]+(\.[0-9]{1,18})?$`

// MessageRef identifies the message an event is about. Every message and billing
// event embeds it; Validate checks that it agrees with the event's messageid, tenantid
// and channel extensions.
type MessageRef struct {
	MessageID string  `json:"message_id" jsonschema:"format=uuid" jsonschema_description:"The message's id (a UUID); equal to the messageid and partitionkey extensions."`
	TenantID  string  `json:"tenant_id" jsonschema:"minLength=1" jsonschema_description:"The tenant that owns the message; equal to the tenantid extension."`
	Channel   Channel `json:"channel" jsonschema_description:"The message's channel; equal to the channel extension."`
}
