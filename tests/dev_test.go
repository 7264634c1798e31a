package tests

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

const brokerTopic = "knative-broker-catalyst-default"

func trigger(name, filters, uri, delivery string) string {
	return fmt.Sprintf(`---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %s
  namespace: catalyst
spec:
  broker: default
%s
  subscriber:
    uri: %s
%s
`, name, filters, uri, delivery)
}

func newKafka(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// The README's `make run`: the platform starts on embedded defaults, answers its
// health check, and its ingress accepts, rejects and routes events; Ctrl-C stops it.
func TestDevServesHealthAndIngress(t *testing.T) {
	t.Parallel()
	pongs := testenv.NewSink(t, nil)
	extra := writeManifest(t, trigger("pongs", "  filters:\n    - exact: {type: io.catalyst.diagnostics.pong}", pongs.URL, ""))
	// Unset store URLs (make test sets them) to check the embedded defaults.
	p := startDev(t, []string{"DATABASE_URL=", "REDIS_URL="}, "-f", extra)
	for _, want := range []string{"embedded (kfake", "Trigger/catalyst/echo-ping", "Trigger/catalyst/pongs", "stores:  in-memory", "smsc:    sandbox SMPP 3.4 at 127.0.0.1:"} {
		if !strings.Contains(p.Output(), want) {
			t.Errorf("start-up summary does not mention %q:\n%s", want, p.Output())
		}
	}
	resp, err := http.Get(p.APIURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", testenv.PlatformToken, testenv.NewEvent("ping-1", "io.catalyst.diagnostics.ping", nil)); got != http.StatusAccepted {
		t.Fatalf("valid event: %d, want 202", got)
	}
	if got := testenv.Post(t, p.IngressURL+"/catalyst/default", testenv.NewEvent("ping-2", "io.catalyst.diagnostics.ping", nil)); got != http.StatusUnauthorized {
		t.Fatalf("event without a credential: %d, want 401", got)
	}
	req, err := http.NewRequest(http.MethodPost, p.IngressURL+"/catalyst/default", strings.NewReader(`{"specversion":"1.0","type":"t","source":"/s"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Authorization", "Bearer "+testenv.PlatformToken)
	bad, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("event without id: %d, want 400", bad.StatusCode)
	}
	if got := testenv.PostAs(t, p.IngressURL+"/catalyst/nope", testenv.PlatformToken, testenv.NewEvent("x", "t", nil)); got != http.StatusNotFound {
		t.Fatalf("unknown broker: %d, want 404", got)
	}
	testenv.WaitFor(t, "the echo function's pong at the -f trigger's sink", func() bool { return len(pongs.Received()) == 1 })
	if got := pongs.Received()[0].Subject(); got != "ping-1" {
		t.Fatalf("pong subject %q, want the ping's id", got)
	}
	p.Interrupt(t)
	if !strings.Contains(p.Output(), "catalyst dev: stopped") {
		t.Fatalf("no clean stop reported:\n%s", p.Output())
	}
}

// A Trigger given with -f whose subscriber is an outside HTTP URI receives exactly the
// events its filters match, and a failing sink is retried then dead-lettered.
func TestFileTriggerWithOutsideSinkGetsExactlyItsMatches(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	filters := map[string]string{
		"exact":  "  filters:\n    - exact: {type: com.example.order.created}",
		"prefix": "  filters:\n    - prefix: {type: com.example.order.}",
		"suffix": "  filters:\n    - suffix: {source: /eu}",
		"cesql":  "  filters:\n    - cesql: \"tenantid = 'acme' AND channel LIKE 'sms%'\"",
		"all":    "  filters:\n    - all:\n        - exact: {type: com.example.order.created}\n        - exact: {tenantid: acme}",
		"any":    "  filters:\n    - any:\n        - exact: {channel: sms}\n        - exact: {channel: whatsapp}",
		"not":    "  filters:\n    - not:\n        prefix: {type: com.example.}",
	}
	want := map[string][]string{
		"exact": {"e1", "e3"}, "prefix": {"e1", "e2", "e3"}, "suffix": {"e1", "e4"}, "cesql": {"e1"},
		"all": {"e1"}, "any": {"e1", "e2"}, "not": {"e4", "e5"},
	}
	sinks := map[string]*testenv.Sink{}
	var yaml strings.Builder
	groups := []string{}
	for name, f := range filters {
		sinks[name] = testenv.NewSink(t, nil)
		yaml.WriteString(trigger("f-"+name, f, sinks[name].URL, ""))
		groups = append(groups, "knative-trigger-catalyst-f-"+name)
	}
	dead := testenv.NewSink(t, nil)
	failing := testenv.NewSink(t, func(event.Event, int) (int, *event.Event) { return http.StatusServiceUnavailable, nil })
	yaml.WriteString(trigger("failing", "  filters:\n    - exact: {type: com.example.order.created}", failing.URL,
		"  delivery:\n    retry: 2\n    backoffPolicy: linear\n    backoffDelay: PT0.1S\n    deadLetterSink:\n      uri: "+dead.URL))
	groups = append(groups, "knative-trigger-catalyst-failing")

	p := startDev(t, []string{"KAFKA_BROKERS=" + strings.Join(seeds, ",")}, "-f", writeManifest(t, yaml.String()))
	events := []struct{ id, typ, source, tenant, channel string }{
		{"e1", "com.example.order.created", "/shop/eu", "acme", "sms"},
		{"e2", "com.example.order.shipped", "/shop/us", "acme", "whatsapp"},
		{"e3", "com.example.order.created", "/shop/us", "globex", "smsc"},
		{"e4", "io.catalyst.message.sent", "/shop/eu", "acme", "viber"},
		{"e5", "io.catalyst.message.sent", "/x", "", ""},
	}
	for _, ev := range events {
		ext := map[string]string{}
		if ev.tenant != "" {
			ext["tenantid"], ext["channel"] = ev.tenant, ev.channel
		}
		e := testenv.NewEvent(ev.id, ev.typ, ext)
		e.SetSource(ev.source)
		if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", testenv.PlatformToken, e); got != http.StatusAccepted {
			t.Fatalf("post %s: %d", ev.id, got)
		}
	}
	testenv.WaitCaughtUp(t, seeds, brokerTopic, groups...)
	for name, s := range sinks {
		var ids []string
		for id, n := range s.IDs() {
			ids = append(ids, id)
			if n != 1 {
				t.Errorf("%s: %s delivered %d times", name, id, n)
			}
		}
		sort.Strings(ids)
		if strings.Join(ids, ",") != strings.Join(want[name], ",") {
			t.Errorf("%s trigger received %v, want %v", name, ids, want[name])
		}
	}
	if got := failing.IDs(); got["e1"] != 3 || got["e3"] != 3 || len(got) != 2 {
		t.Errorf("failing sink attempts %v, want e1 and e3 three times each (1 + 2 retries)", got)
	}
	if got := dead.IDs(); got["e1"] != 1 || got["e3"] != 1 || len(got) != 2 {
		t.Errorf("dead-letter sink got %v, want e1 and e3 once each", got)
	}
	for _, e := range dead.Received() {
		data, _ := base64.StdEncoding.DecodeString(fmt.Sprint(e.Extensions()["knativeerrordata"]))
		if fmt.Sprint(e.Extensions()["knativeerrorcode"]) != "503" || !strings.Contains(string(data), "Service Unavailable") {
			t.Errorf("dead-lettered %s lacks the failure: %v", e.ID(), e.Extensions())
		}
	}
}

// crashAndRecover posts events while the subscriber is down, SIGKILLs catalyst dev,
// brings the subscriber up and restarts catalyst dev on the same Kafka: every event
// accepted before the crash is delivered.
func crashAndRecover(t *testing.T, env []string, args ...string) {
	var down atomic.Bool
	down.Store(true)
	var delivered sync.Map
	s := testenv.NewSink(t, func(e event.Event, _ int) (int, *event.Event) {
		if down.Load() {
			return http.StatusServiceUnavailable, nil
		}
		delivered.Store(e.ID(), true)
		return http.StatusOK, nil
	})
	extra := writeManifest(t, trigger("durable", "  filters:\n    - exact: {type: com.example.keep}", s.URL,
		"  delivery:\n    retry: 100000\n    backoffPolicy: linear\n    backoffDelay: PT0.1S"))
	args = append(args, "-f", extra)
	first := startDev(t, env, args...)
	const n = 50
	for i := range n {
		if got := testenv.PostAs(t, first.IngressURL+"/catalyst/default", testenv.PlatformToken, testenv.NewEvent(fmt.Sprintf("keep-%02d", i), "com.example.keep", map[string]string{"partitionkey": fmt.Sprintf("k%d", i%7)})); got != http.StatusAccepted {
			t.Fatalf("post %d: %d", i, got)
		}
	}
	testenv.WaitFor(t, "an attempt at every event", func() bool { return len(s.IDs()) == n })
	first.Kill(t)
	down.Store(false)
	startDev(t, env, args...)
	testenv.WaitFor(t, "every event delivered after the crash", func() bool {
		for i := range n {
			if _, ok := delivered.Load(fmt.Sprintf("keep-%02d", i)); !ok {
				return false
			}
		}
		return true
	})
}

func TestNoEventLostWhenCatalystCrashesWithExternalKafka(t *testing.T) {
	t.Parallel()
	seeds := newKafka(t)
	crashAndRecover(t, []string{"KAFKA_BROKERS=" + strings.Join(seeds, ",")})
}

func TestNoEventLostWhenCatalystCrashesWithPersistedEmbeddedKafka(t *testing.T) {
	t.Parallel()
	crashAndRecover(t, nil, "--kafka-data-dir", t.TempDir())
}
