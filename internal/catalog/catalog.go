package catalog

import (
	"slices"
	"strings"
	"sync"
)

// Extension attributes Catalyst events carry. Triggers filter on them, so their names
// and meanings are part of the public contract (docs/events.md).
const (
	ExtTenantID     = "tenantid"     // the tenant the event belongs to
	ExtChannel      = "channel"      // the channel, one of Channels
	ExtMessageID    = "messageid"    // the message the event is about
	ExtPartitionKey = "partitionkey" // the Kafka record key: one key, one partition, one order
	ExtTraceParent  = "traceparent"  // W3C trace context; optional on every type
	ExtDecision     = "decision"     // message.screened: the firewall's decision (pass, block, hold, throttle)
)

// Producers and consumers that are not functions of the registry.
const (
	API         = "api"         // the HTTP API (internal/api)
	Integrators = "integrators" // outside systems: post to the broker, subscribe with Triggers
)

// Entry describes one event type.
type Entry struct {
	Type        string
	Description string
	// Extensions are the CloudEvents extensions an event of this type must carry,
	// non-empty. traceparent is never required: tracing is optional.
	Extensions []string
	// Data is the zero value of the data's Go type; the schema is generated from it.
	Data any
	// Producers and Consumers are function names of the registry, API or Integrators.
	// "<channel>-send" stands for every channel's sender, one function per channel.
	Producers, Consumers []string
	// Planned marks a type whose producers are not built yet: its schema is the
	// contract they will follow.
	Planned bool
}

// clone returns e with its own slices, so callers cannot edit the catalogue.
func (e Entry) clone() Entry {
	e.Extensions = slices.Clone(e.Extensions)
	e.Producers = slices.Clone(e.Producers)
	e.Consumers = slices.Clone(e.Consumers)
	return e
}

// requires reports whether the entry requires the extension.
func (e Entry) requires(ext string) bool { return slices.Contains(e.Extensions, ext) }

// partitionKeyOf names the extension partitionkey must equal: messageid for events
// about a message (one message's events stay in one partition, in order), tenantid for
// tenant-wide events that require a partition key; "" when the type sets no rule.
func (e Entry) partitionKeyOf() string {
	switch {
	case !e.requires(ExtPartitionKey):
		return ""
	case e.requires(ExtMessageID):
		return ExtMessageID
	case e.requires(ExtTenantID):
		return ExtTenantID
	}
	return ""
}

// registry is the catalogue, built once on first use.
type registry struct {
	entries []Entry        // sorted by type
	index   map[string]int // type → position in entries
	schemas map[string]func() (*typeSchema, error)
}

var catalogue = sync.OnceValue(func() *registry {
	r := &registry{
		entries: entries(),
		index:   map[string]int{},
		schemas: map[string]func() (*typeSchema, error){},
	}
	slices.SortFunc(r.entries, func(a, b Entry) int { return strings.Compare(a.Type, b.Type) })
	for i, e := range r.entries {
		r.index[e.Type] = i
		r.schemas[e.Type] = sync.OnceValues(func() (*typeSchema, error) { return buildSchema(e) })
	}
	return r
})

// Entries returns every catalogued type, sorted by type.
func Entries() []Entry {
	all := catalogue().entries
	out := make([]Entry, len(all))
	for i, e := range all {
		out[i] = e.clone()
	}
	return out
}

// Lookup returns the entry of a type.
func Lookup(typ string) (Entry, bool) {
	e, ok := lookup(typ)
	return e.clone(), ok
}
