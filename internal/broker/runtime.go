// Package broker runs Catalyst's Knative manifests in one process: a Kafka-class
// broker's HTTP ingress, its topic, and a dispatcher delivering each event to every
// Trigger whose filter matches (in-process functions, HTTP URIs, brokers, Sequences),
// with Knative's delivery spec (retries, backoff, dead-letter sink), replies
// re-entering the broker, and Sequences walked step by step over their own channels.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/catalyst-cpaas/catalyst/internal/eventfilter"
	"github.com/catalyst-cpaas/catalyst/internal/eventing"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/fnhttp"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
)

// Options configure a Runtime.
type Options struct {
	Manifests *manifest.Set
	Registry  *fn.Registry
	// Deps are given to every function the runtime constructs.
	Deps  fn.Deps
	Kafka KafkaConfig
	// Registerer receives the broker's metrics; FunctionMetrics counts in-process
	// function calls. Either may be nil.
	Registerer      prometheus.Registerer
	FunctionMetrics *fnhttp.Metrics
	// HTTPClient delivers to uri subscribers; nil uses a client without a timeout
	// (attempt timeouts come from the delivery spec).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// FunctionsOverHTTP serves every function the manifests reference on its own
	// loopback HTTP server (the CloudEvents handler a Knative pod runs) and delivers
	// to it over HTTP, as a cluster does, instead of calling it in-process: catalyst
	// dev --unfused, so the hops cost what they cost in a cluster.
	FunctionsOverHTTP bool
	// MaxInFlight bounds each unordered subscription's concurrent deliveries
	// (0: DefaultMaxInFlight).
	MaxInFlight int
	// InstanceID, when set, makes every consumer a static group member
	// (InstanceID + "/" + group): a process restarted with the same id takes its
	// predecessor's place and partitions at once, instead of waiting for the dead
	// member to be expired. Each process sharing a group needs its own (a pod's
	// name); empty keeps dynamic membership.
	InstanceID string
	// Ingress says who may post which events to the HTTP ingress; its zero value
	// refuses every request.
	Ingress IngressAuth
}

// Runtime is a running broker plane. It is an http.Handler: the ingress.
type Runtime struct {
	log          *slog.Logger
	opts         Options
	kafka        *Kafka
	metrics      *metrics
	brokerTopics map[manifest.Key]string
	functions    map[string]*functionTarget
	// servers serve the functions over loopback HTTP (FunctionsOverHTTP), by name.
	servers map[string]*httpFunction
	subs    []*subscription
}

// New checks the manifests (every error with its field path), connects to Kafka,
// creates the topics, constructs the referenced functions and pins each consumer
// group's starting offsets. After New returns the ingress may accept events: none is
// missed by a trigger, even before Run starts consuming.
func New(ctx context.Context, o Options) (*Runtime, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if ferr := o.Manifests.Check(ctx, o.Registry); ferr != nil {
		return nil, fmt.Errorf("manifests invalid:\n%w", ferr)
	}
	k, err := OpenKafka(ctx, o.Kafka, o.Logger)
	if err != nil {
		return nil, err
	}
	r := &Runtime{
		log: o.Logger, opts: o, kafka: k, metrics: newMetrics(o.Registerer),
		brokerTopics: map[manifest.Key]string{}, functions: map[string]*functionTarget{},
		servers: map[string]*httpFunction{},
	}
	if err := r.build(ctx); err != nil {
		k.Close()
		return nil, err
	}
	return r, nil
}

// Kafka is the cluster the runtime stores events in.
func (r *Runtime) Kafka() *Kafka { return r.kafka }

// Subscriptions names every trigger and sequence step the runtime delivers to.
func (r *Runtime) Subscriptions() []string {
	names := make([]string, len(r.subs))
	for i, s := range r.subs {
		names[i] = s.name
	}
	return names
}

// Run consumes and delivers until ctx ends, then waits for in-flight deliveries to
// stop and commits what finished.
func (r *Runtime) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(r.subs))
	wg.Go(func() { r.trimConsumed(ctx) })
	for _, s := range r.subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(ctx, r.kafka); err != nil {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// Close stops the functions that hold resources (connectors' binds), then releases
// Kafka (and stops the embedded cluster).
func (r *Runtime) Close() {
	for _, srv := range r.servers {
		_ = srv.Close()
	}
	for name, f := range r.functions {
		if c, ok := f.fn.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				r.log.Warn("function close", "function", name, "error", err)
			}
		}
	}
	r.kafka.Close()
}

// BrokerTopic is the Knative Kafka broker's topic name for a broker.
func BrokerTopic(k manifest.Key) string { return "knative-broker-" + k.Namespace + "-" + k.Name }

// sequenceChannelTopic names the KafkaChannel between a Sequence's steps, as Knative
// names the channel <sequence>-kn-sequence-<i>.
func sequenceChannelTopic(k manifest.Key, step int) string {
	return fmt.Sprintf("knative-messaging-kafka.%s.%s-kn-sequence-%d", k.Namespace, k.Name, step)
}

