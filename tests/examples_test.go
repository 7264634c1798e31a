package tests

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/eventing"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// placeholderBase is the webhook host every example's URIs use; integrators replace it.
const placeholderBase = "http://localhost:9090/"

// exampleEvent is one event posted to the broker in an example's test.
type exampleEvent struct {
	id, typ string
	ext     map[string]string
}

func ev(id, typ string, kv ...string) exampleEvent {
	e := exampleEvent{id: id, typ: typ, ext: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		e.ext[kv[i]] = kv[i+1]
	}
	return e
}

// exampleCase is what one triggers/examples file must do. The example's webhook
// answers 503 to the first attempt at an id starting "flaky-" and 400 to every
// attempt at one starting "reject-"; otherwise 200.
type exampleCase struct {
	events []exampleEvent
	// want lists what the subscriber must receive, each key exactly once (flaky- ids
	// twice): an event's id, or "pong:<ping id>" for the echo function's reply.
	want []string
	// deadLettered lists the ids the example's own deadLetterSink must receive.
	deadLettered []string
	// ordered: the events with partitionkey "seq" must arrive in posting order, a
	// flaky one's retry before the next.
	ordered bool
}

const (
	msgRequested = "io.catalyst.message.requested"
	msgSent      = "io.catalyst.message.sent"
	msgDelivered = "io.catalyst.message.delivered"
	msgFailed    = "io.catalyst.message.failed"
	msgInbound   = "io.catalyst.message.inbound"
)

// exampleCases maps every file in triggers/examples to its events and expectations.
var exampleCases = map[string]exampleCase{
	"delivered-to-webhook.yaml": {
		events: []exampleEvent{
			ev("d-1", msgDelivered, "tenantid", "acme", "channel", "sms"),
			ev("flaky-d-2", msgDelivered, "tenantid", "acme"),
			ev("reject-d-3", msgDelivered, "tenantid", "acme"),
			ev("d-4", msgDelivered, "tenantid", "globex"),
			ev("d-5", msgSent, "tenantid", "acme"),
			ev("d-6", msgDelivered),
			ev("d-7", "io.catalyst.message.delivered.v2", "tenantid", "acme"),
		},
		want:         []string{"d-1", "flaky-d-2", "reject-d-3"},
		deadLettered: []string{"reject-d-3"},
	},
	"sms-for-tenant-cesql.yaml": {
		events: []exampleEvent{
			ev("s-1", msgSent, "tenantid", "acme", "channel", "sms"),
			ev("s-2", msgDelivered, "tenantid", "acme", "channel", "sms"),
			ev("s-3", msgSent, "tenantid", "acme", "channel", "whatsapp"),
			ev("s-4", msgSent, "tenantid", "globex", "channel", "sms"),
			ev("s-5", msgSent, "tenantid", "acme"),
			ev("s-6", "io.catalyst.billing.authorized", "tenantid", "acme", "channel", "sms"),
			ev("s-7", msgSent, "tenantid", "ACME", "channel", "sms"),
			ev("s-8", "io.catalyst.diagnostics.ping", "tenantid", "acme", "channel", "sms"),
		},
		want: []string{"s-1", "s-2"},
	},
	"all-message-events-prefix.yaml": {
		events: []exampleEvent{
			ev("m-1", msgRequested, "tenantid", "acme"),
			ev("m-2", msgDelivered, "tenantid", "globex", "channel", "viber"),
			ev("m-3", msgInbound),
			ev("m-4", "io.catalyst.messages.other"),
			ev("m-5", "io.catalyst.billing.committed", "tenantid", "acme"),
			ev("m-6", "io.catalyst.diagnostics.ping"),
		},
		want: []string{"m-1", "m-2", "m-3"},
	},
	"failures-any.yaml": {
		events: []exampleEvent{
			ev("f-1", msgFailed, "tenantid", "acme"),
			ev("f-2", "io.catalyst.billing.declined", "tenantid", "globex"),
			ev("f-3", msgDelivered, "tenantid", "acme"),
			ev("f-4", "io.catalyst.billing.authorized"),
			ev("f-5", "io.catalyst.message.failed.v2"),
		},
		want: []string{"f-1", "f-2"},
	},
	"not-diagnostics.yaml": {
		events: []exampleEvent{
			ev("n-1", msgSent, "tenantid", "acme"),
			ev("n-2", "com.example.order.created"),
			ev("n-3", "io.catalyst.diagnostics.ping", "tenantid", "acme"), // and its pong
			ev("n-4", "io.catalyst.diagnostics.custom"),
			ev("n-5", "io.catalyst.diagnosticsx"),
		},
		want: []string{"n-1", "n-2", "n-5"},
	},
	"inbound-whatsapp-all.yaml": {
		events: []exampleEvent{
			ev("w-1", msgInbound, "tenantid", "acme", "channel", "whatsapp"),
			ev("w-2", msgInbound, "tenantid", "acme", "channel", "sms"),
			ev("w-3", msgDelivered, "channel", "whatsapp"),
			ev("w-4", "com.example.inbound", "channel", "whatsapp"),
			ev("w-5", msgInbound),
		},
		want: []string{"w-1"},
	},
	"pong-to-webhook.yaml": {
		events: []exampleEvent{
			ev("ping-acme", echo.PingType, "tenantid", "acme", "partitionkey", "p"),
			ev("ping-globex", echo.PingType, "tenantid", "globex"),
			ev("ping-none", echo.PingType),
			ev("flaky-seq-1", echo.PongType, "tenantid", "acme", "partitionkey", "seq"),
			ev("seq-2", echo.PongType, "tenantid", "acme", "partitionkey", "seq"),
			ev("seq-3", echo.PongType, "tenantid", "acme", "partitionkey", "seq"),
			ev("pong-globex", echo.PongType, "tenantid", "globex", "partitionkey", "seq"),
			ev("pong-none", echo.PongType, "partitionkey", "seq"),
		},
		want:    []string{"pong:ping-acme", "flaky-seq-1", "seq-2", "seq-3"},
		ordered: true,
	},
}

