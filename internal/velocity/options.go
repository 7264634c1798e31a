package velocity

import (
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Defaults shared by Memory and Redis.
const (
	// DefaultSequentialGap is how close (numerically) two destinations must be to
	// count as sequential.
	DefaultSequentialGap = 10
	// DefaultReplayWindow is how long a message id is remembered against replays.
	// Each message costs one small record for that long (about 40 bytes in Redis), so
	// at high rates this is the counters' largest memory cost.
	DefaultReplayWindow = time.Hour
	// NewDestinationWindow is how long a sender-destination pair stays known at least.
	NewDestinationWindow = 30 * 24 * time.Hour
	// NewDestinationSlack is how much longer it may stay known: Redis remembers pairs
	// in Bloom filters of NewDestinationSlack each and forgets a whole one at a time.
	NewDestinationSlack = 10 * 24 * time.Hour
	// sequentialWindow bounds how long before a message its predecessor may have been
	// sent for the two to count as a walk.
	sequentialWindow = time.Minute
	// maxNumberDigits: E.164 numbers have at most 15 digits, exact as float64 (Lua)
	// and uint64 alike.
	maxNumberDigits = 15
)

// Option configures a Memory or Redis counter.
type Option func(*config)

type config struct {
	gap    int64
	replay time.Duration
}

func newConfig(opts []Option) config {
	c := config{gap: DefaultSequentialGap, replay: DefaultReplayWindow}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithSequentialGap sets how close two destinations must be to count as sequential
// (DefaultSequentialGap); values below 1 are taken as 1.
func WithSequentialGap(n int) Option {
	return func(c *config) { c.gap = int64(max(1, n)) }
}

// WithReplayWindow sets how long message ids are remembered against replays
// (DefaultReplayWindow); values below a second are taken as a second. Memory keeps
// them between one and two windows (it drops whole generations).
func WithReplayWindow(d time.Duration) Option {
	return func(c *config) { c.replay = max(time.Second, d) }
}

// validate reports every missing required field.
func validate(o *Observation) error {
	var fields []errs.FieldViolation
	if o.MessageID == "" {
		fields = append(fields, errs.FieldViolation{Field: "message_id", Reason: "required"})
	}
	if o.TenantID == "" {
		fields = append(fields, errs.FieldViolation{Field: "tenant_id", Reason: "required"})
	}
	if o.At.IsZero() {
		fields = append(fields, errs.FieldViolation{Field: "at", Reason: "required"})
	}
	if fields == nil {
		return nil
	}
	e := errs.E(errs.Invalid, "velocity: invalid observation")
	e.Fields = fields
	return e
}

// number parses an all-digit destination of at most 15 digits; ok is false for
// anything else (an alphanumeric address, a longer string).
func number(s string) (n uint64, ok bool) {
	if s == "" || len(s) > maxNumberDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// floorDiv is a / b rounded down (window ids before 1970 stay distinct).
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}
