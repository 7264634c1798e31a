// Package velocity counts what each sender does, for the firewall's velocity phase:
// messages per second and minute, per destination, per sender-destination pair,
// unique destinations (HyperLogLog), repeated content, and SMS-pumping signals
// (bursts to sequential numbers, traffic to high-cost prefixes). Redis keeps the
// counters for every replica (one Lua script, one round trip per message, a bounded
// few dozen bytes per message: see Redis); Memory does the same in one process
// (catalyst dev). Both pass velocitytest's contract.
package velocity

import (
	"context"
	"time"
)

// Observation is one message to count.
type Observation struct {
	// MessageID is required. A replay of the same message id (same tenant, sender and
	// At — a redelivery carries the request's time — within the replay window,
	// DefaultReplayWindow) is not counted again: it returns the counts its first
	// observation returned, so a retried phase decides the same.
	MessageID string
	TenantID  string // required
	Sender    string // the message's from ("" counts as one anonymous sender per tenant)
	// Destination is the E.164 digits (no '+'), or the raw address on non-phone channels.
	Destination string
	// ContentHash identifies the content (a hash of the normalised text).
	ContentHash uint64
	// HighCost: the destination is a premium-rate or otherwise high-cost number.
	HighCost bool
	At       time.Time // required; names the windows, so replicas agree whatever their clocks
}

// Counts are the sender's figures including this message. Memory counts exactly.
// Redis counts exactly too except where it remembers a first sighting in a Bloom
// filter instead of a counter: a destination or content not yet seen in the window
// may read as seen once already (about 0.1% of first sightings), so PairPerHour,
// DestinationPerMinute and the repeat count behind RepeatRatio may read one too many
// and NewDestination false; never too few or true wrongly. NewDestination's window
// is NewDestinationWindow to NewDestinationWindow+NewDestinationSlack.
type Counts struct {
	SenderPerSecond           int64 // this sender (tenant + from), in At's second
	SenderPerMinute           int64 // in At's minute
	DestinationPerMinute      int64 // this tenant to this destination, in At's minute
	PairPerHour               int64 // this sender to this destination, in At's hour
	UniqueDestinationsPerHour int64 // distinct destinations of this sender, in At's hour (HyperLogLog, ~1% error)
	// RepeatRatio is (messages of this sender with this ContentHash in the hour) /
	// (messages of this sender in the hour), including this one; 1 for a first message.
	RepeatRatio float64
	// SequentialDestinations counts this sender's messages in At's minute whose
	// destination was within 10 (WithSequentialGap) of the previous message's, sent at
	// most a minute before (numerically, same length, at most 15 digits, not equal):
	// walking a number range.
	SequentialDestinations int64
	HighCostPerMinute      int64 // this sender's high-cost messages in At's minute
	// NewDestination: this sender had not messaged this destination in the 30 days
	// (NewDestinationWindow) before At.
	NewDestination bool
}

// Counter counts observations. Windows are fixed (calendar second, minute, hour of
// At in UTC), so counts are exact within a window and reset at its edge. Observe
// fails with errs.Invalid (and field violations) when a required field is missing,
// and with errs.Unavailable or errs.Timeout when the store cannot be reached.
type Counter interface {
	Observe(ctx context.Context, o Observation) (Counts, error)
}
