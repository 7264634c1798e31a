package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

func trigger(name, filters, subscriberURL, delivery string) string {
	return fmt.Sprintf(`
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %s
spec:
  broker: default
%s
  subscriber:
    uri: %s
%s`, name, filters, subscriberURL, delivery)
}

// drained waits until every subscription's consumer group has committed the end of
// its topic: every event posted so far has reached a final state.
func (h *harness) drained(t testing.TB) {
	t.Helper()
	for _, s := range h.rt.subs {
		testenv.WaitCaughtUp(t, h.rt.kafka.Seeds(), s.topic, s.group)
	}
}

func TestIngressStatuses(t *testing.T) {
	t.Parallel()
	h := startRuntime(t, "")
	url := h.ingress.URL + "/catalyst/default"
	good := `{"specversion":"1.0","id":"1","type":"t","source":"/s"}`
	tests := []struct {
		name, method, path, contentType, body string
		headers                               map[string]string
		want                                  int
		wantMsg                               string
	}{
		{name: "structured", method: "POST", path: url, contentType: "application/cloudevents+json", body: good, want: 202},
		{name: "binary", method: "POST", path: url, contentType: "application/json", body: `{}`,
			headers: map[string]string{"ce-specversion": "1.0", "ce-id": "2", "ce-type": "t", "ce-source": "/s"}, want: 202},
		{name: "binary missing id", method: "POST", path: url, contentType: "application/json", body: `{}`,
			headers: map[string]string{"ce-specversion": "1.0", "ce-type": "t", "ce-source": "/s"}, want: 400, wantMsg: "id"},
		{name: "structured missing source", method: "POST", path: url, contentType: "application/cloudevents+json",
			body: `{"specversion":"1.0","id":"1","type":"t"}`, want: 400, wantMsg: "source"},
		{name: "structured malformed json", method: "POST", path: url, contentType: "application/cloudevents+json", body: `{"specversion":`, want: 400},
		{name: "not a cloudevent", method: "POST", path: url, contentType: "application/json", body: `{}`, want: 400, wantMsg: "not a CloudEvent"},
		{name: "unknown broker", method: "POST", path: h.ingress.URL + "/catalyst/nope", contentType: "application/cloudevents+json", body: good, want: 404, wantMsg: "catalyst/nope"},
		{name: "bad path", method: "POST", path: h.ingress.URL + "/catalyst", contentType: "application/cloudevents+json", body: good, want: 404},
		{name: "oversized", method: "POST", path: url, contentType: "application/cloudevents+json",
			body: `{"specversion":"1.0","id":"1","type":"t","source":"/s","data":"` + strings.Repeat("x", maxEventBytes) + `"}`, want: 413},
		{name: "get", method: "GET", path: url, want: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testenv.PlatformToken)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readAll(resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, tc.want, body)
			}
			if tc.wantMsg != "" && !strings.Contains(body, tc.wantMsg) {
				t.Fatalf("body %q does not say %q", body, tc.wantMsg)
			}
		})
	}
	// Only the two valid events were stored.
	ends, err := kadm.NewClient(h.rt.kafka.producer).ListEndOffsets(context.Background(), BrokerTopic(keyOf("catalyst", "default")))
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	ends.Each(func(o kadm.ListedOffset) { stored += o.Offset })
	if stored != 2 {
		t.Fatalf("topic holds %d events, want the 2 valid ones", stored)
	}
	for _, c := range []struct {
		broker, code string
		want         float64
	}{{"catalyst/default", "202", 2}, {"catalyst/default", "400", 4}, {"catalyst/default", "413", 1}, {"unknown", "404", 2}} {
		if got := counterValue(t, h.reg, "catalyst_broker_ingress_events_total", map[string]string{"broker": c.broker, "code": c.code}); got != c.want {
			t.Errorf("ingress counter broker=%s code=%s is %v, want %v", c.broker, c.code, got, c.want)
		}
	}
}

