package echo

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

func ping(t *testing.T, id string, ext map[string]string, contentType string, data []byte) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(PingType)
	e.SetSource("/test/smoke")
	e.SetSubject("ignored-subject")
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	if data != nil {
		if err := e.SetData(contentType, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("test ping invalid: %v", err)
	}
	return e
}

func newEcho(t *testing.T) fn.Function {
	t.Helper()
	f, err := Definition().New(fn.Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	routing := map[string]string{
		"tenantid":     "tenant-7",
		"channel":      "sms",
		"messageid":    "msg-1",
		"partitionkey": "msg-1",
		"traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	tests := []struct {
		name        string
		ext         map[string]string
		contentType string
		data        []byte
		wantExt     map[string]string
		wantData    string
	}{
		{"json data and every routing extension", mergeExt(routing, map[string]string{"customext": "not-copied"}),
			"application/json", []byte(`{"n":1}`), routing, `{"n":1}`},
		{"json data, only tenant", map[string]string{"tenantid": "t2"}, "application/json", []byte(`"hello"`),
			map[string]string{"tenantid": "t2"}, `"hello"`},
		{"no data, no extensions", nil, "", nil, map[string]string{}, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := ping(t, "ping-"+tt.name, tt.ext, tt.contentType, tt.data)
			out, err := newEcho(t).Handle(context.Background(), in)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if out == nil {
				t.Fatal("Handle returned no pong")
			}
			if err := catalog.Validate(*out); err != nil {
				t.Errorf("pong breaks the event catalogue: %v", err)
			}
			if out.Type() != PongType {
				t.Errorf("type = %q, want %q", out.Type(), PongType)
			}
			if out.Source() != Source {
				t.Errorf("source = %q, want %q", out.Source(), Source)
			}
			if out.Subject() != in.ID() {
				t.Errorf("subject = %q, want the ping's id %q", out.Subject(), in.ID())
			}
			if out.ID() == "" || out.ID() == in.ID() {
				t.Errorf("pong id = %q, want a new id (ping id %q)", out.ID(), in.ID())
			}
			got := out.Extensions()
			if len(got) != len(tt.wantExt) {
				t.Errorf("pong extensions = %v, want exactly %v", got, tt.wantExt)
			}
			for k, want := range tt.wantExt {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("extension %s = %v (present %v), want %q", k, v, ok, want)
				}
			}
			if string(out.Data()) != tt.wantData {
				t.Errorf("data = %q, want %q", out.Data(), tt.wantData)
			}
			if out.DataContentType() != "application/json" {
				t.Errorf("datacontenttype = %q, want application/json", out.DataContentType())
			}
		})
	}
}

func TestNonJSONPingIsInvalid(t *testing.T) {
	t.Parallel()
	_, err := newEcho(t).Handle(context.Background(), ping(t, "text", nil, "text/plain", []byte("hello")))
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("text ping: error %v, want code invalid (dead letter: retrying cannot help)", err)
	}
}

func TestPongIDsAreUnique(t *testing.T) {
	t.Parallel()
	f := newEcho(t)
	in := ping(t, "same", nil, "", nil)
	a, err := f.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() == b.ID() {
		t.Errorf("two pongs share id %q", a.ID())
	}
}

func TestNonPingIsInvalid(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{PongType, "io.catalyst.message.requested", PingType + ".v2"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			in := event.New()
			in.SetID("1")
			in.SetType(typ)
			in.SetSource("/test")
			out, err := newEcho(t).Handle(context.Background(), in)
			if out != nil {
				t.Errorf("Handle(%s) replied %v, want no reply", typ, out)
			}
			if got := errs.CodeOf(err); got != errs.Invalid {
				t.Errorf("Handle(%s) error %v has code %q, want %q", typ, err, got, errs.Invalid)
			}
		})
	}
}

func TestDefinition(t *testing.T) {
	t.Parallel()
	d := Definition()
	if d.Name != "echo" {
		t.Errorf("Name = %q, want echo", d.Name)
	}
	if len(d.Consumes) != 1 || d.Consumes[0] != PingType {
		t.Errorf("Consumes = %v, want [%s]", d.Consumes, PingType)
	}
	if len(d.Produces) != 1 || d.Produces[0] != PongType {
		t.Errorf("Produces = %v, want [%s]", d.Produces, PongType)
	}
	if _, err := fn.NewRegistry(d); err != nil {
		t.Errorf("definition rejected by NewRegistry: %v", err)
	}
}

func mergeExt(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
