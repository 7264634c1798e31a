package catalog

import "time"

// MessageDeliveredType is emitted by a channel's DLR handler when the provider reports
// the message delivered to the recipient. Billing commits the reservation on it.
const MessageDeliveredType = "io.catalyst.message.delivered"

// MessageDelivered is the data of io.catalyst.message.delivered.
type MessageDelivered struct {
	MessageRef
	ProviderMessageID string    `json:"provider_message_id,omitempty" jsonschema_description:"The provider's id for the message, when its report carries one."`
	DeliveredAt       time.Time `json:"delivered_at,omitzero" jsonschema_description:"When the provider says the message was delivered, if it says (SMPP receipts carry only minutes); the event time is when Catalyst learnt it."`
}
