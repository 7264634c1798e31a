package catalog

import "time"

// MessageInboundType is emitted when someone sends a message to one of a tenant's
// numbers or accounts. It starts a new message (with a fresh message id), so the
// message record keeps inbound and outbound traffic alike.
const MessageInboundType = "io.catalyst.message.inbound"

// MessageInbound is the data of io.catalyst.message.inbound.
type MessageInbound struct {
	MessageRef
	From       string    `json:"from" jsonschema:"minLength=1" jsonschema_description:"The sender: an E.164 number, or the channel's user id."`
	To         string    `json:"to" jsonschema:"minLength=1" jsonschema_description:"The tenant's number, short code or account that received it."`
	Content    Content   `json:"content" jsonschema_description:"What the sender sent."`
	ReceivedAt time.Time `json:"received_at" jsonschema_description:"When the provider received it."`
	// SMS concatenation: the connector reassembles a long SMS before it emits it.
	Parts        int   `json:"parts,omitempty" jsonschema:"minimum=1,maximum=255" jsonschema_description:"SMS: how many parts the text was reassembled from (absent for one)."`
	Partial      bool  `json:"partial,omitempty" jsonschema_description:"SMS: true when parts of a concatenated SMS never arrived within the carrier's mo_part_timeout; content.text holds the parts that did, in order, and missing_parts the rest (absent when whole)."`
	MissingParts []int `json:"missing_parts,omitempty" jsonschema:"minItems=1,uniqueItems=true" jsonschema_description:"SMS: the sequence numbers (from 1) of the parts that never arrived, when partial."`
}
