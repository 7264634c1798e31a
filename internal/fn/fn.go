// Package fn defines what a Catalyst function is: a constructor taking its dependencies
// and a Handle method that turns one CloudEvent into an optional reply. A function knows
// nothing of HTTP or Kafka; internal/fnhttp serves one over HTTP (as in a Knative pod)
// and the broker runtime calls it in-process (catalyst dev).
package fn

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// Function handles one CloudEvent. A nil reply with a nil error acknowledges the event;
// a non-nil reply re-enters the broker. Errors should be *errs.Error so the boundary
// can decide between retry and dead letter; any other error counts as internal (retried).
type Function interface {
	Handle(ctx context.Context, e event.Event) (*event.Event, error)
}

// HandlerFunc adapts a plain func to Function.
type HandlerFunc func(ctx context.Context, e event.Event) (*event.Event, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	return f(ctx, e)
}

// Deps is everything a function may be given at construction. It grows as the platform
// does (stores, clocks, clients); a function takes only what it needs.
type Deps struct {
	Logger *slog.Logger
	// ConfigDir is the directory holding config/*.yaml (catalyst dev --config).
	ConfigDir string
	// Stores, PostgreSQL-backed or in memory; nil where the process has none.
	Tenants  tenant.Store
	Messages message.Store
	Numbers  numbers.Store // which tenant owns an inbound number
	// SMSPending keeps sent SMS awaiting receipts across connector restarts
	// (PostgreSQL); nil keeps them in the connector's memory.
	SMSPending smsgw.Pending
	// SMSMOParts keeps the parts of concatenated inbound SMS across connector
	// restarts (PostgreSQL); nil keeps them in the connector's memory.
	SMSMOParts smsgw.MOParts
	// Emitter posts events a function produces outside a reply (connectors: delivery
	// receipts, inbound messages) to the broker. In-process it is the broker the
	// function runs in; in a pod, the broker ingress at K_SINK.
	Emitter Emitter
	// SandboxSMSC, when set, is the address of catalyst dev's sandbox SMSC: it replaces
	// the address of the carrier named "sandbox" in config/carriers.yaml.
	SandboxSMSC string
	// Billing is the billing engine (rating, wallet, ledger); nil when the process
	// runs no billing function.
	Billing *charging.Engine
	// Firewall is the firewall engine (phases, review queue); nil when the process
	// runs no firewall function.
	Firewall *screening.Engine
}

// Emitter stores an event in the broker and returns once it is stored.
type Emitter interface {
	Emit(ctx context.Context, e event.Event) error
}

// Definition registers one function under a name. The name is also the Knative Service
// name in knative/ and the argument of `catalyst function NAME`.
type Definition struct {
	Name        string
	Description string
	// Consumes and Produces list the CloudEvent types the function handles and emits;
	// they feed the event catalogue and the manifest cross-checks.
	Consumes []string
	Produces []string
	// AlwaysOn marks connectors holding long-lived connections (SMPP binds, XMPP
	// streams): their Service must keep min-scale >= 1.
	AlwaysOn bool
	New      func(Deps) (Function, error)
}

// dns1035 is the Kubernetes rule for Service names, which function names become.
var dns1035 = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Registry is an immutable set of function definitions keyed by name.
type Registry struct {
	defs map[string]Definition
}

// NewRegistry checks every definition (a valid, unique name and a constructor) and
// returns the registry, or an error naming the first bad definition.
func NewRegistry(defs ...Definition) (*Registry, error) {
	r := &Registry{defs: make(map[string]Definition, len(defs))}
	for i, d := range defs {
		if !dns1035.MatchString(d.Name) {
			return nil, fmt.Errorf("function definition %d: name %q is not a DNS-1035 label", i, d.Name)
		}
		if d.New == nil {
			return nil, fmt.Errorf("function %q: New is nil", d.Name)
		}
		if _, dup := r.defs[d.Name]; dup {
			return nil, fmt.Errorf("function %q registered twice", d.Name)
		}
		r.defs[d.Name] = d
	}
	return r, nil
}

// Lookup returns the definition registered under name.
func (r *Registry) Lookup(name string) (Definition, bool) {
	d, ok := r.defs[name]
	return d, ok
}

// Names returns every registered name, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.defs))
	for n := range r.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Definitions returns every definition, sorted by name.
func (r *Registry) Definitions() []Definition {
	out := make([]Definition, 0, len(r.defs))
	for _, n := range r.Names() {
		out = append(out, r.defs[n])
	}
	return out
}
