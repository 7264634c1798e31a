package velocity

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"
)

// Memory is the Counter of a single process (catalyst dev). Senders are spread over
// memShards locks, the tenant-wide destination counters over as many more, so
// concurrent Observes of different senders rarely contend.
//
// Memory stays bounded: a sender's windows restart when At enters the next one, a
// sweep every sweepEvery observations of a shard drops hour maps whose hour is over
// and senders idle for longer than what they remember (NewDestinationWindow or the
// replay window), and destinations, contents and message ids are remembered as
// 64-bit seeded hashes (a collision, odds about n²/2⁶⁵, merges two of them), so
// steady-state Observes do not allocate.
type Memory struct {
	cfg     config
	seed    maphash.Seed
	senders [memShards]senderShard
	dests   [memShards]destShard
}

var _ Counter = (*Memory)(nil)

const (
	memShards  = 64
	sweepEvery = 1 << 13
)

// NewMemory returns an empty in-process counter.
func NewMemory(opts ...Option) *Memory {
	m := &Memory{cfg: newConfig(opts), seed: maphash.MakeSeed()}
	for i := range m.senders {
		m.senders[i].m = make(map[senderKey]*senderState)
		m.dests[i].m = make(map[uint64]int64)
		m.dests[i].minute = math.MinInt64
	}
	return m
}

type senderKey struct{ tenant, sender string }

type senderShard struct {
	mu     sync.Mutex
	m      map[senderKey]*senderState
	ops    uint32
	latest int64    // the latest At seen (Unix ms): the sweep's now
	_      [64]byte // one lock per cache line
}

// destShard counts messages per tenant-destination in one minute; a new minute
// clears it.
type destShard struct {
	mu     sync.Mutex
	minute int64
	m      map[uint64]int64
	_      [64]byte
}

// senderState is one sender's counters. Window ids are Unix seconds, minutes and
// hours; an observation older than the current window counts in it.
type senderState struct {
	sec, min, hour          int64
	perSec, perMin, perHour int64
	highCost, seq           int64
	dests                   map[uint64]int64 // this hour: destination → messages
	contents                map[uint64]int64 // this hour: content hash → messages
	lastNum                 uint64           // the previous destination, if a number
	lastLen                 int              // its digits; 0: not a number
	lastAt, lastSeen        int64            // Unix ms of the previous message; the latest At
	known                   gens[int64]      // destination → latest At (ms), NewDestinationWindow generations
	seen                    gens[Counts]     // message id → counts, replay-window generations
}

