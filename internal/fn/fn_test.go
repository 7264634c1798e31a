package fn

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

func def(name string) Definition {
	return Definition{
		Name:        name,
		Description: "test function " + name,
		New:         func(Deps) (Function, error) { return HandlerFunc(nil), nil },
	}
}

func TestNewRegistryRejects(t *testing.T) {
	t.Parallel()
	noNew := def("no-new")
	noNew.New = nil
	tests := []struct {
		name    string
		defs    []Definition
		wantErr string
	}{
		{"empty name", []Definition{def("")}, `name "" is not a DNS-1035 label`},
		{"uppercase", []Definition{def("Echo")}, `name "Echo" is not a DNS-1035 label`},
		{"leading digit", []Definition{def("1echo")}, `name "1echo" is not a DNS-1035 label`},
		{"leading hyphen", []Definition{def("-echo")}, "not a DNS-1035 label"},
		{"trailing hyphen", []Definition{def("echo-")}, "not a DNS-1035 label"},
		{"underscore", []Definition{def("dead_letter")}, "not a DNS-1035 label"},
		{"dot", []Definition{def("dead.letter")}, "not a DNS-1035 label"},
		{"too long (64)", []Definition{def("a" + strings.Repeat("b", 63))}, "not a DNS-1035 label"},
		{"bad name names its index", []Definition{def("ok"), def("Bad")}, "function definition 1:"},
		{"nil New", []Definition{noNew}, `function "no-new": New is nil`},
		{"duplicate", []Definition{def("echo"), def("other"), def("echo")}, `function "echo" registered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRegistry(tt.defs...)
			if err == nil {
				t.Fatalf("NewRegistry succeeded, want error containing %q", tt.wantErr)
			}
			if r != nil {
				t.Errorf("NewRegistry returned a registry alongside error %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewRegistryAccepts(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "echo", "dead-letter", "smpp-send-2", "a" + strings.Repeat("b", 62)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRegistry(def(name))
			if err != nil {
				t.Fatalf("NewRegistry(%q): %v", name, err)
			}
			if _, ok := r.Lookup(name); !ok {
				t.Errorf("Lookup(%q) = false after registering it", name)
			}
		})
	}
}

func TestRegistryOrderAndLookup(t *testing.T) {
	t.Parallel()
	r, err := NewRegistry(def("zeta"), def("alpha"), def("mid-one"), def("beta"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alpha", "beta", "mid-one", "zeta"}
	if got := r.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	defs := r.Definitions()
	if len(defs) != len(want) {
		t.Fatalf("Definitions() has %d entries, want %d", len(defs), len(want))
	}
	for i, d := range defs {
		if d.Name != want[i] {
			t.Errorf("Definitions()[%d].Name = %q, want %q", i, d.Name, want[i])
		}
		if d.Description != "test function "+want[i] {
			t.Errorf("Definitions()[%d].Description = %q: definition not kept intact", i, d.Description)
		}
	}

	d, ok := r.Lookup("mid-one")
	if !ok || d.Name != "mid-one" || d.New == nil {
		t.Errorf("Lookup(mid-one) = %+v, %v", d, ok)
	}
	if d, ok := r.Lookup("missing"); ok {
		t.Errorf("Lookup(missing) = %+v, true; want false", d)
	}

	// Names returns a fresh slice: a caller's edit must not leak into the registry.
	names := r.Names()
	names[0] = "mutated"
	if got := r.Names()[0]; got != "alpha" {
		t.Errorf("Names()[0] after caller mutation = %q, want alpha", got)
	}
}

func TestEmptyRegistry(t *testing.T) {
	t.Parallel()
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Names(); len(n) != 0 {
		t.Errorf("Names() = %v, want none", n)
	}
	if d := r.Definitions(); len(d) != 0 {
		t.Errorf("Definitions() = %v, want none", d)
	}
}

func TestHandlerFunc(t *testing.T) {
	t.Parallel()
	type ctxKey struct{}
	wantErr := errors.New("handler failed")
	var f Function = HandlerFunc(func(ctx context.Context, e event.Event) (*event.Event, error) {
		if ctx.Value(ctxKey{}) != "v" {
			return nil, errors.New("context not passed through")
		}
		if e.ID() == "fail" {
			return nil, wantErr
		}
		out := event.New()
		out.SetID("reply-" + e.ID())
		return &out, nil
	})
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")

	in := event.New()
	in.SetID("42")
	reply, err := f.Handle(ctx, in)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if reply == nil || reply.ID() != "reply-42" {
		t.Fatalf("reply = %v, want id reply-42", reply)
	}

	in.SetID("fail")
	reply, err = f.Handle(ctx, in)
	if !errors.Is(err, wantErr) || reply != nil {
		t.Errorf("Handle(fail) = %v, %v; want nil, %v", reply, err, wantErr)
	}
}
