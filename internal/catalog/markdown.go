package catalog

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

// The intro and its example event are files, so they read as Markdown and JSON; a test
// validates the example against the catalogue.
var (
	//go:embed doc/intro.md
	docIntro string
	//go:embed doc/example.json
	docExample string
)

// Markdown renders docs/events.md from the catalogue.
func Markdown() []byte {
	var b bytes.Buffer
	strings.NewReplacer(
		"{{example}}", strings.TrimSpace(docExample),
		"{{channels}}", names(channels),
		"{{schemabase}}", SchemaBase,
	).WriteString(&b, docIntro)
	b.WriteString("\n## Types\n\n| Type | Producers | Consumers | Status |\n|---|---|---|---|\n")
	all := Entries()
	for _, e := range all {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", e.Type, anchor(e.Type), names(e.Producers), names(e.Consumers), status(e))
	}
	for _, e := range all {
		fmt.Fprintf(&b, "\n## %s\n\n", e.Type)
		if e.Planned {
			b.WriteString("*Planned: no producer is built yet.*\n\n")
		}
		fmt.Fprintf(&b, "%s\n\n", e.Description)
		fmt.Fprintf(&b, "- Required extensions: %s\n", extensionList(e))
		fmt.Fprintf(&b, "- Producers: %s\n", names(e.Producers))
		fmt.Fprintf(&b, "- Consumers: %s\n", names(e.Consumers))
		fmt.Fprintf(&b, "- Posted to the broker ingress by: %s\n", postedBy(e))
		fmt.Fprintf(&b, "- Data schema: `%s`\n\n", DataSchemaURI(e.Type))
		schema, err := Schema(e.Type)
		if err != nil {
			schema = []byte("schema unavailable: " + err.Error())
		}
		fmt.Fprintf(&b, "```json\n%s\n```\n", schema)
	}
	return b.Bytes()
}

// postedBy says who the ingress accepts the type from (docs/integrators.md).
func postedBy(e Entry) string {
	if e.PostedBy() == PostedByIntegrators {
		return "integrators (an API key of the event's `tenantid`) and the platform"
	}
	return "the platform only (its platform token); integrators' API keys are refused"
}

func status(e Entry) string {
	if e.Planned {
		return "planned"
	}
	return "live"
}

// extensionList names the required extensions and the partition key rule.
func extensionList(e Entry) string {
	if len(e.Extensions) == 0 {
		return "none"
	}
	parts := make([]string, len(e.Extensions))
	for i, x := range e.Extensions {
		parts[i] = "`" + x + "`"
		if x == ExtPartitionKey && e.partitionKeyOf() != "" {
			parts[i] += " (= `" + e.partitionKeyOf() + "`)"
		}
	}
	return strings.Join(parts, ", ")
}

func names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return "`" + strings.Join(ns, "`, `") + "`"
}

// anchor is GitHub's heading anchor: lower case, spaces to hyphens, other
// punctuation dropped ("io.catalyst.message.sent" → "iocatalystmessagesent").
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
