package client

import (
	"context"
	"sync"
	"time"
)

// maxPenalty caps how far repeated throttling divides the configured rate.
const maxPenalty = 64

// limiter paces submit_sm: a token bucket (GCRA) at the configured rate with a burst
// of one second's worth, plus a pause for everyone after the SMSC throttled us and,
// with a rate set, a halved rate for a cool-down period.
type limiter struct {
	interval    time.Duration // between submit_sm at the configured rate; 0 = no cap
	burst       int
	pause, cool time.Duration

	mu          sync.Mutex
	tat         time.Time // GCRA theoretical arrival time
	pausedUntil time.Time
	coolUntil   time.Time
	factor      int // divides the rate until coolUntil
}

func newLimiter(perSecond int, pause, cool time.Duration) *limiter {
	l := &limiter{pause: pause, cool: cool, factor: 1}
	if perSecond > 0 {
		l.interval = time.Second / time.Duration(perSecond)
		l.burst = perSecond
	}
	return l
}

// wait blocks until a submit_sm may go, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := now
	if l.pausedUntil.After(at) {
		at = l.pausedUntil
	}
	if l.interval > 0 {
		iv, tolerance := l.interval, time.Duration(l.burst-1)*l.interval
		if now.Before(l.coolUntil) {
			iv, tolerance = iv*time.Duration(l.factor), 0
		} else {
			l.factor = 1
		}
		tat := l.tat
		if tat.Before(at) {
			tat = at
		}
		if allow := tat.Add(-tolerance); allow.After(at) {
			at = allow
		}
		l.tat = tat.Add(iv)
	}
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// penalise slows down after a throttling answer. Answers arriving during a pause
// (the rest of the window, sent before it) do not slow down further.
func (l *limiter) penalise() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.pausedUntil) {
		return
	}
	l.pausedUntil = now.Add(l.pause)
	if l.interval > 0 {
		if now.Before(l.coolUntil) {
			l.factor = min(l.factor*2, maxPenalty)
		} else {
			l.factor = 2
		}
		if time.Duration(l.factor)*l.interval > time.Second { // never below 1/s
			l.factor = max(1, int(time.Second/l.interval))
		}
		l.coolUntil = now.Add(l.pause + l.cool)
	}
}
