// Package catalog is the catalogue of Catalyst's CloudEvents. For every type it holds
// the Go data type, the JSON Schema generated from that Go type (so the two cannot
// drift), the extensions the event must carry, and which functions produce and consume
// it. Producers build events with New and consumers check them with Validate, so a
// broken event is rejected by the code that made it, not three functions downstream.
// docs/events.md is rendered from this package by Markdown; a test keeps it current.
package catalog