// counterValue reads one counter series from a registry (0 when absent).
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestTriggerFiltersDeliverExactlyTheMatchingEvents(t *testing.T) {
	t.Parallel()
	filters := map[string]string{
		"exact":  "  filters:\n    - exact:\n        type: com.example.order.created",
		"prefix": "  filters:\n    - prefix:\n        type: com.example.order.",
		"suffix": "  filters:\n    - suffix:\n        source: /eu",
		"cesql":  "  filters:\n    - cesql: \"tenantid = 'acme' AND channel LIKE 'sms%'\"",
		"all":    "  filters:\n    - all:\n        - exact: {type: com.example.order.created}\n        - exact: {tenantid: acme}",
		"any":    "  filters:\n    - any:\n        - exact: {channel: sms}\n        - exact: {channel: whatsapp}",
		"not":    "  filters:\n    - not:\n        prefix: {type: com.example.}",
		"legacy": "  filter:\n    attributes:\n      type: com.example.order.created\n      tenantid: globex",
	}
	type ev struct {
		id, typ, source, tenant, channel string
	}
	events := []ev{
		{"e1", "com.example.order.created", "/shop/eu", "acme", "sms"},
		{"e2", "com.example.order.shipped", "/shop/us", "acme", "whatsapp"},
		{"e3", "com.example.order.created", "/shop/us", "globex", "smsc"},
		{"e4", "io.catalyst.message.sent", "/shop/eu", "acme", "viber"},
		{"e5", "io.catalyst.message.sent", "/x", "", ""},
	}
	want := map[string][]string{
		"exact":  {"e1", "e3"},
		"prefix": {"e1", "e2", "e3"},
		"suffix": {"e1", "e4"},
		"cesql":  {"e1"},
		"all":    {"e1"},
		"any":    {"e1", "e2"},
		"not":    {"e4", "e5"},
		"legacy": {"e3"},
	}
	sinks := map[string]*testenv.Sink{}
	var yaml strings.Builder
	for name, f := range filters {
		sinks[name] = testenv.NewSink(t, nil)
		yaml.WriteString(trigger("t-"+name, f, sinks[name].URL, ""))
	}
	h := startRuntime(t, yaml.String())
	for _, e := range events {
		ext := map[string]string{}
		if e.tenant != "" {
			ext["tenantid"] = e.tenant
			ext["channel"] = e.channel
		}
		ce := testenv.NewEvent(e.id, e.typ, ext)
		ce.SetSource(e.source)
		if got := h.post(t, ce); got != http.StatusAccepted {
			t.Fatalf("post %s: %d", e.id, got)
		}
	}
	h.drained(t)
	for name, s := range sinks {
		got := s.IDs()
		var ids []string
		for id, n := range got {
			ids = append(ids, id)
			if n != 1 {
				t.Errorf("%s: %s delivered %d times", name, id, n)
			}
		}
		sort.Strings(ids)
		if strings.Join(ids, ",") != strings.Join(want[name], ",") {
			t.Errorf("filter %s received %v, want %v", name, ids, want[name])
		}
	}
}