// receivedKey names a received event as exampleCase.want does.
func receivedKey(e event.Event) string {
	if e.Source() == echo.Source && e.Type() == echo.PongType {
		return "pong:" + e.Subject()
	}
	return e.ID()
}

// answerByID is the examples' webhook behaviour (see exampleCase).
func answerByID() testenv.AnswerFunc {
	var mu sync.Mutex
	attempts := map[string]int{}
	return func(e event.Event, _ int) (int, *event.Event) {
		mu.Lock()
		attempts[e.ID()]++
		n := attempts[e.ID()]
		mu.Unlock()
		switch {
		case strings.HasPrefix(e.ID(), "reject-"):
			return http.StatusBadRequest, nil
		case strings.HasPrefix(e.ID(), "flaky-") && n == 1:
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	}
}

func TestExamplesAllHaveCases(t *testing.T) {
	files := exampleFiles(t)
	for _, f := range files {
		if _, ok := exampleCases[filepath.Base(f)]; !ok {
			t.Errorf("%s has no entry in exampleCases (tests/examples_test.go): add its matching and non-matching events", f)
		}
	}
	for name := range exampleCases {
		if !slices.Contains(files, filepath.Join(repoRoot, "triggers", "examples", name)) {
			t.Errorf("exampleCases has %s, which is not in triggers/examples", name)
		}
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "integrators.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if link := "../triggers/examples/" + filepath.Base(f); !strings.Contains(string(doc), link) {
			t.Errorf("docs/integrators.md does not link %s", link)
		}
	}
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "triggers", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yml, _ := filepath.Glob(filepath.Join(repoRoot, "triggers", "examples", "*.yml"))
	files = append(files, yml...)
	if len(files) == 0 {
		t.Fatal("no examples in triggers/examples")
	}
	sort.Strings(files)
	return files
}

// Each example, unchanged, passes Catalyst's validation with the repository's
// manifests; with its webhooks pointed at test sinks, `catalyst dev -f` delivers to
// it exactly the events its comment promises.
func TestExampleTriggersDeliverExactlyTheirMatches(t *testing.T) {
	t.Parallel()
	for _, file := range exampleFiles(t) {
		name := filepath.Base(file)
		c, ok := exampleCases[name]
		if !ok {
			continue // reported by TestExamplesAllHaveCases
		}
		t.Run(strings.TrimSuffix(name, filepath.Ext(name)), func(t *testing.T) {
			t.Parallel()
			runExample(t, file, c)
		})
	}
}

