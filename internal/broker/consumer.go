package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/catalyst-cpaas/catalyst/internal/eventfilter"
)

const (
	// maxPollRecords bounds one batch; offsets are committed once per batch.
	maxPollRecords = 1000
	// defaultMaxInFlight bounds concurrent deliveries of an unordered subscription.
	defaultMaxInFlight = 128
	commitTimeout      = 10 * time.Second
)

// subscription is one consumer group reading one topic: a Trigger on its broker's
// topic, or a Sequence step on its channel's topic.
type subscription struct {
	name    string // "Trigger/catalyst/echo-ping" or "Sequence/catalyst/x/step-0"
	topic   string
	group   string
	filter  eventfilter.Filter // nil matches everything
	d       *deliverer
	ordered bool // one partition's events one at a time, in offset order
	log     *slog.Logger
}

// run consumes until ctx ends. Each polled batch is delivered (partitions in parallel;
// within a partition in order when ordered, else concurrently), then each partition's
// offset is committed up to the last record before which everything reached a final
// state. A record interrupted by shutdown is not committed and is delivered again
// after restart: at least once, nothing lost.
func (s *subscription) run(ctx context.Context, k *Kafka) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(k.seeds...),
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeTopics(s.topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.WithLogger(kslog.New(s.log.With("component", "kafka-consumer", "group", s.group))),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	inFlight := make(chan struct{}, defaultMaxInFlight)
	for {
		fetches := cl.PollRecords(ctx, maxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			// A poll blocks rebalances until allowed; leaving the group on Close
			// waits for that, so allow it before returning.
			cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.log.Warn("fetch error", "group", s.group, "topic", topic, "partition", p, "error", err)
		})
		var (
			mu     sync.Mutex
			commit []*kgo.Record
			wg     sync.WaitGroup
		)
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			wg.Add(1)
			go func(recs []*kgo.Record) {
				defer wg.Done()
				if last := s.deliverPartition(ctx, recs, inFlight); last != nil {
					mu.Lock()
					commit = append(commit, last)
					mu.Unlock()
				}
			}(p.Records)
		})
		wg.Wait()
		if len(commit) > 0 {
			// Commit even while shutting down: what finished must not be redelivered.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			if err := cl.CommitRecords(cctx, commit...); err != nil {
				s.log.Warn("offset commit failed; those events will be redelivered", "group", s.group, "error", err)
			}
			cancel()
		}
		cl.AllowRebalance()
	}
}

// deliverPartition delivers one partition's records and returns the last record of the
// longest finished prefix (nil when the first did not finish).
func (s *subscription) deliverPartition(ctx context.Context, recs []*kgo.Record, inFlight chan struct{}) *kgo.Record {
	done := make([]bool, len(recs))
	if s.ordered {
		for i, r := range recs {
			if done[i] = s.handle(ctx, r); !done[i] {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
	launch:
		for i, r := range recs {
			select {
			case inFlight <- struct{}{}:
			case <-ctx.Done():
				break launch
			}
			wg.Add(1)
			go func() {
				defer func() { <-inFlight; wg.Done() }()
				done[i] = s.handle(ctx, r)
			}()
		}
		wg.Wait()
	}
	var last *kgo.Record
	for i, ok := range done {
		if !ok {
			break
		}
		last = recs[i]
	}
	return last
}

// handle decodes, filters and delivers one record; true means it reached a final state.
func (s *subscription) handle(ctx context.Context, r *kgo.Record) bool {
	e, err := fromRecord(r)
	if err != nil {
		// Nothing can deliver it; the ingress validates, so only a foreign producer
		// writes such records.
		s.log.Error("undecodable record skipped", "group", s.group, "error", err)
		s.d.metrics.deliveries.WithLabelValues(s.name, resultUndecodable).Inc()
		return true
	}
	if s.filter != nil && !s.filter.Match(ctx, *e) {
		return true
	}
	return s.d.deliver(ctx, e)
}
