package api

import (
	_ "embed"
	"net/http"
	"sync"

	"sigs.k8s.io/yaml"
)

// openapiYAML is the HTTP API's OpenAPI 3 document, written by hand next to the
// handlers; a test checks it against the route table and validates it.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIJSON returns the document as JSON (served at /api/openapi.json).
var OpenAPIJSON = sync.OnceValues(func() ([]byte, error) { return yaml.YAMLToJSON(openapiYAML) })

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	doc, err := OpenAPIJSON()
	if err != nil {
		http.Error(w, "openapi document: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}
