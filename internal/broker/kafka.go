package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaConfig selects the Kafka cluster the broker stores events in.
type KafkaConfig struct {
	// Brokers are seed addresses of a real cluster (KAFKA_BROKERS). Empty starts an
	// embedded single-broker cluster (franz-go's kfake) inside the process.
	Brokers []string
	// DataDir, for the embedded cluster only, persists its log to disk (fsync per
	// batch) so events survive a restart of the process; empty keeps it in memory.
	DataDir string
}

// Kafka is a connected cluster: a producer shared by ingress, replies and channels,
// and an admin client for topics and consumer-group offsets.
type Kafka struct {
	log      *slog.Logger
	seeds    []string
	cluster  *kfake.Cluster
	producer *kgo.Client
	admin    *kadm.Client
}

// embeddedSegmentBytes is the embedded cluster's log segment size.
const embeddedSegmentBytes = 4 << 20

// OpenKafka connects to cfg.Brokers or starts the embedded cluster.
func OpenKafka(ctx context.Context, cfg KafkaConfig, log *slog.Logger) (*Kafka, error) {
	k := &Kafka{log: log, seeds: cfg.Brokers}
	if len(k.seeds) == 0 {
		// Small segments: records are freed a whole segment at a time once every
		// Trigger has consumed them (trimConsumed); kfake's 100 MiB default per
		// partition held a gigabyte before the first was freed.
		opts := []kfake.Opt{kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(embeddedSegmentBytes)})}
		if cfg.DataDir != "" {
			opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
		}
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			return nil, fmt.Errorf("start embedded kafka: %w", err)
		}
		k.cluster = c
		k.seeds = c.ListenAddrs()
	}
	producer, err := kgo.NewClient(
		kgo.SeedBrokers(k.seeds...),
		kgo.WithLogger(kafkaLogger(log, "kafka-producer")),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Keep producing to a topic a moment before it exists fails fast instead of
		// hanging an ingress request.
		kgo.RecordDeliveryTimeout(defaultProduceTimeout),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	k.producer = producer
	k.admin = kadm.NewClient(producer)
	if err := producer.Ping(ctx); err != nil {
		k.Close()
		return nil, fmt.Errorf("kafka %v unreachable: %w", k.seeds, err)
	}
	return k, nil
}

// Seeds are the addresses clients connect to.
func (k *Kafka) Seeds() []string { return k.seeds }

// Embedded reports whether the cluster runs inside this process.
func (k *Kafka) Embedded() bool { return k.cluster != nil }

// Close flushes and closes the clients, then stops the embedded cluster.
func (k *Kafka) Close() {
	if k.producer != nil {
		k.producer.Close()
	}
	if k.cluster != nil {
		k.cluster.Close()
	}
}

// TopicSpec is how a topic is created when missing.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	RetentionMillis   int64 // 0 keeps the cluster default
}

// EnsureTopic creates the topic unless it exists. The replication factor is capped by
// the number of brokers (the embedded cluster has one), with a warning.
func (k *Kafka) EnsureTopic(ctx context.Context, t TopicSpec) error {
	meta, err := k.admin.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	rf := t.ReplicationFactor
	if n := int16(len(meta.Brokers)); rf > n {
		k.log.Warn("replication factor above broker count; capped", "topic", t.Name, "want", rf, "brokers", n)
		rf = n
	}
	var configs map[string]*string
	if t.RetentionMillis > 0 {
		v := strconv.FormatInt(t.RetentionMillis, 10)
		configs = map[string]*string{"retention.ms": &v}
	}
	resp, err := k.admin.CreateTopic(ctx, t.Partitions, rf, configs, t.Name)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", t.Name, err)
	}
	return nil
}

// initGroup makes a consumer group with no committed offsets start at the topic's
// current end ("latest", Knative's default for a new trigger), committed before any
// consumer runs. Committing up front, rather than letting the consumer reset when it
// joins, closes the window in which an event accepted between start-up and the
// group's first fetch would be skipped.
func (k *Kafka) initGroup(ctx context.Context, group, topic string) error {
	committed, err := k.admin.FetchOffsetsForTopics(ctx, group, topic)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // a group that never committed
	}
	if err != nil {
		return fmt.Errorf("fetch offsets of %s: %w", group, err)
	}
	ends, err := k.admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	todo := kadm.Offsets{}
	ends.Each(func(o kadm.ListedOffset) {
		if c, ok := committed.Lookup(topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			return
		}
		todo.Add(kadm.Offset{Topic: topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
	})
	if len(todo) == 0 {
		return nil
	}
	if err := k.admin.CommitAllOffsets(ctx, group, todo); err != nil {
		return fmt.Errorf("commit initial offsets of %s: %w", group, err)
	}
	return nil
}

// produce writes one record and waits for the cluster's acknowledgement.
func (k *Kafka) produce(ctx context.Context, r *kgo.Record) error {
	return k.producer.ProduceSync(ctx, r).FirstErr()
}
