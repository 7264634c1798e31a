package broker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/catalyst-cpaas/catalyst/internal/eventfilter"
)

const (
	// maxPollRecords bounds one poll.
	maxPollRecords = 500
	// DefaultMaxInFlight bounds concurrent deliveries of an unordered subscription
	// (Options.MaxInFlight). Deliveries wait on stores and batches more than on the
	// CPU, so a subscription's rate is about MaxInFlight / delivery latency: 128
	// capped the fused path near 1,800 messages/s on 2 cores with the CPU idle.
	DefaultMaxInFlight = 512
	// maxUncommitted bounds records polled but not yet committable (delivered, but
	// behind an older record still retrying). When it fills, polling waits: a stuck
	// event stalls its subscription visibly instead of growing memory.
	maxUncommitted = 10000
	// orderedQueue is each partition's backlog in an ordered subscription.
	orderedQueue  = 256
	commitEvery   = 500 * time.Millisecond
	commitTimeout = 10 * time.Second
)

// subscription is one consumer group reading one topic: a Trigger on its broker's
// topic, or a Sequence step on its channel's topic.
type subscription struct {
	name   string // "Trigger/catalyst/echo-ping" or "Sequence/catalyst/x/step-0"
	topic  string
	group  string
	filter eventfilter.Filter // nil matches everything
	// types, when set, are the only event types filter can match
	// (eventfilter.Types): a record of another type is passed over by its type
	// header, without decoding it or starting a delivery.
	types   map[string]bool
	d       *deliverer
	ordered bool // one partition's events one at a time, in offset order
	// maxInFlight bounds concurrent deliveries when unordered.
	maxInFlight int
	// instance, when set, is the process's static member id (Options.InstanceID).
	instance string
	log      *slog.Logger
}

// run consumes until ctx ends. Records are delivered as they arrive, never waiting
// for a batch: unordered, each in its own goroutine (at most maxInFlight);
// ordered, one at a time per partition. Each partition's offset is committed up to
// the last record before which every record reached a final state (delivered,
// dead-lettered or dropped), so a record still retrying, or interrupted by shutdown
// or a crash, is delivered again later: at least once, nothing lost.
func (s *subscription) run(ctx context.Context, k *Kafka) error {
	c := &consumer{sub: s, ctx: ctx, parts: map[int32]*partition{}, work: make(chan *slot),
		inFlight: make(chan struct{}, s.maxInFlight), window: make(chan struct{}, maxUncommitted)}
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.seeds...),
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeTopics(s.topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500 * time.Millisecond),
		// A member that crashed without leaving holds its partitions until its session
		// times out; 10s (the Kafka client default before 3.0) bounds that pause
		// after a crash, where franz-go's 45s default would stall a restart.
		kgo.SessionTimeout(10 * time.Second),
		kgo.HeartbeatInterval(3 * time.Second),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.revoked),
		kgo.WithLogger(kafkaLogger(s.log.With("group", s.group), "kafka-consumer")),
	}
	if s.instance != "" {
		opts = append(opts, kgo.InstanceID(s.instance+"/"+s.group))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	c.cl = cl
	defer cl.Close()
	committerDone := make(chan struct{})
	go func() { defer close(committerDone); c.commitLoop() }()
	for {
		fetches := cl.PollRecords(ctx, maxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.log.Warn("fetch error", "group", s.group, "topic", topic, "partition", p, "error", err)
		})
		fetches.EachRecord(c.dispatch)
	}
	c.wg.Wait()
	<-committerDone
	c.commit() // what finished while stopping must not be redelivered
	return nil
}

// consumer is one run of a subscription.
type consumer struct {
	sub      *subscription
	ctx      context.Context
	cl       *kgo.Client
	inFlight chan struct{} // unordered delivery slots
	work     chan *slot    // unbuffered: records handed to idle workers
	window   chan struct{} // uncommitted-record slots
	wg       sync.WaitGroup

	mu    sync.Mutex
	parts map[int32]*partition
}

// partition tracks one partition's records from poll to commit.
type partition struct {
	pending   []*slot       // polled, in offset order, not yet committable
	committed *kgo.Record   // last committable record not yet committed
	queue     chan *slot    // ordered subscriptions only
	stop      chan struct{} // closed when the partition is revoked
}

