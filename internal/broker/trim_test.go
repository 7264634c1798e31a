package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The embedded Kafka drops a partition's records below the lowest offset every
// group committed, and nothing of a partition a group has not committed.
func TestTrimConsumedKeepsWhatAnyGroupStillNeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, err := OpenKafka(ctx, KafkaConfig{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	const topic = "trim-test"
	if err := k.EnsureTopic(ctx, TopicSpec{Name: topic, Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(k.Seeds()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for i := range 10 {
		for p := range int32(2) {
			r := &kgo.Record{Topic: topic, Partition: p, Value: []byte{byte(i)}}
			if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit := func(group string, offsets map[int32]int64) {
		o := kadm.Offsets{}
		for p, at := range offsets {
			o.Add(kadm.Offset{Topic: topic, Partition: p, At: at})
		}
		if _, err := k.admin.CommitOffsets(ctx, group, o); err != nil {
			t.Fatal(err)
		}
	}
	commit("fast", map[int32]int64{0: 9, 1: 8})
	commit("slow", map[int32]int64{0: 4}) // nothing of partition 1
	if err := k.trimConsumed(ctx, topic, []string{"fast", "slow"}); err != nil {
		t.Fatal(err)
	}
	starts, err := k.admin.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 4, 1: 0} {
		if got, _ := starts.Lookup(topic, p); got.Offset != want {
			t.Errorf("partition %d starts at %d, want %d", p, got.Offset, want)
		}
	}
}
