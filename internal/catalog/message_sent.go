package catalog

// MessageSentType is emitted by a channel sender once the provider or carrier has
// accepted the message. It is not delivery: that comes later, from the DLR handler.
const MessageSentType = "io.catalyst.message.sent"

// MessageSent is the data of io.catalyst.message.sent.
type MessageSent struct {
	MessageRef
	Provider          string `json:"provider" jsonschema:"minLength=1" jsonschema_description:"The provider or carrier connection the message went out through."`
	ProviderMessageID string `json:"provider_message_id" jsonschema:"minLength=1" jsonschema_description:"The provider's id for the message (SMPP message_id, WhatsApp wamid, …): delivery reports refer to it."`
	Parts             int    `json:"parts" jsonschema:"minimum=1" jsonschema_description:"How many parts (SMS segments) were sent; billing commits per part."`
}
