package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// footprint is what a run left in Redis once it drained: `INFO memory` used_memory
// against the empty database's, the key count, and the keys' own MEMORY USAGE summed
// by kind (the key with its ids starred), which other clients of a shared Redis do
// not disturb.
type footprint struct {
	baseline, used int64
	keys           int64
	kinds          []keyKind
}

type keyKind struct {
	pattern string
	keys    int64
	bytes   int64
}

// footprintClient connects to redisURL, refusing database 0: -redis-footprint
// FLUSHDBs the database it measures, so it must be one of the run's own.
func footprintClient(redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if opts.DB == 0 {
		return nil, fmt.Errorf("-redis-footprint empties the database it measures: give REDIS_URL a database of its own (redis://host:port/9), not 0")
	}
	return redis.NewClient(opts), nil
}

// prepareFootprint empties the run's database and returns the server's used_memory
// without it.
func prepareFootprint(ctx context.Context, redisURL string) (int64, error) {
	c, err := footprintClient(redisURL)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return 0, fmt.Errorf("FLUSHDB: %w", err)
	}
	return usedMemory(ctx, c)
}

func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO memory has no used_memory")
}

// takeFootprint waits for the database to stop changing (settlements and records
// still in flight after the last message's terminal state), then measures it.
func takeFootprint(ctx context.Context, redisURL string, baseline int64) (footprint, error) {
	fp := footprint{baseline: baseline}
	c, err := footprintClient(redisURL)
	if err != nil {
		return fp, err
	}
	defer c.Close()
	last, still := int64(-1), 0
	for deadline := time.Now().Add(60 * time.Second); still < 3 && time.Now().Before(deadline); {
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			return fp, err
		}
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
		time.Sleep(time.Second)
	}
	if fp.used, err = usedMemory(ctx, c); err != nil {
		return fp, err
	}
	if fp.keys, err = c.DBSize(ctx).Result(); err != nil {
		return fp, err
	}
	kinds := map[string]*keyKind{}
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		n, err := c.MemoryUsage(ctx, key, 0).Result()
		if err == redis.Nil {
			continue // expired meanwhile
		}
		if err != nil {
			return fp, fmt.Errorf("MEMORY USAGE %s: %w", key, err)
		}
		p := keyPattern(key)
		k := kinds[p]
		if k == nil {
			k = &keyKind{pattern: p}
			kinds[p] = k
		}
		k.keys++
		k.bytes += n
	}
	if err := iter.Err(); err != nil {
		return fp, err
	}
	for _, k := range kinds {
		fp.kinds = append(fp.kinds, *k)
	}
	sort.Slice(fp.kinds, func(i, j int) bool { return fp.kinds[i].bytes > fp.kinds[j].bytes })
	return fp, nil
}

var (
	hashTag = regexp.MustCompile(`\{[^}]*\}`)
	idLike  = regexp.MustCompile(`[0-9a-fA-F-]{8,}|\d+`)
)

// keyPattern stars a key's hash tag and ids: the run's prefix, tenants, message ids,
// window numbers.
func keyPattern(key string) string {
	key = hashTag.ReplaceAllString(key, "{*}")
	parts := strings.Split(key, ":")
	for i, p := range parts {
		parts[i] = idLike.ReplaceAllString(p, "*")
	}
	return strings.Join(parts, ":")
}

// renderFootprint reports a footprint run per message accepted.
func renderFootprint(o options, r row) string {
	var b strings.Builder
	s, fp := r.summary, r.footprint
	sent := max(s.Accepted, 1)
	var keyBytes int64
	for _, k := range fp.kinds {
		keyBytes += k.bytes
	}
	fmt.Fprintf(&b, "Measured %s on %s: `catalyst dev` fused on PostgreSQL and Redis, `catalyst loadgen` flat out for %s "+
		"and its drain, then Redis once quiet. Command: `REDIS_URL=%s go run ./hack/bench-e2e -redis-footprint -duration %s`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), o.duration, o.redisURL, o.duration)
	b.WriteString("| messages sent | pending after drain | used_memory − empty | per message | keys (DBSIZE) | keys per message | MEMORY USAGE of the keys, per message |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| %d | %d | %d B | %.0f B | %d | %.2f | %.0f B |\n\n", s.Accepted, s.Pending, fp.used-fp.baseline,
		float64(fp.used-fp.baseline)/float64(sent), fp.keys, float64(fp.keys)/float64(sent), float64(keyBytes)/float64(sent))
	b.WriteString("| key kind | keys | bytes (MEMORY USAGE) | per message |\n| --- | --- | --- | --- |\n")
	for _, k := range fp.kinds {
		fmt.Fprintf(&b, "| `%s` | %d | %d | %.1f B |\n", k.pattern, k.keys, k.bytes, float64(k.bytes)/float64(sent))
	}
	return b.String()
}
