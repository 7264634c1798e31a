package velocity

import (
	"context"
	_ "embed"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Redis is the Counter every firewall replica shares. One Observe is two Lua scripts
// pipelined in one round trip: lua/sender.lua for the sender's counters and
// lua/destination.lua for the tenant-wide destination counter, which lives in
// another hash slot. Keys, with S = {len(tenant):tenant:len(sender):sender} and
// D = {dst:len(tenant):tenant:len(destination):destination} as Redis Cluster hash
// tags (lengths make them unambiguous whatever the ids contain), W the window id
// (Unix second, minute or hour of At) and P the prefix:
//
//	PS:s:W  PS:m:W  PS:h:W    sender's messages in the second, minute, hour
//	PS:p:W:DEST               messages to DEST in the hour
//	PS:u:W                    HyperLogLog of the hour's destinations
//	PS:c:W:HASH               messages with this content hash in the hour
//	PS:q:W  PS:x:W            sequential and high-cost messages in the minute
//	PS:l                      "At(ms) destination" of the previous message
//	PS:k:DEST                 At(ms) of the latest message to DEST (NewDestinationWindow)
//	PS:r:ID  PD:r:LEN:SENDER:ID  the counts a message id got (the replay window)
//	PD:d:W                    the tenant's messages to the destination in the minute
//
// Window keys live just longer than their window (3 s, 2 min, 2 h of real time; the
// names carry At's window, so replicas with skewed clocks still agree). Nothing lives
// forever; the message-id keys dominate memory at high rates (WithReplayWindow).
type Redis struct {
	client redis.UniversalClient
	prefix string
	// ARGV values, formatted once.
	replayMs, knownMs, gap, seqMs string
}

var _ Counter = (*Redis)(nil)

// NewRedis returns a counter keeping its keys under prefix.
func NewRedis(client redis.UniversalClient, prefix string, opts ...Option) *Redis {
	cfg := newConfig(opts)
	return &Redis{
		client:   client,
		prefix:   prefix,
		replayMs: strconv.FormatInt(cfg.replay.Milliseconds(), 10),
		knownMs:  strconv.FormatInt(NewDestinationWindow.Milliseconds(), 10),
		gap:      strconv.FormatInt(cfg.gap, 10),
		seqMs:    strconv.FormatInt(sequentialWindow.Milliseconds(), 10),
	}
}

var (
	//go:embed lua/sender.lua
	senderLua string
	//go:embed lua/destination.lua
	destinationLua string

	senderScript      = redis.NewScript(senderLua)
	destinationScript = redis.NewScript(destinationLua)
)

// Observe counts o unless its MessageID was seen; see Counter.
func (r *Redis) Observe(ctx context.Context, o Observation) (Counts, error) {
	if err := validate(&o); err != nil {
		return Counts{}, err
	}
	at := o.At.UnixMilli()
	sec := floorDiv(at, 1000)
	minute, hour := floorDiv(sec, 60), floorDiv(sec, 3600)

	// All keys in one buffer: one allocation for their bytes.
	var k keyBuf
	k.buf = make([]byte, 0, 14*(len(r.prefix)+len(o.TenantID)+len(o.Sender)+16)+
		3*len(o.Destination)+2*len(o.MessageID)+len(o.Sender)+64)
	sBase := tag(r.prefix, "", o.TenantID, o.Sender)
	k.key(sBase, "s:").int(sec).end()
	k.key(sBase, "m:").int(minute).end()
	k.key(sBase, "h:").int(hour).end()
	k.key(sBase, "p:").int(hour).str(":").str(o.Destination).end()
	k.key(sBase, "u:").int(hour).end()
	k.key(sBase, "c:").int(hour).str(":").hex(o.ContentHash).end()
	k.key(sBase, "q:").int(minute).end()
	k.key(sBase, "x:").int(minute).end()
	k.key(sBase, "l").end()
	k.key(sBase, "k:").str(o.Destination).end()
	k.key(sBase, "r:").str(o.MessageID).end()
	dBase := tag(r.prefix, "dst:", o.TenantID, o.Destination)
	k.key(dBase, "d:").int(minute).end()
	// Message ids are per sender (Counter's replays are), so this key names the sender.
	k.key(dBase, "r:").int(int64(len(o.Sender))).str(":").str(o.Sender).str(":").str(o.MessageID).end()
	keys := k.strings()
	senderKeys, destKeys := keys[:11], keys[11:]

	high := "0"
	if o.HighCost {
		high = "1"
	}
	senderArgs := []any{o.Destination, high, strconv.FormatInt(at, 10), r.replayMs, r.knownMs, r.gap, r.seqMs}

	reply, dpm, err := r.run(ctx, senderKeys, senderArgs, destKeys)
	if err != nil {
		return Counts{}, err
	}
	c, err := parseCounts(reply)
	if err != nil {
		return Counts{}, err
	}
	c.DestinationPerMinute = dpm
	return c, nil
}

// run sends both scripts in one pipeline, by SHA; if Redis lost them (a restart, a
// SCRIPT FLUSH) it sends them again in full. Resending is safe: a script that did
// run remembers the message id and answers the same without counting again.
func (r *Redis) run(ctx context.Context, senderKeys []string, senderArgs []any, destKeys []string) (string, int64, error) {
	for attempt := 0; ; attempt++ {
		pipe := r.client.Pipeline()
		var sc, dc *redis.Cmd
		if attempt == 0 {
			sc = senderScript.EvalSha(ctx, pipe, senderKeys, senderArgs...)
			dc = destinationScript.EvalSha(ctx, pipe, destKeys, r.replayMs)
		} else {
			sc = senderScript.Eval(ctx, pipe, senderKeys, senderArgs...)
			dc = destinationScript.Eval(ctx, pipe, destKeys, r.replayMs)
		}
		_, _ = pipe.Exec(ctx) // each command keeps its own error
		if attempt == 0 && (redis.HasErrorPrefix(sc.Err(), "NOSCRIPT") || redis.HasErrorPrefix(dc.Err(), "NOSCRIPT")) {
			continue
		}
		reply, err := sc.Text()
		if err != nil {
			return "", 0, redisErr(ctx, err)
		}
		dpm, err := dc.Int64()
		if err != nil {
			return "", 0, redisErr(ctx, err)
		}
		return reply, dpm, nil
	}
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

// parseCounts reads sender.lua's reply "sec,min,pair,unique,content,hour,seq,high,new".
func parseCounts(s string) (Counts, error) {
	var f [9]int64
	n := 0
	for i := 0; i <= len(s) && n < len(f); {
		j := i
		for j < len(s) && s[j] != ',' {
			j++
		}
		v, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return Counts{}, errs.Wrap(errs.Internal, err, "velocity: script reply %q", s)
		}
		f[n] = v
		n++
		i = j + 1
	}
	if n != len(f) || f[5] < 1 {
		return Counts{}, errs.E(errs.Internal, "velocity: script reply %q, want 9 counts", s)
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
	}, nil
}

// keyBuf builds the keys of one Observe in one byte buffer.
type keyBuf struct {
	buf  []byte
	ends [13]int
	n    int
}

// tag returns the key base P{kind len(a):a:len(b):b}: that keys start with.
func tag(prefix, kind, a, b string) string {
	base := make([]byte, 0, len(prefix)+len(kind)+len(a)+len(b)+24)
	base = append(base, prefix...)
	base = append(base, '{')
	base = append(base, kind...)
	base = strconv.AppendInt(base, int64(len(a)), 10)
	base = append(base, ':')
	base = append(base, a...)
	base = append(base, ':')
	base = strconv.AppendInt(base, int64(len(b)), 10)
	base = append(base, ':')
	base = append(base, b...)
	base = append(base, "}:"...)
	return string(base)
}

func (k *keyBuf) key(base, kind string) *keyBuf {
	k.buf = append(append(k.buf, base...), kind...)
	return k
}

func (k *keyBuf) int(n int64) *keyBuf { k.buf = strconv.AppendInt(k.buf, n, 10); return k }

func (k *keyBuf) hex(n uint64) *keyBuf { k.buf = strconv.AppendUint(k.buf, n, 16); return k }

func (k *keyBuf) str(s string) *keyBuf { k.buf = append(k.buf, s...); return k }

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