type slot struct {
	rec  *kgo.Record
	done bool
}

func (c *consumer) dispatch(r *kgo.Record) {
	select {
	case c.window <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	sl := &slot{rec: r}
	skip := c.sub.types != nil && !c.sub.types[recordType(r)]
	c.mu.Lock()
	p := c.parts[r.Partition]
	if p == nil {
		p = &partition{}
		c.parts[r.Partition] = p
	}
	p.pending = append(p.pending, sl)
	if skip {
		c.mu.Unlock()
		c.finish(sl, true) // not for this subscription: final at once
		return
	}
	if c.sub.ordered && p.queue == nil {
		p.queue, p.stop = make(chan *slot, orderedQueue), make(chan struct{})
		c.wg.Add(1)
		go c.deliverInOrder(p.queue, p.stop)
	}
	queue, stop := p.queue, p.stop
	c.mu.Unlock()

	if queue != nil {
		select {
		case queue <- sl:
		case <-stop:
		case <-c.ctx.Done():
		}
		return
	}
	select {
	case c.inFlight <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	c.wg.Add(1)
	select {
	case c.work <- sl: // an idle worker takes it
	default:
		go c.worker(sl)
	}
}

// workerIdle is how long a delivery worker waits for another record before it
// exits. Workers outlive one delivery so their stacks, grown by the deep decode,
// validate and store paths, are reused: a goroutine per record spent 5–7 % of the
// platform's CPU growing stacks (runtime.newstack, copystack).
const workerIdle = time.Second

// worker delivers sl, then whatever records it is handed, until it has been idle
// for workerIdle or the subscription stops.
func (c *consumer) worker(sl *slot) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		c.finish(sl, c.sub.handle(c.ctx, sl.rec))
		<-c.inFlight
		c.wg.Done()
		idle.Reset(workerIdle)
		select {
		case sl = <-c.work:
		case <-idle.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// recordType is a record's ce_type header ("" when it has none).
func recordType(r *kgo.Record) string {
	for _, h := range r.Headers {
		if len(h.Key) == len(headerPrefix)+4 && strings.EqualFold(h.Key, headerPrefix+"type") {
			return string(h.Value)
		}
	}
	return ""
}

// deliverInOrder delivers one partition's records one at a time until the partition
// is revoked or the subscription stops; what it did not finish stays uncommitted.
func (c *consumer) deliverInOrder(queue <-chan *slot, stop <-chan struct{}) {
	defer c.wg.Done()
	for {
		select {
		case <-stop:
			return
		case <-c.ctx.Done():
			return
		case sl := <-queue:
			ok := c.sub.handle(c.ctx, sl.rec)
			c.finish(sl, ok)
			if !ok {
				return
			}
		}
	}
}

// finish records a slot's outcome and advances its partition's committable record
// over every finished slot at the head.
func (c *consumer) finish(sl *slot, ok bool) {
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sl.done = true
	p := c.parts[sl.rec.Partition]
	if p == nil {
		return // partition revoked meanwhile
	}
	for len(p.pending) > 0 && p.pending[0].done {
		p.committed = p.pending[0].rec
		p.pending = p.pending[1:]
		<-c.window
	}
}

func (c *consumer) commitLoop() {
	t := time.NewTicker(commitEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.commit()
		}
	}
}

// commit commits every partition's committable record.
func (c *consumer) commit() {
	c.mu.Lock()
	var recs []*kgo.Record
	for _, p := range c.parts {
		if p.committed != nil {
			recs = append(recs, p.committed)
			p.committed = nil
		}
	}
	c.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), commitTimeout)
	defer cancel()
	if err := c.cl.CommitRecords(ctx, recs...); err != nil {
		c.sub.log.Warn("offset commit failed; those events will be redelivered", "group", c.sub.group, "error", err)
	}
}

// revoked commits what finished and forgets the partitions another member now owns;
// their records still in flight may be delivered twice (at least once).
func (c *consumer) revoked(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.commit()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range lost[c.sub.topic] {
		if part := c.parts[p]; part != nil {
			for range part.pending {
				<-c.window
			}
			if part.stop != nil {
				close(part.stop)
			}
			delete(c.parts, p)
		}
	}
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
