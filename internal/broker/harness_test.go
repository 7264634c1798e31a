package broker

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// baseManifests is a broker and the echo function's Service; tests add triggers.
const baseManifests = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations:
    eventing.knative.dev/broker.class: Kafka
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: echo
spec:
  template:
    spec:
      containers:
        - image: ko://github.com/catalyst-cpaas/catalyst/cmd/catalyst
          args: [function, echo]
`

type harness struct {
	rt      *Runtime
	ingress *httptest.Server
	reg     *prometheus.Registry
	stop    func() // stops the runtime (also run at cleanup); safe to call twice
}

func testRegistry(t testing.TB) *fn.Registry {
	t.Helper()
	reg, err := fn.NewRegistry(echo.Definition())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startRuntime runs a broker runtime over baseManifests plus extra YAML on an
// embedded Kafka until the test ends.
func startRuntime(t testing.TB, extra string) *harness {
	t.Helper()
	return startRuntimeOn(t, extra, KafkaConfig{})
}

// startRuntimeOn is startRuntime on the given Kafka.
func startRuntimeOn(t testing.TB, extra string, kafka KafkaConfig) *harness {
	t.Helper()
	return startRuntimeWith(t, extra, kafka, IngressAuth{PlatformToken: testenv.PlatformToken})
}

// startRuntimeWith is startRuntimeOn with the ingress's credentials.
func startRuntimeWith(t testing.TB, extra string, kafka KafkaConfig, auth IngressAuth) *harness {
	t.Helper()
	set := manifest.NewSet()
	if err := set.LoadYAML("test.yaml", []byte(baseManifests+"\n---\n"+extra)); err != nil {
		t.Fatal(err)
	}
	promReg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := New(ctx, Options{Manifests: set, Registry: testRegistry(t), Kafka: kafka, Registerer: promReg, Logger: testLogger(t),
		Ingress: auth})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	srv := httptest.NewServer(rt)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runtime: %v", err)
			}
			rt.Close()
		})
	}
	t.Cleanup(stop)
	return &harness{rt: rt, ingress: srv, reg: promReg, stop: stop}
}

// post sends e to the catalyst/default broker in binary mode, with the platform
// token, and returns the status.
func (h *harness) post(t testing.TB, e event.Event) int {
	t.Helper()
	return testenv.PostAs(t, h.ingress.URL+"/catalyst/default", testenv.PlatformToken, e)
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func keyOf(namespace, name string) manifest.Key {
	return manifest.Key{Namespace: namespace, Name: name}
}
