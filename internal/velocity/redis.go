package velocity

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Redis is the Counter every firewall replica shares. One Observe is one Lua script
// (lua/observe.lua), one round trip. Every key of a tenant carries the tenant's
// Redis Cluster hash tag T = {len(tenant):tenant}, so one script sees the sender's
// and the tenant-wide counters; with S = T:len(sender):sender: (lengths make the
// names unambiguous whatever the ids contain), W the window id (Unix second, minute
// or hour of At), G a known-destination generation (knownGeneration) and P the
// prefix:
//
//	PT:r:W              replay records of At's second: record id → the counts it got
//	PS:m:W              the sender's minute: n, s<second> (the second's), q, x
//	PS:h:W              the sender's hour: n, p<dest> and c<hash> past the first
//	PS:u:W              HyperLogLog of the hour's destinations
//	PS:b:W              Bloom filter of the hour's destinations and contents
//	PS:k:G              known destinations: a Bloom filter per generation
//	PS:s                l: "At(ms) destination" of the previous message, and the
//	                    known-destination filters' sizes (generation → items)
//	PT:d:W  PT:db:W     the tenant's minute to destinations: n, d<dest> past the
//	                    first; Bloom filter of the minute's destinations
//
// Nothing is kept per message or per destination except inside those: a message
// costs a replay record (~25 bytes) and a few bits of Bloom filter, a destination
// its first time in a window nothing more, and an exact counter field from its
// second message on. Memory per message stays flat whatever the number of
// destinations; the keys are O(tenants × seconds of the replay window + senders ×
// windows). Window keys live just longer than their window (15 min for minutes, 2 h
// for hours, of real time; the names carry At's window, so replicas with skewed
// clocks still agree).
type Redis struct {
	client redis.UniversalClient
	prefix string
	// ARGV values, formatted once.
	replayMs, gap, seqMs, genLife string
}

var _ Counter = (*Redis)(nil)

// knownGeneration is how long one known-destination Bloom filter takes new
// destinations; NewDestination looks at knownGenerations of them, so a pair stays
// known between NewDestinationWindow and NewDestinationWindow+knownGeneration.
const (
	knownGeneration  = NewDestinationSlack
	knownGenerations = 4 // NewDestinationWindow / knownGeneration + 1
)

// NewRedis returns a counter keeping its keys under prefix.
func NewRedis(client redis.UniversalClient, prefix string, opts ...Option) *Redis {
	cfg := newConfig(opts)
	return &Redis{
		client:   client,
		prefix:   prefix,
		replayMs: strconv.FormatInt(cfg.replay.Milliseconds(), 10),
		gap:      strconv.FormatInt(cfg.gap, 10),
		seqMs:    strconv.FormatInt(sequentialWindow.Milliseconds(), 10),
		genLife:  strconv.FormatInt((knownGenerations*knownGeneration + time.Hour).Milliseconds(), 10),
	}
}

var (
	//go:embed lua/observe.lua
	observeLua    string
	observeScript = redis.NewScript(observeLua)
)

// Observe counts o unless its MessageID was seen; see Counter.
func (r *Redis) Observe(ctx context.Context, o Observation) (Counts, error) {
	if err := validate(&o); err != nil {
		return Counts{}, err
	}
	at := o.At.UnixMilli()
	sec := floorDiv(at, 1000)
	minute, hour := floorDiv(sec, 60), floorDiv(sec, 3600)
	gen := floorDiv(at, knownGeneration.Milliseconds())

	// All keys in one buffer: one allocation for their bytes.
	var k keyBuf
	k.buf = make([]byte, 0, 12*(len(r.prefix)+len(o.TenantID)+len(o.Sender)+32))
	tBase := tag(r.prefix, o.TenantID)
	sBase := tBase + strconv.Itoa(len(o.Sender)) + ":" + o.Sender + ":"
	k.key(tBase, "r:").int(sec).end()
	k.key(sBase, "m:").int(minute).end()
	k.key(sBase, "h:").int(hour).end()
	k.key(sBase, "u:").int(hour).end()
	k.key(sBase, "b:").int(hour).end()
	k.key(sBase, "s").end()
	k.key(tBase, "d:").int(minute).end()
	k.key(tBase, "db:").int(minute).end()
	for g := range int64(knownGenerations) {
		k.key(sBase, "k:").int(gen - g).end()
	}
	keys := k.strings()

	high := "0"
	if o.HighCost {
		high = "1"
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], hashStrings(o.Sender, o.MessageID))
	dh := mix(hashStrings("d", o.Destination))
	ch := mix(o.ContentHash ^ 0x636f6e74656e7400) // apart from destinations in the hour's filter
	args := []any{
		o.Destination, high, strconv.FormatInt(at, 10), r.replayMs, r.gap, r.seqMs,
		"s" + strconv.FormatInt(sec-minute*60, 10), string(id[:]),
		dh & 0xffffffff, dh>>32 | 1, ch & 0xffffffff, ch>>32 | 1,
		"c" + strconv.FormatUint(o.ContentHash, 16),
		gen, gen - 1, gen - 2, gen - 3, r.genLife,
	}
	reply, err := r.run(ctx, keys, args)
	if err != nil {
		return Counts{}, err
	}
	return parseCounts(reply)
}

