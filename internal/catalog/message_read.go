package catalog

import "time"

// MessageReadType is emitted by a channel's DLR handler when the recipient opened the
// message. Only channels with read receipts (WhatsApp, RCS, Messenger, …) emit it; it
// may arrive before delivered, and the message record copes.
const MessageReadType = "io.catalyst.message.read"

// MessageRead is the data of io.catalyst.message.read.
type MessageRead struct {
	MessageRef
	ProviderMessageID string    `json:"provider_message_id,omitempty" jsonschema_description:"The provider's id for the message, when its receipt carries one."`
	ReadAt            time.Time `json:"read_at,omitzero" jsonschema_description:"When the provider says the message was read, if it says."`
}
