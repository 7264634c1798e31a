package functions

import (
	"context"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
	"github.com/cloudevents/sdk-go/v2/event"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg, err := Registry()
	if err != nil {
		t.Fatalf("Registry: %v", err)
	}
	defs := reg.Definitions()
	// The platform's foundation functions must stay registered: knative/, triggers/
	// and brokers/ (the default dead-letter sink) refer to them.
	for _, name := range []string{"echo", "dead-letter"} {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("function %q is not registered (have %v)", name, reg.Names())
		}
	}
	seen := map[string]bool{}
	st, err := stores.Open(context.Background(), "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	engine, closeEngine, err := st.Billing(nil, "../config")
	if err != nil {
		t.Fatal(err)
	}
	defer closeEngine()
	wall, closeWall, err := st.Firewall(context.Background(), nil, "../config")
	if err != nil {
		t.Fatal(err)
	}
	defer closeWall()
	for _, d := range defs {
		if seen[d.Name] {
			t.Errorf("function %q listed twice", d.Name)
		}
		seen[d.Name] = true
		if strings.TrimSpace(d.Description) == "" {
			t.Errorf("function %q has no Description (catalyst functions prints it)", d.Name)
		}
		f, err := d.New(fn.Deps{Tenants: st.Tenants, Messages: st.Messages, ConfigDir: "../config", Emitter: discardEmitter{}, Billing: engine, Firewall: wall,
			SandboxSMSC: "127.0.0.1:1"}) // nothing listens there: connectors start, unbound
		if err != nil {
			t.Errorf("function %q: New with in-memory stores: %v", d.Name, err)
		} else if f == nil {
			t.Errorf("function %q: New returned a nil Function", d.Name)
		} else if c, ok := f.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				t.Errorf("function %q: Close: %v", d.Name, err)
			}
		}
	}
	if len(seen) != len(reg.Names()) {
		t.Errorf("%d unique definitions, %d names", len(seen), len(reg.Names()))
	}
}

type discardEmitter struct{}

func (discardEmitter) Emit(context.Context, event.Event) error { return nil }
