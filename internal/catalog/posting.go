package catalog

import (
	"slices"
	"strings"
)

// TypePrefix starts every Catalyst event type; the namespace is the platform's.
const TypePrefix = "io.catalyst."

// Who may post an event to the broker's HTTP ingress (internal/broker).
const (
	// PostedByIntegrators: an integrator with an API key of the event's tenant, or
	// the platform.
	PostedByIntegrators = "integrators"
	// PostedByPlatform: only the platform's own credential. Billing, delivery and
	// firewall outcomes move money and message state; a forged one must not enter.
	PostedByPlatform = "platform"
)

// PostedBy says who may post the entry's type to the ingress: integrators when they
// are among its producers, else the platform alone.
func (e Entry) PostedBy() string {
	if slices.Contains(e.Producers, Integrators) {
		return PostedByIntegrators
	}
	return PostedByPlatform
}

// IntegratorsMayPost reports whether an integrator's API key may post an event of typ
// to the ingress: a catalogued type integrators produce (message.requested,
// diagnostics.ping), or a type of its own outside io.catalyst.*. Every other type
// under io.catalyst., catalogued or not yet, is the platform's.
func IntegratorsMayPost(typ string) bool {
	if e, ok := lookup(typ); ok {
		return e.PostedBy() == PostedByIntegrators
	}
	return !strings.HasPrefix(typ, TypePrefix)
}
