package manifest_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/functions/deadletter"
	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
)

// TestRepositoryManifestsCheck: the manifests `ko apply` deploys are consistent with
// each other and with the registered functions.
func TestRepositoryManifestsCheck(t *testing.T) {
	t.Parallel()
	s, err := manifest.Load("../../brokers", "../../triggers", "../../knative")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := functions.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) < len(reg.Names()) || len(s.Triggers) == 0 || len(s.Brokers) == 0 {
		t.Fatalf("loaded %d services, %d triggers, %d brokers: the manifests were not all read", len(s.Services), len(s.Triggers), len(s.Brokers))
	}
	if err := s.Check(context.Background(), reg); err != nil {
		t.Fatalf("Check of the repository's manifests:\n%v", err)
	}
}

// fixtureFunctions is the registry the fixture manifests below are written for; it
// stays fixed as the platform's own registry grows.
func fixtureFunctions(t *testing.T) *fn.Registry {
	t.Helper()
	reg, err := fn.NewRegistry(deadletter.Definition(), echo.Definition())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func registry(t *testing.T, extra ...string) *fn.Registry {
	t.Helper()
	defs := fixtureFunctions(t).Definitions()
	for _, name := range extra {
		defs = append(defs, fn.Definition{Name: name, New: func(fn.Deps) (fn.Function, error) {
			return fn.HandlerFunc(func(context.Context, event.Event) (*event.Event, error) { return nil, nil }), nil
		}})
	}
	reg, err := fn.NewRegistry(defs...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// baseManifests is a small consistent Set (one broker with its config and dead-letter
// sink, one trigger, a Service per registered function); each broken case adds to it.
const baseManifests = `
apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-broker-config}
data: {bootstrap.servers: "kafka:9092"}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations: {eventing.knative.dev/broker.class: Kafka}
spec:
  config: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config}
  delivery:
    deadLetterSink:
      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: dead-letter}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: echo}
spec:
  template:
    spec:
      containers: [{image: "ko://github.com/catalyst-cpaas/catalyst/cmd/catalyst", args: [function, echo]}]
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: dead-letter}
spec:
  template:
    spec:
      containers: [{image: "ko://github.com/catalyst-cpaas/catalyst/cmd/catalyst", args: [function, dead-letter]}]
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: echo-ping, namespace: catalyst}
spec:
  broker: default
  filters: [{exact: {type: io.catalyst.diagnostics.ping}}]
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: echo, namespace: catalyst}
`

func trigger(name, spec string) string {
	return "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: " + name + "}\nspec:\n" + spec
}

func service(name string, args ...string) string {
	return "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: " + name + "}\nspec:\n  template:\n    spec:\n      containers: [{image: x, args: [" +
		strings.Join(args, ", ") + "]}]\n"
}

const echoRef = "ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: echo}"

func TestCheckBrokenManifests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra string   // YAML added to baseManifests
		fns   []string // functions registered beyond functions.Registry()
		path  string   // a path the error must report, exactly
		msg   string   // ... with a message containing this
	}{
		{
			name:  "trigger to a missing Service",
			extra: trigger("to-ghost", "  broker: default\n  subscriber:\n    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: ghost}\n"),
			path:  "Trigger/catalyst/to-ghost.spec.subscriber.ref",
			msg:   "Service catalyst/ghost not found",
		},
		{
			name:  "ref namespace defaults to the trigger's, not catalyst",
			extra: "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: elsewhere, namespace: other}\nspec:\n  broker: default\n  subscriber:\n    " + echoRef + "\n",
			path:  "Trigger/other/elsewhere.spec.subscriber.ref",
			msg:   "Service other/echo not found",
		},
		{
			name:  "Service running an unregistered function",
			extra: service("nope", "function", "nope"),
			path:  "Service/catalyst/nope.spec.template.spec.containers[0].args[1]",
			msg:   "no function of that name is registered",
		},
		{
			name:  "Service args not [function NAME]",
			extra: service("echo", "serve", "echo"),
			path:  "Service/catalyst/echo.spec.template.spec.containers[0].args",
			msg:   "container args must be [function NAME]",
		},
		{
			name:  "Service named differently from its function",
			extra: service("echo2", "function", "echo"),
			path:  "Service/catalyst/echo2.metadata.name",
			msg:   `a Service is named after the function it runs, "echo"`,
		},
		{
			name:  "Service with two containers",
			extra: "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: two}\nspec:\n  template:\n    spec:\n      containers: [{image: x, args: [function, two]}, {image: y}]\n",
			path:  "Service/catalyst/two.spec.template.spec.containers",
			msg:   "want exactly one container, have 2",
		},
		{
			name:  "trigger on a missing broker",
			extra: trigger("orphan", "  broker: nobroker\n  subscriber:\n    "+echoRef+"\n"),
			path:  "Trigger/catalyst/orphan.spec.broker",
			msg:   "Broker catalyst/nobroker not found",
		},
		{
			name:  "trigger with a dangling dead-letter sink",
			extra: trigger("dls", "  broker: default\n  subscriber:\n    "+echoRef+"\n  delivery:\n    deadLetterSink:\n      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: lost}\n"),
			path:  "Trigger/catalyst/dls.spec.delivery.deadLetterSink.ref",
			msg:   "Service catalyst/lost not found",
		},
		{
			name: "broker with a dangling dead-letter sink",
			extra: "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b2\n  annotations: {eventing.knative.dev/broker.class: Kafka}\nspec:\n" +
				"  config: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config}\n" +
				"  delivery:\n    deadLetterSink:\n      ref: {apiVersion: flows.knative.dev/v1, kind: Sequence, name: nope}\n",
			path: "Broker/catalyst/b2.spec.delivery.deadLetterSink.ref",
			msg:  "Sequence catalyst/nope not found",
		},
		{
			name: "broker config ConfigMap missing",
			extra: "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b3\n  annotations: {eventing.knative.dev/broker.class: Kafka}\nspec:\n" +
				"  config: {apiVersion: v1, kind: ConfigMap, name: nocm}\n",
			path: "Broker/catalyst/b3.spec.config",
			msg:  "ConfigMap catalyst/nocm not found",
		},
		{
			name: "registered function without a Service",
			fns:  []string{"sms-send"},
			path: "Function/sms-send",
			msg:  "registered function has no Service running it",
		},
		{
			name:  "bad filter: two attributes in one exact",
			extra: trigger("bad-filter", "  broker: default\n  filters: [{exact: {type: a, source: b}}]\n  subscriber:\n    "+echoRef+"\n"),
			path:  "Trigger/catalyst/bad-filter.spec.filters[0].exact",
			msg:   "expected exactly one attribute",
		},
		{
			name:  "destination of a kind that cannot receive events",
			extra: trigger("to-cm", "  broker: default\n  subscriber:\n    ref: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config}\n"),
			path:  "Trigger/catalyst/to-cm.spec.subscriber.ref.kind",
			msg:   "a destination must be a serving.knative.dev/v1 Service",
		},
		{
			name: "sequence step and reply dangling",
			extra: "apiVersion: flows.knative.dev/v1\nkind: Sequence\nmetadata: {name: seq}\nspec:\n" +
				"  channelTemplate: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel}\n" +
				"  steps:\n  - " + echoRef + "\n  - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: rate}\n" +
				"  reply:\n    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: missing}\n",
			path: "Sequence/catalyst/seq.spec.steps[1].ref",
			msg:  "Service catalyst/rate not found",
		},
		{
			name: "sequence reply to a missing broker",
			extra: "apiVersion: flows.knative.dev/v1\nkind: Sequence\nmetadata: {name: seq}\nspec:\n" +
				"  channelTemplate: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel}\n" +
				"  steps:\n  - " + echoRef + "\n" +
				"  reply:\n    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: missing}\n",
			path: "Sequence/catalyst/seq.spec.reply.ref",
			msg:  "Broker catalyst/missing not found",
		},
		{
			name: "sequence step dead-letter sink dangling",
			extra: "apiVersion: flows.knative.dev/v1\nkind: Sequence\nmetadata: {name: seq}\nspec:\n" +
				"  channelTemplate: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel}\n" +
				"  steps:\n  - " + echoRef + "\n    delivery:\n      deadLetterSink:\n        ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: gone}\n",
			path: "Sequence/catalyst/seq.spec.steps[0].delivery.deadLetterSink.ref",
			msg:  "Service catalyst/gone not found",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := baseSet(t)
			if tc.extra != "" {
				if err := s.LoadYAML("broken.yaml", []byte(tc.extra)); err != nil {
					t.Fatal(err)
				}
			}
			ferr := s.Check(context.Background(), registry(t, tc.fns...))
			if ferr == nil {
				t.Fatalf("Check passed; want an error at %s", tc.path)
			}
			for _, e := range ferr.WrappedErrors() {
				if slices.Contains(e.Paths, tc.path) && strings.Contains(e.Message+"\n"+e.Details, tc.msg) {
					return
				}
			}
			t.Errorf("Check error lacks %q at %s:\n%v", tc.msg, tc.path, ferr)
		})
	}
}