func runExample(t *testing.T, file string, c exampleCase) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(file)
	if !strings.HasPrefix(string(raw), "#") || !strings.Contains(string(raw), "catalyst dev -f triggers/examples/"+base) {
		t.Errorf("%s lacks a comment header saying how to run it (catalyst dev -f triggers/examples/%s)", base, base)
	}
	tr := loadExample(t, file)

	sink := testenv.NewSink(t, answerByID())
	dead := testenv.NewSink(t, nil)
	tr.Spec.Subscriber.URI = sinkURI(t, tr.Spec.Subscriber.URI, sink.URL, "spec.subscriber.uri")
	hasDLS := tr.Spec.Delivery != nil && tr.Spec.Delivery.DeadLetterSink != nil
	if hasDLS {
		d := tr.Spec.Delivery.DeadLetterSink
		d.URI = sinkURI(t, d.URI, dead.URL, "spec.delivery.deadLetterSink.uri")
	}
	if len(c.deadLettered) > 0 && !hasDLS {
		t.Fatalf("%s: the case expects dead letters but the example has no deadLetterSink", base)
	}
	out, err := yaml.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}

	seeds := newKafka(t)
	p := startDev(t, []string{"KAFKA_BROKERS=" + strings.Join(seeds, ",")}, "-f", writeManifest(t, string(out)))
	if !strings.Contains(p.Output(), "Trigger/catalyst/"+tr.Name) {
		t.Fatalf("catalyst dev does not list Trigger/catalyst/%s:\n%s", tr.Name, p.Output())
	}
	for _, e := range c.events {
		ce := testenv.NewEvent(e.id, e.typ, e.ext)
		if got := testenv.PostAs(t, p.IngressURL+"/catalyst/default", testenv.PlatformToken, ce); got != http.StatusAccepted {
			t.Fatalf("post %s: %d, want 202", e.id, got)
		}
	}
	// Twice: the first wait lets echo-ping hand its pongs to the broker, the second
	// covers those pongs too.
	groups := []string{"knative-trigger-catalyst-" + tr.Name, "knative-trigger-catalyst-echo-ping"}
	testenv.WaitCaughtUp(t, seeds, brokerTopic, groups...)
	testenv.WaitCaughtUp(t, seeds, brokerTopic, groups...)

	got := map[string]int{}
	var seq []string
	for _, e := range sink.Received() {
		got[receivedKey(e)]++
		if e.Extensions()["partitionkey"] == "seq" {
			seq = append(seq, e.ID())
		}
	}
	want := map[string]int{}
	var wantSeq []string
	for _, k := range c.want {
		want[k] = 1
		if strings.HasPrefix(k, "flaky-") {
			want[k] = 2
		}
	}
	for _, e := range c.events {
		if e.ext["partitionkey"] == "seq" && want[e.id] > 0 {
			for range want[e.id] {
				wantSeq = append(wantSeq, e.id)
			}
		}
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("%s: subscriber received %v, want %v (key: times)", base, sorted(got), sorted(want))
	}
	if c.ordered && !slices.Equal(seq, wantSeq) {
		t.Errorf("%s: partition \"seq\" arrived as %v, want %v in order", base, seq, wantSeq)
	}
	checkDeadLetters(t, base, dead, sink.URL, c.deadLettered)
}

// loadExample reads the file as catalyst dev does and checks it together with the
// repository's manifests, unchanged: the placeholder URIs must validate too.
func loadExample(t *testing.T, file string) *eventing.Trigger {
	t.Helper()
	set, err := manifest.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Triggers) != 1 || len(set.Sources) != 1 {
		t.Fatalf("%s: want exactly one Trigger, got %v", file, set.Sources)
	}
	var tr *eventing.Trigger
	for _, v := range set.Triggers {
		tr = v
	}
	if tr.Namespace != manifest.DefaultNamespace || tr.Spec.Broker != "default" {
		t.Errorf("%s: an integrator's trigger belongs to namespace catalyst, broker default; got %s, %q", file, tr.Namespace, tr.Spec.Broker)
	}
	repo, err := manifest.Load(filepath.Join(repoRoot, "brokers"), filepath.Join(repoRoot, "triggers"), filepath.Join(repoRoot, "knative"), file)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := functions.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if ferr := repo.Check(context.Background(), reg); ferr != nil {
		t.Fatalf("%s does not validate:\n%v", file, ferr)
	}
	return tr
}

// sinkURI swaps the placeholder host of an example's URI for a test sink's, keeping
// the path.
func sinkURI(t *testing.T, u *apis.URL, sinkURL, field string) *apis.URL {
	t.Helper()
	if u == nil || !strings.HasPrefix(u.String(), placeholderBase) {
		t.Fatalf("%s is %v, want a placeholder webhook under %s", field, u, placeholderBase)
	}
	nu, err := apis.ParseURL(sinkURL + "/" + strings.TrimPrefix(u.String(), placeholderBase))
	if err != nil {
		t.Fatal(err)
	}
	return nu
}

func checkDeadLetters(t *testing.T, base string, dead *testenv.Sink, subscriber string, want []string) {
	t.Helper()
	var ids []string
	for _, e := range dead.Received() {
		ids = append(ids, e.ID())
		ext := e.Extensions()
		data, _ := base64.StdEncoding.DecodeString(fmt.Sprint(ext["knativeerrordata"]))
		if fmt.Sprint(ext["knativeerrorcode"]) != "400" || !strings.HasPrefix(fmt.Sprint(ext["knativeerrordest"]), subscriber) ||
			!strings.Contains(string(data), "Bad Request") {
			t.Errorf("%s: dead letter %s lacks the failure: %v (data %q)", base, e.ID(), ext, data)
		}
	}
	sort.Strings(ids)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(ids, want) {
		t.Errorf("%s: dead-letter sink received %v, want %v", base, ids, want)
	}
}

// sorted renders a count map deterministically.
func sorted(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s:%d", k, n))
	}
	sort.Strings(out)
	return out
}
