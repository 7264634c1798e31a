package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI document is valid and names exactly the routes the server registers.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	raw, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range New(Options{}).routes() {
		served = append(served, r.method+" "+r.pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("OpenAPI paths and routes differ:\ndocumented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	a := newTestAPI(t)
	status, hdr, body := a.do(t, "GET", "/api/openapi.json", "", nil)
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/json" || body["openapi"] != "3.0.3" {
		t.Fatalf("served document: %d %v", status, body["openapi"])
	}
}
