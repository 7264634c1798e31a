package wallet

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher coalesces concurrent script calls into pipelined EVALSHA round trips (group
// commit): a call arriving when fewer than maxInflight pipelines are in flight is
// sent at once, with whatever else is queued; under load, calls queue while the
// pipelines are out and go together in the next one. Each script is still atomic on
// its own; a pipeline only saves round trips and system calls, which on a small
// machine cost more than the scripts (see BenchmarkRedisEvalSha).
type batcher struct {
	client      redis.UniversalClient
	maxInflight int
	maxBatch    int

	mu       sync.Mutex
	queue    []*call
	inflight int
}

type call struct {
	script *redis.Script
	keys   []string
	args   []any
	reply  []any
	err    error
	done   chan struct{}
}

func newBatcher(client redis.UniversalClient, pipelines, maxBatch int) *batcher {
	return &batcher{client: client, maxInflight: pipelines, maxBatch: maxBatch}
}

// do runs s and waits for its reply or ctx's end. A call whose ctx ends may still
// run; wallet calls are idempotent, so the caller's retry is safe.
func (b *batcher) do(ctx context.Context, s *redis.Script, keys []string, args []any) ([]any, error) {
	c := &call{script: s, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.inflight < b.maxInflight {
		b.inflight++
		go b.flush()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.reply, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flush sends pipelines until the queue is empty.
func (b *batcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.maxBatch)
		if n == 0 {
			b.inflight--
			b.mu.Unlock()
			return
		}
		batch := make([]*call, n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.send(batch)
	}
}

// send runs one pipeline; the context is not any caller's, whose end must not fail
// the others' calls (the client's timeouts bound it).
func (b *batcher) send(batch []*call) {
	ctx := context.Background()
	pipe := b.client.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = pipe.EvalSha(ctx, c.script.Hash(), c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, c := range batch {
		c.reply, c.err = cmds[i].Slice()
		if c.err != nil && strings.HasPrefix(c.err.Error(), "NOSCRIPT") {
			// Redis lost its script cache (restart, SCRIPT FLUSH): Run loads it.
			c.reply, c.err = c.script.Run(ctx, b.client, c.keys, c.args...).Slice()
		}
		close(c.done)
	}
}
