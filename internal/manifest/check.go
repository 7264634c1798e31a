package manifest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/catalyst-cpaas/catalyst/internal/eventing"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Kinds a Destination's ref may name, as ResolveRef reports them.
const (
	KindService  = "Service"
	KindBroker   = "Broker"
	KindSequence = "Sequence"
)

// Check validates the whole Set against the function registry and returns every
// problem, or nil. Each object's own rules come first (the eventing Validate methods;
// for Services, one container running [function NAME]); then what no single object
// can see: a trigger's broker exists, every Destination ref resolves to an object in
// the Set, every broker's config ConfigMap exists, and registered functions and
// Services correspond one to one. A cluster would accept a dangling ref and fail only
// when an event arrives; here it fails in `go test`.
//
// Every path starts with the object, "Kind/namespace/name" (the key of s.Sources, which
// names the file), e.g. "Trigger/catalyst/echo-ping.spec.subscriber.ref". A registered
// function without a Service is reported at "Function/NAME".
func (s *Set) Check(ctx context.Context, reg *fn.Registry) *apis.FieldError {
	var errs *apis.FieldError
	for _, k := range sortedKeys(s.Brokers) {
		b := s.Brokers[k]
		e := b.Validate(ctx).
			Also(s.checkBrokerConfig(k.Namespace, b.Spec.Config).ViaField("spec.config")).
			Also(s.checkDelivery(k.Namespace, b.Spec.Delivery).ViaField("spec.delivery"))
		errs = errs.Also(e.ViaField("Broker/" + k.String()))
	}
	for _, k := range sortedKeys(s.Triggers) {
		t := s.Triggers[k]
		e := t.Validate(ctx)
		if t.Spec.Broker != "" {
			if _, ok := s.Brokers[Key{k.Namespace, t.Spec.Broker}]; !ok {
				e = e.Also(notFound(KindBroker, Key{k.Namespace, t.Spec.Broker}, "spec.broker"))
			}
		}
		e = e.Also(s.checkDestination(k.Namespace, &t.Spec.Subscriber).ViaField("spec.subscriber")).
			Also(s.checkDelivery(k.Namespace, t.Spec.Delivery).ViaField("spec.delivery"))
		errs = errs.Also(e.ViaField("Trigger/" + k.String()))
	}
	for _, k := range sortedKeys(s.Sequences) {
		q := s.Sequences[k]
		e := q.Validate(ctx)
		for i := range q.Spec.Steps {
			step := &q.Spec.Steps[i]
			e = e.Also(s.checkDestination(k.Namespace, &step.Destination).
				Also(s.checkDelivery(k.Namespace, step.Delivery).ViaField("delivery")).
				ViaFieldIndex("spec.steps", i))
		}
		e = e.Also(s.checkDestination(k.Namespace, q.Spec.Reply).ViaField("spec.reply"))
		errs = errs.Also(e.ViaField("Sequence/" + k.String()))
	}
	return errs.Also(s.checkFunctions(reg))
}

// checkFunctions pairs Services with registered functions: each Service runs exactly
// one registered function and is named after it (knative/NAME.yaml, `catalyst
// function NAME`); each registered function has a Service.
func (s *Set) checkFunctions(reg *fn.Registry) *apis.FieldError {
	var errs *apis.FieldError
	served := map[string]bool{}
	for _, k := range sortedKeys(s.Services) {
		svc := s.Services[k]
		var e *apis.FieldError
		name, err := svc.FunctionName()
		switch {
		case err != nil:
			path := "spec.template.spec.containers"
			if len(svc.Spec.Template.Spec.Containers) == 1 {
				path += "[0].args"
			}
			e = apis.ErrGeneric(err.Error(), path)
		default:
			served[name] = true
			if reg != nil {
				if _, ok := reg.Lookup(name); !ok {
					e = apis.ErrInvalidValue(name, "spec.template.spec.containers[0].args[1]", "no function of that name is registered (functions.Registry)")
				}
			}
			if svc.Name != name {
				e = e.Also(apis.ErrInvalidValue(svc.Name, "metadata.name", fmt.Sprintf("a Service is named after the function it runs, %q", name)))
			}
		}
		errs = errs.Also(e.ViaField("Service/" + k.String()))
	}
	if reg == nil {
		return errs.Also(apis.ErrGeneric("no function registry to check Services against", "registry"))
	}
	for _, name := range reg.Names() {
		if !served[name] {
			errs = errs.Also(apis.ErrGeneric(
				fmt.Sprintf("registered function has no Service running it (knative/%s.yaml; run make manifests)", name),
				"Function/"+name))
		}
	}
	return errs
}

