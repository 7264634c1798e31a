// Package scaling holds each function's autoscaling policy (config/scaling.yaml): the
// events per second it must sustain, the measured per-pod capacity and the scale
// bounds. The Knative Services in knative/ are generated from it, so the TPS targets
// live in one reviewed file instead of hand-edited annotations, and Validate proves
// the bounds can meet the targets before anything is deployed.
package scaling

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"sort"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Policy is the whole of config/scaling.yaml.
type Policy struct {
	// TargetUtilization is the fraction of per-pod capacity the autoscaler aims for, a
	// decimal string such as "0.7" (kept exact: see Utilization).
	TargetUtilization string `json:"targetUtilization"`
	// Functions maps a registered function's name to its policy.
	Functions map[string]Function `json:"functions"`

	utilization *big.Rat
}

// Function is one function's policy.
type Function struct {
	// TargetTPS is the events per second the function must sustain.
	TargetTPS int64 `json:"targetTPS"`
	// PerPodTPS is the measured events per second one pod handles.
	PerPodTPS int64 `json:"perPodTPS"`
	// MinScale and MaxScale bound the pod count; MinScale 0 allows scale to zero.
	MinScale int32 `json:"minScale"`
	MaxScale int32 `json:"maxScale"`
	// AlwaysOn marks a connector (long-lived connections): it must never scale to
	// zero. It must agree with the function's fn.Definition.AlwaysOn.
	AlwaysOn bool `json:"alwaysOn"`
}

// Load reads and parses a policy file. It checks syntax only; call Validate against
// the function registry for the semantic checks.
func Load(path string) (*Policy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	p, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("scaling: %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a policy strictly: an unknown or duplicated field is an error rather
// than a silently ignored bound. Field names are matched case-sensitively (as the
// Kubernetes API server does), so "maxscale" is a typo, not maxScale; encoding/json,
// and so yaml.UnmarshalStrict, would accept it.
func Parse(raw []byte) (*Policy, error) {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, err
	}
	var p Policy
	strict, err := sigsjson.UnmarshalStrict(j, &p, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	u, ok := new(big.Rat).SetString(p.TargetUtilization)
	if !ok {
		return nil, fmt.Errorf("targetUtilization: %q is not a decimal number (write it quoted, e.g. \"0.7\")", p.TargetUtilization)
	}
	p.utilization = u
	return &p, nil
}

// Utilization returns TargetUtilization as an exact fraction, so the generated target
// (a floor) cannot drift by one through binary floating point (2000 × 0.7 must be 1400).
func (p *Policy) Utilization() *big.Rat {
	if p.utilization == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(p.utilization)
}

// For returns the named function's policy.
func (p *Policy) For(name string) (Function, bool) {
	f, ok := p.Functions[name]
	return f, ok
}

// Target is the per-pod events per second the autoscaler should aim for:
// floor(PerPodTPS × TargetUtilization).
func (p *Policy) Target(f Function) int64 {
	t := new(big.Rat).Mul(new(big.Rat).SetInt64(f.PerPodTPS), p.Utilization())
	return new(big.Int).Quo(t.Num(), t.Denom()).Int64()
}

// Validate reports every problem at once (errors.Join, ordered by function name) so
// one run of the tests lists everything to fix: each registered function has a policy
// and each policy a registered function; the bounds are consistent; MaxScale pods at
// full capacity reach TargetTPS; connectors never scale to zero.
func (p *Policy) Validate(reg *fn.Registry) error {
	if reg == nil {
		return errors.New("scaling: nil function registry")
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("scaling: "+format, args...)) }

	one := big.NewRat(1, 1)
	if u := p.Utilization(); u.Sign() <= 0 || u.Cmp(one) > 0 {
		bad("targetUtilization %q must be in (0, 1]", p.TargetUtilization)
	}
	for _, name := range reg.Names() {
		if _, ok := p.Functions[name]; !ok {
			bad("function %q is registered but has no policy in functions:", name)
		}
	}
	names := make([]string, 0, len(p.Functions))
	for name := range p.Functions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := p.Functions[name]
		def, registered := reg.Lookup(name)
		if !registered {
			bad("%s: policy names no registered function", name)
		}
		if f.TargetTPS < 1 {
			bad("%s: targetTPS %d must be at least 1", name, f.TargetTPS)
		}
		if f.PerPodTPS < 1 {
			bad("%s: perPodTPS %d must be at least 1", name, f.PerPodTPS)
		} else if t := p.Target(f); t < 1 {
			bad("%s: target floor(perPodTPS %d × targetUtilization %s) = %d events/s per pod; must be at least 1", name, f.PerPodTPS, p.TargetUtilization, t)
		}
		if f.MinScale < 0 {
			bad("%s: minScale %d must not be negative", name, f.MinScale)
		}
		// Knative reads max-scale 0 as "unbounded"; a policy always states a bound.
		if f.MaxScale < 1 {
			bad("%s: maxScale %d must be at least 1", name, f.MaxScale)
		}
		if f.MinScale > f.MaxScale {
			bad("%s: minScale %d exceeds maxScale %d", name, f.MinScale, f.MaxScale)
		}
		if capacity := int64(f.MaxScale) * f.PerPodTPS; f.MaxScale >= 1 && f.PerPodTPS >= 1 && capacity < f.TargetTPS {
			bad("%s: maxScale %d × perPodTPS %d = %d events/s is below targetTPS %d", name, f.MaxScale, f.PerPodTPS, capacity, f.TargetTPS)
		}
		if registered && f.AlwaysOn != def.AlwaysOn {
			bad("%s: alwaysOn %t disagrees with the function's Definition.AlwaysOn %t", name, f.AlwaysOn, def.AlwaysOn)
		}
		if (f.AlwaysOn || def.AlwaysOn) && f.MinScale < 1 {
			bad("%s: always-on connector needs minScale >= 1 (has %d) so it never scales to zero", name, f.MinScale)
		}
	}
	return errors.Join(errs...)
}