// run sends the script by SHA; if Redis lost it (a restart, a SCRIPT FLUSH) it sends
// it again in full.
func (r *Redis) run(ctx context.Context, keys []string, args []any) (string, error) {
	reply, err := observeScript.EvalSha(ctx, r.client, keys, args...).Text()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		reply, err = observeScript.Eval(ctx, r.client, keys, args...).Text()
	}
	if err != nil {
		return "", redisErr(ctx, err)
	}
	return reply, nil
}

func redisErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errs.Wrap(errs.Timeout, ctx.Err(), "velocity: redis")
	}
	var re redis.Error
	if errors.As(err, &re) {
		return errs.Wrap(errs.Internal, err, "velocity: redis")
	}
	return errs.Wrap(errs.Unavailable, err, "velocity: redis")
}

// parseCounts reads observe.lua's reply: sec, min, pair, unique, content, hour, seq,
// high, new, dpm as unsigned varints.
func parseCounts(s string) (Counts, error) {
	var f [10]int64
	rest := s
	for i := range f {
		v, n := binary.Uvarint([]byte(rest))
		if n <= 0 || v > 1<<62 {
			return Counts{}, errs.E(errs.Internal, "velocity: script reply %q, want 10 varints", s)
		}
		f[i], rest = int64(v), rest[n:]
	}
	if rest != "" || f[5] < 1 {
		return Counts{}, errs.E(errs.Internal, "velocity: script reply %q, want 10 varints", s)
	}
	return Counts{
		SenderPerSecond:           f[0],
		SenderPerMinute:           f[1],
		PairPerHour:               f[2],
		UniqueDestinationsPerHour: f[3],
		RepeatRatio:               float64(f[4]) / float64(f[5]),
		SequentialDestinations:    f[6],
		HighCostPerMinute:         f[7],
		NewDestination:            f[8] == 1,
		DestinationPerMinute:      f[9],
	}, nil
}

// hashStrings is FNV-1a (64 bits) of a and b, length-prefixed so that pairs stay
// apart, finished by mix: stable across processes and replicas.
func hashStrings(a, b string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < 8; i++ {
		h = (h ^ uint64(len(a)>>(8*i)&0xff)) * prime
	}
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return mix(h)
}

// mix is MurmurHash3's 64-bit finaliser: every input bit moves every output bit,
// which the Bloom filters' probes (low and high halves) need.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// keyBuf builds the keys of one Observe in one byte buffer.
type keyBuf struct {
	buf  []byte
	ends [12]int
	n    int
}

// tag returns the key base P{len(tenant):tenant}: that every key of the tenant
// starts with.
func tag(prefix, tenant string) string {
	base := make([]byte, 0, len(prefix)+len(tenant)+24)
	base = append(base, prefix...)
	base = append(base, '{')
	base = strconv.AppendInt(base, int64(len(tenant)), 10)
	base = append(base, ':')
	base = append(base, tenant...)
	base = append(base, "}:"...)
	return string(base)
}

func (k *keyBuf) key(base, kind string) *keyBuf {
	k.buf = append(append(k.buf, base...), kind...)
	return k
}

func (k *keyBuf) int(n int64) *keyBuf { k.buf = strconv.AppendInt(k.buf, n, 10); return k }

func (k *keyBuf) end() { k.ends[k.n] = len(k.buf); k.n++ }

// strings returns the keys, sharing one string.
func (k *keyBuf) strings() []string {
	all := string(k.buf)
	out := make([]string, k.n)
	start := 0
	for i, e := range k.ends[:k.n] {
		out[i] = all[start:e]
		start = e
	}
	return out
}