// checkBrokerConfig reports a broker config ConfigMap missing from the Set (its kind
// and apiVersion are the Broker's own Validate's business).
func (s *Set) checkBrokerConfig(from string, ref *duckv1.KReference) *apis.FieldError {
	if ref == nil || ref.Name == "" || ref.Kind != "ConfigMap" || ref.APIVersion != CoreV1 {
		return nil
	}
	key := Key{cmp.Or(ref.Namespace, from), ref.Name}
	if _, ok := s.ConfigMaps[key]; !ok {
		return notFound("ConfigMap", key, apis.CurrentField)
	}
	return nil
}

func (s *Set) checkDelivery(from string, d *eventing.DeliverySpec) *apis.FieldError {
	if d == nil {
		return nil
	}
	return s.checkDestination(from, d.DeadLetterSink).ViaField("deadLetterSink")
}

// checkDestination resolves a Destination's ref; a URI-only destination is outside
// the Set and so outside the check.
func (s *Set) checkDestination(from string, d *duckv1.Destination) *apis.FieldError {
	if d == nil || d.Ref == nil || d.Ref.Name == "" || d.Ref.Kind == "" || d.Ref.APIVersion == "" {
		return nil // incomplete refs are reported by the object's Validate.
	}
	kind, key, found := s.lookupRef(from, d.Ref)
	switch {
	case kind == "":
		return apis.ErrInvalidValue(d.Ref.APIVersion+" "+d.Ref.Kind, "ref.kind", destinationKinds)
	case !found:
		return notFound(kind, key, "ref")
	}
	return nil
}

const destinationKinds = "a destination must be a " + ServingV1 + " Service, " + EventingV1 + " Broker or " + FlowsV1 + " Sequence"

// ResolveRef finds the object a Destination's ref names, as Knative's addressable
// resolver would: a serving.knative.dev/v1 Service, an eventing.knative.dev/v1
// Broker or a flows.knative.dev/v1 Sequence, in ref.Namespace or, when that is empty,
// in from (the referring object's namespace). It returns the kind (KindService,
// KindBroker or KindSequence) and key, so the broker runtime can route subscribers,
// replies and dead letters in-process.
func (s *Set) ResolveRef(from string, ref *duckv1.KReference) (kind string, key Key, err error) {
	if ref == nil {
		return "", Key{}, errors.New("manifests: nil ref")
	}
	kind, key, found := s.lookupRef(from, ref)
	switch {
	case kind == "":
		return "", Key{}, fmt.Errorf("manifests: ref %s %s %s: %s", ref.APIVersion, ref.Kind, ref.Name, destinationKinds)
	case !found:
		return "", Key{}, fmt.Errorf("manifests: %s %s not found", kind, key)
	}
	return kind, key, nil
}

// lookupRef returns the ref's kind ("" when it is not a destination kind), its key
// with the namespace defaulted to from, and whether the Set holds it.
func (s *Set) lookupRef(from string, ref *duckv1.KReference) (kind string, key Key, found bool) {
	key = Key{cmp.Or(ref.Namespace, from), ref.Name}
	switch ref.APIVersion + "/" + ref.Kind {
	case ServingV1 + "/Service":
		_, found = s.Services[key]
		return KindService, key, found
	case EventingV1 + "/Broker":
		_, found = s.Brokers[key]
		return KindBroker, key, found
	case FlowsV1 + "/Sequence":
		_, found = s.Sequences[key]
		return KindSequence, key, found
	}
	return "", key, false
}

func notFound(kind string, key Key, path string) *apis.FieldError {
	return apis.ErrGeneric(fmt.Sprintf("%s %s not found in the manifests", kind, key), path)
}

// sortedKeys makes Check's error order independent of map iteration.
func sortedKeys[T any](m map[Key]T) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return keys
}
