package catalog

import "github.com/invopop/jsonschema"

// JSONSchemaExtend documents MessageRequested's fields in its schema. The descriptions
// live here rather than in struct tags because message_requested.go is shared with the
// API, which builds MessageRequested values; this keeps that file's types untouched.
func (MessageRequested) JSONSchemaExtend(s *jsonschema.Schema) {
	describe(s, map[string]string{
		"message_id": "The message id the API answered with; equal to the messageid and partitionkey extensions.",
		"tenant_id":  "The tenant that sends; equal to the tenantid extension.",
		"channel":    "The channel to send on; equal to the channel extension.",
		"to":         "The recipient: an E.164 number for sms and ussd, the channel's user or chat id otherwise.",
		"from":       "The sender id, number or account; empty for the tenant's default on the channel.",
		"content":    "What to send.",
		"options":    "Channel-specific options, passed to the channel sender as they are.",
	})
}

// JSONSchemaExtend documents Content's fields in its schema.
func (Content) JSONSchemaExtend(s *jsonschema.Schema) {
	describe(s, map[string]string{
		"type":              "text, media or template: selects which other fields apply.",
		"text":              "The body of a text message, or a media caption.",
		"media_url":         "media: an https URL of the file.",
		"media_type":        "media: the file's MIME type (image/jpeg, application/pdf, …).",
		"template_name":     "template: a pre-approved template (WhatsApp, RCS).",
		"template_language": "template: the template's language, e.g. en_US.",
		"template_params":   "template: the positional parameters.",
	})
}

// describe sets the description of each named property, unless a struct tag already
// gave it one.
func describe(s *jsonschema.Schema, docs map[string]string) {
	if s.Properties == nil {
		return
	}
	for name, doc := range docs {
		if p, ok := s.Properties.Get(name); ok && p.Description == "" {
			p.Description = doc
		}
	}
}
