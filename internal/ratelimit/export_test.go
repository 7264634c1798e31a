package ratelimit

import "time"

// SetClock makes r read time from now instead of Redis TIME, so the contract suite
// can step time; production never does this.
func SetClock(r *Redis, now func() time.Time) { r.now = now }
