package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

var update = flag.Bool("update", false, "rewrite docs/events.md from the catalogue")

const eventsDoc = "../../docs/events.md"

func TestEventsDocUpToDate(t *testing.T) {
	t.Parallel()
	want := Markdown()
	if *update {
		if err := os.WriteFile(eventsDoc, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatalf("%v; run go test ./internal/catalog -run TestEventsDocUpToDate -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/events.md is out of date; run go test ./internal/catalog -run TestEventsDocUpToDate -update")
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	doc := string(Markdown())
	if strings.Contains(doc, "{{") {
		t.Error("a placeholder of doc/intro.md was not replaced")
	}
	for _, e := range Entries() {
		section := doc[strings.Index(doc, "\n## "+e.Type+"\n"):]
		if next := strings.Index(section[1:], "\n## "); next > 0 {
			section = section[:next+1]
		}
		schema, _ := Schema(e.Type)
		for _, want := range []string{"(#" + anchor(e.Type) + ")", e.Description, string(schema), DataSchemaURI(e.Type)} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s: doc lacks %.60q", e.Type, want)
			}
		}
		if e.Planned != strings.Contains(section, "Planned") {
			t.Errorf("%s: planned %v, section says %q", e.Type, e.Planned, section[:min(len(section), 200)])
		}
		for _, p := range e.Producers {
			if !strings.Contains(section, "`"+p+"`") {
				t.Errorf("%s: section does not name producer %s", e.Type, p)
			}
		}
	}
}

// The intro's example event is valid.
func TestDocExample(t *testing.T) {
	t.Parallel()
	var e event.Event
	if err := json.Unmarshal([]byte(docExample), &e); err != nil {
		t.Fatal(err)
	}
	if err := Validate(e); err != nil {
		t.Fatal(err)
	}
}

func TestAnchor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"io.catalyst.message.sent":    "iocatalystmessagesent",
		"How an event looks":          "how-an-event-looks",
		"Data schemas and validation": "data-schemas-and-validation",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}
