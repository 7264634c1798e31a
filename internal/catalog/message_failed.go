package catalog

// MessageFailedType is emitted when a message will not be delivered: the sender could
// not hand it over, or the provider reported a failure. Billing settles on it (release,
// or commit when the rate charges on failure).
const MessageFailedType = "io.catalyst.message.failed"

// Failure stages, the values of MessageFailed.Stage.
const (
	StageSend     = "send"     // the channel sender could not hand the message over
	StageDelivery = "delivery" // the provider accepted it, then reported a failure
)

// MessageFailed is the data of io.catalyst.message.failed.
type MessageFailed struct {
	MessageRef
	Stage     string `json:"stage" jsonschema:"enum=send,enum=delivery" jsonschema_description:"send: the channel sender could not hand the message over; delivery: the provider accepted it, then reported a failure."`
	Code      string `json:"code" jsonschema:"minLength=1" jsonschema_description:"The provider's error code as it gave it (SMPP command_status or DLR err, HTTP API error code, …)."`
	Reason    string `json:"reason" jsonschema:"minLength=1" jsonschema_description:"What went wrong, for humans."`
	Retryable bool   `json:"retryable" jsonschema_description:"Whether sending the same message again may succeed (a timeout) or not (an invalid number)."`
}