func baseSet(t *testing.T) *manifest.Set {
	t.Helper()
	s := manifest.NewSet()
	if err := s.LoadYAML("base.yaml", []byte(baseManifests)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCheckBase guards the table above: the base itself must pass, or every broken
// case would pass for the wrong reason.
func TestCheckBase(t *testing.T) {
	t.Parallel()
	if err := baseSet(t).Check(context.Background(), registry(t)); err != nil {
		t.Fatalf("base manifests fail Check:\n%v", err)
	}
}

func TestResolveRef(t *testing.T) {
	t.Parallel()
	s := baseSet(t)
	tests := []struct {
		name     string
		from     string
		ref      *duckv1.KReference
		wantKind string
		wantKey  manifest.Key
		wantErr  string
	}{
		{"service, namespace defaulted", "catalyst", &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "echo"}, manifest.KindService, manifest.Key{Namespace: "catalyst", Name: "echo"}, ""},
		{"broker, explicit namespace", "other", &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: "catalyst"}, manifest.KindBroker, manifest.Key{Namespace: "catalyst", Name: "default"}, ""},
		{"missing", "other", &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "echo"}, "", manifest.Key{}, "Service other/echo not found"},
		{"unsupported kind", "catalyst", &duckv1.KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "kafka-broker-config"}, "", manifest.Key{}, "a destination must be"},
		{"nil", "catalyst", nil, "", manifest.Key{}, "nil ref"},
	}
	for _, tc := range tests {
		kind, key, err := s.ResolveRef(tc.from, tc.ref)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: ResolveRef error = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || kind != tc.wantKind || key != tc.wantKey {
			t.Errorf("%s: ResolveRef = %q, %v, %v; want %q, %v", tc.name, kind, key, err, tc.wantKind, tc.wantKey)
		}
	}
}

// TestCheckErrorLevel: Check reports errors, not warnings, so a caller filtering at
// apis.ErrorLevel (as the serving test does) still sees them.
func TestCheckErrorLevel(t *testing.T) {
	t.Parallel()
	ferr := baseSet(t).Check(context.Background(), registry(t, "sms-send"))
	if ferr.Filter(apis.ErrorLevel) == nil {
		t.Fatal("missing Service for sms-send not reported at error level")
	}
}