func TestRetriesBackoffAndDeadLetter(t *testing.T) {
	t.Parallel()
	dls := testenv.NewSink(t, nil)
	unavailable := testenv.NewSink(t, func(event.Event, int) (int, *event.Event) { return http.StatusServiceUnavailable, nil })
	rejecting := testenv.NewSink(t, func(event.Event, int) (int, *event.Event) { return http.StatusBadRequest, nil })
	flaky := testenv.NewSink(t, func(_ event.Event, n int) (int, *event.Event) {
		if n < 3 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	delivery := func(retry int) string {
		return fmt.Sprintf("  delivery:\n    retry: %d\n    backoffPolicy: exponential\n    backoffDelay: PT0.1S\n    deadLetterSink:\n      uri: %s", retry, dls.URL)
	}
	yaml := trigger("unavailable", "  filters:\n    - exact: {type: to.unavailable}", unavailable.URL, delivery(2)) +
		trigger("rejecting", "  filters:\n    - exact: {type: to.rejecting}", rejecting.URL, delivery(5)) +
		trigger("flaky", "  filters:\n    - exact: {type: to.flaky}", flaky.URL, delivery(4))
	h := startRuntime(t, yaml)
	start := time.Now()
	for _, typ := range []string{"to.unavailable", "to.rejecting", "to.flaky"} {
		if got := h.post(t, testenv.NewEvent("id-"+typ, typ, nil)); got != http.StatusAccepted {
			t.Fatalf("post: %d", got)
		}
	}
	h.drained(t)
	if n := len(unavailable.Received()); n != 3 {
		t.Errorf("503 sink got %d attempts, want 1 + 2 retries", n)
	}
	// exponential from 100ms: retry 1 after 200ms, retry 2 after 400ms (delay*2^n).
	if elapsed := time.Since(start); elapsed < 600*time.Millisecond {
		t.Errorf("3 attempts took %v, less than the backoff of 200ms + 400ms", elapsed)
	}
	if n := len(rejecting.Received()); n != 1 {
		t.Errorf("400 sink got %d attempts, want 1 (4xx other than 404/408/409/429 is not retried)", n)
	}
	if n := len(flaky.Received()); n != 3 {
		t.Errorf("flaky sink got %d attempts, want 3 (two 500s, then success)", n)
	}
	for _, c := range []struct {
		sub, result string
		want        float64
	}{
		{"Trigger/catalyst/unavailable", "retried", 2}, {"Trigger/catalyst/unavailable", "dead_lettered", 1},
		{"Trigger/catalyst/rejecting", "retried", 0}, {"Trigger/catalyst/rejecting", "dead_lettered", 1},
		{"Trigger/catalyst/flaky", "retried", 2}, {"Trigger/catalyst/flaky", "delivered", 1},
	} {
		labels := map[string]string{"subscription": c.sub, "result": c.result}
		if got := counterValue(t, h.reg, "catalyst_broker_deliveries_total", labels); got != c.want {
			t.Errorf("deliveries %v = %v, want %v", labels, got, c.want)
		}
	}
	dead := map[string]event.Event{}
	for _, e := range dls.Received() {
		dead[e.ID()] = e
	}
	if len(dead) != 2 || len(dls.Received()) != 2 {
		t.Fatalf("dead-letter sink got %v, want exactly the 503 and 400 events once each", dls.IDs())
	}
	for id, wantCode := range map[string]string{"id-to.unavailable": "503", "id-to.rejecting": "400"} {
		e, ok := dead[id]
		if !ok {
			t.Fatalf("%s not dead-lettered", id)
		}
		ext := e.Extensions()
		if fmt.Sprint(ext[extErrorCode]) != wantCode {
			t.Errorf("%s: knativeerrorcode %v, want %s", id, ext[extErrorCode], wantCode)
		}
		if !strings.HasPrefix(fmt.Sprint(ext[extErrorDest]), "http://127.0.0.1") {
			t.Errorf("%s: knativeerrordest %v", id, ext[extErrorDest])
		}
		data, _ := base64.StdEncoding.DecodeString(fmt.Sprint(ext[extErrorData]))
		if !strings.HasPrefix(string(data), "sink says ") {
			t.Errorf("%s: knativeerrordata decodes to %q", id, data)
		}
	}
}

func TestFunctionReplyReentersTheBroker(t *testing.T) {
	t.Parallel()
	pongs := testenv.NewSink(t, nil)
	yaml := echoTrigger + trigger("pongs", "  filters:\n    - exact: {type: io.catalyst.diagnostics.pong}", pongs.URL, "")
	h := startRuntime(t, yaml)
	if got := h.post(t, testenv.NewEvent("ping-1", echo.PingType, map[string]string{"partitionkey": "msg-7", "tenantid": "acme"})); got != http.StatusAccepted {
		t.Fatalf("post: %d", got)
	}
	testenv.WaitFor(t, "the pong", func() bool { return len(pongs.Received()) == 1 })
	pong := pongs.Received()[0]
	if pong.Subject() != "ping-1" || pong.Extensions()["partitionkey"] != "msg-7" || pong.Extensions()["tenantid"] != "acme" {
		t.Fatalf("pong does not carry the ping's identity: %s", pong)
	}
}

func TestSequenceRunsStepsInOrderAndRepliesToBroker(t *testing.T) {
	t.Parallel()
	step := func(name string) *testenv.Sink {
		return testenv.NewSink(t, func(e event.Event, _ int) (int, *event.Event) {
			out := e.Clone()
			out.SetType(e.Type() + "." + name)
			return http.StatusOK, &out
		})
	}
	s1, s2 := step("one"), step("two")
	final := testenv.NewSink(t, nil)
	yaml := fmt.Sprintf(`
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: pipeline
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec: {numPartitions: 2, replicationFactor: 1}
  steps:
    - uri: %s
    - uri: %s
  reply:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: into-pipeline
spec:
  broker: default
  filters:
    - exact: {type: job}
  subscriber:
    ref: {apiVersion: flows.knative.dev/v1, kind: Sequence, name: pipeline}
`, s1.URL, s2.URL) + trigger("done", "  filters:\n    - exact: {type: job.one.two}", final.URL, "")
	h := startRuntime(t, yaml)
	if got := h.post(t, testenv.NewEvent("job-1", "job", nil)); got != http.StatusAccepted {
		t.Fatalf("post: %d", got)
	}
	testenv.WaitFor(t, "the sequence's reply", func() bool { return len(final.Received()) == 1 })
	if got := s2.Received()[0].Type(); got != "job.one" {
		t.Fatalf("step two saw %q, want step one's reply job.one", got)
	}
}

func TestOrderedTriggerKeepsOneKeysEventsInOrder(t *testing.T) {
	t.Parallel()
	s := testenv.NewSink(t, nil)
	yaml := strings.Replace(trigger("ordered", "  filters:\n    - exact: {type: seq}", s.URL, ""),
		"  name: ordered\n", "  name: ordered\n  annotations:\n    kafka.eventing.knative.dev/delivery.order: ordered\n", 1)
	h := startRuntime(t, yaml)
	const n = 50
	for i := range n {
		if got := h.post(t, testenv.NewEvent(fmt.Sprintf("%03d", i), "seq", map[string]string{"partitionkey": "one-message"})); got != http.StatusAccepted {
			t.Fatalf("post: %d", got)
		}
	}
	testenv.WaitFor(t, "every event", func() bool { return len(s.Received()) == n })
	for i, e := range s.Received() {
		if e.ID() != fmt.Sprintf("%03d", i) {
			t.Fatalf("event %d is %s: order lost", i, e.ID())
		}
	}
}

// An in-process restart against a Kafka that outlives the runtime: events accepted
// while the subscriber was failing are delivered by the next runtime. (tests/ kills a
// real process with SIGKILL; this checks the commit discipline quickly.)
func TestEventsSurviveARuntimeRestart(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var down atomic.Bool
	down.Store(true)
	var delivered sync.Map // id → true once answered 200
	s := testenv.NewSink(t, func(e event.Event, _ int) (int, *event.Event) {
		if down.Load() {
			return http.StatusServiceUnavailable, nil
		}
		delivered.Store(e.ID(), true)
		return http.StatusOK, nil
	})
	yaml := trigger("durable", "  filters:\n    - exact: {type: keep}", s.URL, "  delivery:\n    retry: 1000\n    backoffPolicy: linear\n    backoffDelay: PT0.1S")
	kafka := KafkaConfig{Brokers: cluster.ListenAddrs()}
	first := startRuntimeOn(t, yaml, kafka)
	const n = 20
	for i := range n {
		if got := first.post(t, testenv.NewEvent(fmt.Sprintf("keep-%d", i), "keep", map[string]string{"partitionkey": fmt.Sprintf("k%d", i%7)})); got != http.StatusAccepted {
			t.Fatalf("post: %d", got)
		}
	}
	testenv.WaitFor(t, "an attempt at every event", func() bool { return len(s.IDs()) == n })
	first.stop()
	down.Store(false)
	startRuntimeOn(t, yaml, kafka)
	testenv.WaitFor(t, "every event after restart", func() bool {
		for i := range n {
			if _, ok := delivered.Load(fmt.Sprintf("keep-%d", i)); !ok {
				return false
			}
		}
		return true
	})
}