func (r *Runtime) build(ctx context.Context) error {
	set := r.opts.Manifests
	for _, key := range sortedKeys(set.Brokers) {
		if err := r.kafka.EnsureTopic(ctx, r.brokerTopicSpec(key, set.Brokers[key])); err != nil {
			return err
		}
		r.brokerTopics[key] = BrokerTopic(key)
	}
	for _, key := range sortedKeys(set.Sequences) {
		if err := r.buildSequence(ctx, key, set.Sequences[key]); err != nil {
			return err
		}
	}
	for _, key := range sortedKeys(set.Triggers) {
		if err := r.buildTrigger(key, set.Triggers[key]); err != nil {
			return err
		}
	}
	for _, s := range r.subs {
		if err := r.kafka.initGroup(ctx, s.group, s.topic); err != nil {
			return err
		}
	}
	return nil
}

// brokerTopicSpec reads the broker's ConfigMap (Knative's kafka-broker-config keys).
func (r *Runtime) brokerTopicSpec(key manifest.Key, b *eventing.Broker) TopicSpec {
	spec := TopicSpec{Name: BrokerTopic(key), Partitions: 10, ReplicationFactor: 1}
	if b.Spec.Config == nil {
		return spec
	}
	ns := b.Spec.Config.Namespace
	if ns == "" {
		ns = key.Namespace
	}
	cm := r.opts.Manifests.ConfigMaps[manifest.Key{Namespace: ns, Name: b.Spec.Config.Name}]
	if cm == nil {
		return spec
	}
	if n, err := strconv.ParseInt(cm.Data["default.topic.partitions"], 10, 32); err == nil && n > 0 {
		spec.Partitions = int32(n)
	}
	if n, err := strconv.ParseInt(cm.Data["default.topic.replication.factor"], 10, 16); err == nil && n > 0 {
		spec.ReplicationFactor = int16(n)
	}
	if n, err := strconv.ParseInt(cm.Data["default.topic.retention.ms"], 10, 64); err == nil && n > 0 {
		spec.RetentionMillis = n
	}
	return spec
}

func (r *Runtime) buildTrigger(key manifest.Key, t *eventing.Trigger) error {
	name := "Trigger/" + key.String()
	brokerKey := manifest.Key{Namespace: key.Namespace, Name: t.Spec.Broker}
	b := r.opts.Manifests.Brokers[brokerKey]
	filter, err := eventfilter.ForTrigger(t.Spec.Filter, t.Spec.Filters)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	spec := eventing.MergeDelivery(b.Spec.Delivery, t.Spec.Delivery)
	d, err := r.deliverer(name, key.Namespace, &t.Spec.Subscriber, spec)
	if err != nil {
		return err
	}
	d.reply = &topicTarget{name: "broker:" + brokerKey.String(), topic: BrokerTopic(brokerKey), kafka: r.kafka}
	types, _ := eventfilter.Types(filter)
	r.subs = append(r.subs, &subscription{
		name: name, topic: BrokerTopic(brokerKey), group: "knative-trigger-" + key.Namespace + "-" + key.Name,
		filter: filter, types: types, d: d, ordered: t.Annotations[eventing.DeliveryOrderAnnotation] == "ordered",
		maxInFlight: r.opts.MaxInFlight, instance: r.opts.InstanceID, log: r.log,
	})
	return nil
}

func (r *Runtime) buildSequence(ctx context.Context, key manifest.Key, q *eventing.Sequence) error {
	partitions, replication := int32(1), int16(1)
	if ch, err := q.Spec.ChannelTemplate.KafkaChannel(); err == nil {
		if ch.NumPartitions > 0 {
			partitions = ch.NumPartitions
		}
		if ch.ReplicationFactor > 0 {
			replication = ch.ReplicationFactor
		}
	}
	for i := range q.Spec.Steps {
		spec := TopicSpec{Name: sequenceChannelTopic(key, i), Partitions: partitions, ReplicationFactor: replication}
		if err := r.kafka.EnsureTopic(ctx, spec); err != nil {
			return err
		}
	}
	for i := range q.Spec.Steps {
		step := &q.Spec.Steps[i]
		name := fmt.Sprintf("Sequence/%s/step-%d", key, i)
		d, err := r.deliverer(name, key.Namespace, &step.Destination, step.Delivery)
		if err != nil {
			return err
		}
		switch {
		case i+1 < len(q.Spec.Steps):
			next := sequenceChannelTopic(key, i+1)
			d.reply = &topicTarget{name: "channel:" + next, topic: next, kafka: r.kafka}
		case q.Spec.Reply != nil:
			if d.reply, err = r.resolve(key.Namespace, q.Spec.Reply); err != nil {
				return fmt.Errorf("%s reply: %w", name, err)
			}
		}
		r.subs = append(r.subs, &subscription{
			name: name, topic: sequenceChannelTopic(key, i),
			group: fmt.Sprintf("knative-sequence-%s-%s-%d", key.Namespace, key.Name, i),
			d:     d, ordered: true, maxInFlight: r.opts.MaxInFlight, instance: r.opts.InstanceID, log: r.log,
		})
	}
	return nil
}

