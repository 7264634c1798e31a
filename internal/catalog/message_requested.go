package catalog

// MessageRequestedType is emitted by the messages API (or posted as a raw CloudEvent)
// for every accepted send request. It opens the message's life: the message record
// starts its history from it, and the firewall screens it. Its message id is the
// messageid and partitionkey of every later event about the message, so all of them
// land in one Kafka partition, in order.
const MessageRequestedType = "io.catalyst.message.requested"

// MessageRequested is the data of io.catalyst.message.requested. Its field
// descriptions in the JSON Schema come from JSONSchemaExtend (message_requested_schema.go).
type MessageRequested struct {
	MessageID string         `json:"message_id" jsonschema:"format=uuid"`
	TenantID  string         `json:"tenant_id"`
	Channel   string         `json:"channel" jsonschema:"enum=sms,enum=ussd,enum=whatsapp,enum=telegram,enum=messenger,enum=instagram,enum=viber,enum=rcs,enum=xmpp,enum=custom"`
	To        string         `json:"to"`
	From      string         `json:"from,omitempty"`
	Content   Content        `json:"content"`
	Options   map[string]any `json:"options,omitempty"`
}

// Content is what a message carries; Type selects which other fields are set.
type Content struct {
	// Type is text, media or template.
	Type string `json:"type" jsonschema:"enum=text,enum=media,enum=template,enum=binary"`
	// Text: the body of a text message, or a media caption.
	Text string `json:"text,omitempty"`
	// Media: an https URL and its MIME type (image/jpeg, application/pdf, …).
	MediaURL  string `json:"media_url,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	// Template: a pre-approved template (WhatsApp, RCS) with its language and
	// positional parameters.
	TemplateName     string   `json:"template_name,omitempty"`
	TemplateLanguage string   `json:"template_language,omitempty"`
	TemplateParams   []string `json:"template_params,omitempty"`
	// Binary: raw octets, base64 (standard, padded), for channels that carry binary
	// payloads (SMS with data_coding 0x04: WAP push, SIM toolkit, vCards, …).
	Data string `json:"data,omitempty" jsonschema:"contentEncoding=base64"`
}