// Observe counts o unless its MessageID was seen; see Counter.
func (m *Memory) Observe(_ context.Context, o Observation) (Counts, error) {
	if err := validate(&o); err != nil {
		return Counts{}, err
	}
	at := o.At.UnixMilli() // as Redis: both agree to the millisecond
	sec := floorDiv(at, 1000)
	minute := floorDiv(sec, 60)

	sh := &m.senders[m.hash2(o.TenantID, o.Sender)%memShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.latest = max(sh.latest, at)
	s := sh.m[senderKey{o.TenantID, o.Sender}]
	if s == nil {
		s = &senderState{sec: math.MinInt64, min: math.MinInt64, hour: math.MinInt64}
		// Clone: the caller's strings may pin a whole decoded event.
		sh.m[senderKey{strings.Clone(o.TenantID), strings.Clone(o.Sender)}] = s
	}
	id := maphash.String(m.seed, o.MessageID)
	replayGen := floorDiv(at, m.cfg.replay.Milliseconds())
	if c, ok := s.seen.get(id, replayGen); ok {
		return c, nil
	}
	c := s.count(&o, at, sec, minute, maphash.String(m.seed, o.Destination), m.cfg.gap)
	// Taken under the sender's lock (always in this order), so a concurrent replay of
	// this id waits for the complete counts.
	c.DestinationPerMinute = m.destination(o.TenantID, o.Destination, minute)
	s.seen.put(id, c, replayGen)
	if sh.ops++; sh.ops%sweepEvery == 0 {
		sh.sweep(m.cfg)
	}
	return c, nil
}

func (s *senderState) count(o *Observation, at, sec, minute int64, dest uint64, gap int64) Counts {
	hour := floorDiv(sec, 3600)
	if sec > s.sec {
		s.sec, s.perSec = sec, 0
	}
	if minute > s.min {
		s.min, s.perMin, s.highCost, s.seq = minute, 0, 0, 0
	}
	if hour > s.hour {
		s.hour, s.perHour = hour, 0
		clear(s.dests)
		clear(s.contents)
	}
	if s.dests == nil {
		s.dests, s.contents = make(map[uint64]int64), make(map[uint64]int64)
	}
	s.perSec++
	s.perMin++
	s.perHour++
	s.dests[dest]++
	s.contents[o.ContentHash]++
	if o.HighCost {
		s.highCost++
	}

	n, isNum := number(o.Destination)
	if isNum && len(o.Destination) == s.lastLen && abs(at-s.lastAt) <= sequentialWindow.Milliseconds() {
		if d := diff(n, s.lastNum); d > 0 && d <= uint64(gap) {
			s.seq++
		}
	}
	s.lastNum, s.lastLen, s.lastAt = n, 0, at
	if isNum {
		s.lastLen = len(o.Destination)
	}
	s.lastSeen = max(s.lastSeen, at)

	knownGen := floorDiv(at, NewDestinationWindow.Milliseconds())
	prev, ok := s.known.get(dest, knownGen)
	s.known.put(dest, at, knownGen)

	return Counts{
		SenderPerSecond:           s.perSec,
		SenderPerMinute:           s.perMin,
		PairPerHour:               s.dests[dest],
		UniqueDestinationsPerHour: int64(len(s.dests)),
		RepeatRatio:               float64(s.contents[o.ContentHash]) / float64(s.perHour),
		SequentialDestinations:    s.seq,
		HighCostPerMinute:         s.highCost,
		NewDestination:            !ok || at-prev > NewDestinationWindow.Milliseconds(),
	}
}

func (m *Memory) destination(tenant, dest string, minute int64) int64 {
	h := m.hash2(tenant, dest)
	d := &m.dests[(h>>32)%memShards]
	d.mu.Lock()
	defer d.mu.Unlock()
	if minute > d.minute {
		d.minute = minute
		clear(d.m)
	}
	d.m[h]++
	return d.m[h]
}

// sweep drops what no longer counts as of the shard's latest At.
func (sh *senderShard) sweep(cfg config) {
	now := sh.latest
	keep := max(NewDestinationWindow, cfg.replay).Milliseconds()
	hour := floorDiv(now, time.Hour.Milliseconds())
	knownGen := floorDiv(now, NewDestinationWindow.Milliseconds())
	replayGen := floorDiv(now, cfg.replay.Milliseconds())
	for k, s := range sh.m {
		if now-s.lastSeen > keep {
			delete(sh.m, k)
			continue
		}
		if s.hour < hour {
			s.dests, s.contents = nil, nil
		}
		s.known.prune(knownGen)
		s.seen.prune(replayGen)
	}
}

// hash2 hashes a pair of strings unambiguously (length-prefixed).
func (m *Memory) hash2(a, b string) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(a)))
	h.Write(n[:])
	h.WriteString(a)
	h.WriteString(b)
	return h.Sum64()
}

// gens keeps entries for one or two generations (ids are At / window): the current
// and the previous one, so an entry lives at least a window and dropping a whole
// generation is O(1).
type gens[V any] struct {
	id [2]int64
	m  [2]map[uint64]V
}

func (g *gens[V]) get(k uint64, cur int64) (V, bool) {
	for i := range g.m {
		if g.m[i] != nil && (g.id[i] == cur || g.id[i] == cur-1) {
			if v, ok := g.m[i][k]; ok {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

func (g *gens[V]) put(k uint64, v V, cur int64) {
	i := cur & 1
	switch {
	case g.m[i] == nil:
		g.m[i] = make(map[uint64]V)
	case g.id[i] > cur: // an observation two generations late: nothing to keep
		return
	case g.id[i] < cur:
		clear(g.m[i])
	}
	g.id[i] = cur
	g.m[i][k] = v
}

func (g *gens[V]) prune(cur int64) {
	for i := range g.m {
		if g.id[i] < cur-1 {
			g.m[i] = nil
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func diff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