func (r *Runtime) deliverer(name, ns string, sub *duckv1.Destination, spec *eventing.DeliverySpec) (*deliverer, error) {
	t, err := r.resolve(ns, sub)
	if err != nil {
		return nil, fmt.Errorf("%s subscriber: %w", name, err)
	}
	d := &deliverer{name: name, target: t, spec: spec, log: r.log, metrics: r.metrics}
	if spec != nil && spec.DeadLetterSink != nil {
		if d.dls, err = r.resolve(ns, spec.DeadLetterSink); err != nil {
			return nil, fmt.Errorf("%s dead-letter sink: %w", name, err)
		}
	}
	return d, nil
}

// resolve turns a Destination into a target: a Knative Service runs its registered
// function in-process; a Broker or Sequence is a Kafka topic; a URI is an HTTP POST.
func (r *Runtime) resolve(ns string, d *duckv1.Destination) (target, error) {
	if d.Ref == nil {
		if d.URI == nil {
			return nil, fmt.Errorf("destination has neither ref nor uri")
		}
		return &httpTarget{url: d.URI.String(), client: r.opts.HTTPClient, external: true}, nil
	}
	if d.URI != nil {
		return nil, fmt.Errorf("ref with a uri path is not supported in-process")
	}
	key := manifest.Key{Namespace: d.Ref.Namespace, Name: d.Ref.Name}
	if key.Namespace == "" {
		key.Namespace = ns
	}
	set := r.opts.Manifests
	switch d.Ref.Kind {
	case "Service":
		svc, ok := set.Services[key]
		if !ok {
			return nil, fmt.Errorf("service %s not found", key)
		}
		name, err := svc.FunctionName()
		if err != nil {
			return nil, err
		}
		f, err := r.function(name)
		switch {
		case err != nil:
			return nil, err
		case r.opts.FunctionsOverHTTP:
			return r.overHTTP(f)
		}
		return f, nil
	case "Broker":
		if _, ok := set.Brokers[key]; !ok {
			return nil, fmt.Errorf("broker %s not found", key)
		}
		return &topicTarget{name: "broker:" + key.String(), topic: BrokerTopic(key), kafka: r.kafka}, nil
	case "Sequence":
		if _, ok := set.Sequences[key]; !ok {
			return nil, fmt.Errorf("sequence %s not found", key)
		}
		return &topicTarget{name: "sequence:" + key.String(), topic: sequenceChannelTopic(key, 0), kafka: r.kafka}, nil
	}
	return nil, fmt.Errorf("unsupported destination kind %s/%s", d.Ref.APIVersion, d.Ref.Kind)
}

// function constructs a registered function once and shares it among subscriptions.
func (r *Runtime) function(name string) (*functionTarget, error) {
	if t, ok := r.functions[name]; ok {
		return t, nil
	}
	def, ok := r.opts.Registry.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("function %q is not registered", name)
	}
	deps := r.opts.Deps
	if deps.Logger == nil {
		deps.Logger = r.log
	}
	if deps.Emitter == nil {
		// A function run in-process emits into the broker it runs behind.
		if em, err := r.Emitter(manifest.DefaultNamespace, "default"); err == nil {
			deps.Emitter = em
		}
	}
	deps.Logger = deps.Logger.With("function", name)
	f, err := def.New(deps)
	if err != nil {
		return nil, fmt.Errorf("construct function %s: %w", name, err)
	}
	t := &functionTarget{name: name, fn: f, metrics: r.opts.FunctionMetrics, log: r.log}
	r.functions[name] = t
	return t, nil
}

func sortedKeys[V any](m map[manifest.Key]V) []manifest.Key {
	keys := make([]manifest.Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// Brokers names every broker the ingress serves, as namespace/name.
func (r *Runtime) Brokers() []string {
	names := make([]string, 0, len(r.brokerTopics))
	for _, k := range sortedKeys(r.brokerTopics) {
		names = append(names, k.String())
	}
	return names
}

// Emitter stores events in one broker's topic, as its ingress does after validating
// them: how in-process producers such as the HTTP API emit.
type Emitter struct {
	kafka *Kafka
	topic string
}

// Emitter returns the emitter for broker namespace/name.
func (r *Runtime) Emitter(namespace, name string) (*Emitter, error) {
	topic, ok := r.brokerTopics[manifest.Key{Namespace: namespace, Name: name}]
	if !ok {
		return nil, fmt.Errorf("broker %s/%s not found", namespace, name)
	}
	return &Emitter{kafka: r.kafka, topic: topic}, nil
}

// Emit validates e and returns once Kafka has stored it.
func (em *Emitter) Emit(ctx context.Context, e event.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("emit invalid event: %w", err)
	}
	rec, err := toRecord(em.topic, &e)
	if err != nil {
		return err
	}
	return em.kafka.produce(ctx, rec)
}
