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
}
