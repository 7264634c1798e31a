package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// trimEvery is how often the embedded Kafka drops what every subscription has
// consumed (Runtime.trimConsumed).
const trimEvery = 10 * time.Second

// trimConsumed bounds the embedded Kafka's memory: kfake keeps every record for the
// topic's retention (7 days in brokers/), so a long run of `catalyst dev` grew by
// its whole event stream — 1.2 GB over ten minutes at 300 messages/s. Every
// trimEvery, each topic's records below the lowest offset committed by all of its
// subscriptions are deleted (DeleteRecords): what every Trigger has finished with.
// A subscription still retrying an event has not committed past it, so nothing
// unconsumed is lost; what is lost is replay of old events, which a real cluster
// keeps for its retention. Runs only against the embedded cluster.
func (r *Runtime) trimConsumed(ctx context.Context) {
	if !r.kafka.Embedded() {
		return
	}
	groups := map[string][]string{} // topic → its subscriptions' groups
	for _, s := range r.subs {
		groups[s.topic] = append(groups[s.topic], s.group)
	}
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for topic, gs := range groups {
			if err := r.kafka.trimConsumed(ctx, topic, gs); err != nil && ctx.Err() == nil {
				r.log.Warn("embedded kafka: dropping consumed records failed; retrying", "topic", topic, "error", err)
			}
		}
	}
}

// trimConsumed deletes topic's records that every group in groups has committed.
// A partition some group has no commit for is left alone.
func (k *Kafka) trimConsumed(ctx context.Context, topic string, groups []string) error {
	low := map[int32]int64{}
	for i, g := range groups {
		committed, err := k.admin.FetchOffsetsForTopics(ctx, g, topic)
		if err != nil {
			return fmt.Errorf("offsets of %s: %w", g, err)
		}
		seen := map[int32]bool{}
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil || o.Topic != topic || o.At < 0 {
				return
			}
			seen[o.Partition] = true
			if cur, ok := low[o.Partition]; i == 0 || ok && o.At < cur {
				low[o.Partition] = o.At
			}
		})
		for p := range low {
			if !seen[p] {
				delete(low, p) // this group has not committed it: keep everything
			}
		}
	}
	if len(low) == 0 {
		return nil
	}
	to := kadm.Offsets{}
	for p, at := range low {
		to.Add(kadm.Offset{Topic: topic, Partition: p, At: at})
	}
	res, err := k.admin.DeleteRecords(ctx, to)
	if err != nil {
		return err
	}
	return res.Error()
}
