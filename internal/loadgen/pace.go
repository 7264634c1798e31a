package loadgen

import (
	"context"
	"time"
)

// clock is the time the dispatcher paces by; tests use a fake one.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t (at once when t has passed), or with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// schedule says when message i is due: start + i/rate. Every due time is computed
// from the start, never from the previous send, so a late send (a slow request, a
// busy scheduler) is followed by on-time ones and the rate does not drift; a run
// that falls behind catches up at once.
type schedule struct {
	start time.Time
	rate  float64   // messages per second; 0: every message is due at start
	end   time.Time // zero: no time bound
	count int64     // 0: no count bound
	clock clock
}

// due is message i's send time.
func (s schedule) due(i int64) time.Time {
	if s.rate == 0 {
		return s.start
	}
	return s.start.Add(time.Duration(float64(i) * float64(time.Second) / s.rate))
}

// more reports whether message i is to be sent: within the count, or, for a run of
// a duration, due before the end and asked for before the end (a run that cannot
// keep up sends fewer than rate × duration, and its accepted rate shows it).
func (s schedule) more(i int64) bool {
	if s.count > 0 {
		return i < s.count
	}
	if s.rate > 0 && !s.due(i).Before(s.end) {
		return false
	}
	return s.clock.Now().Before(s.end)
}

// dispatch plans each message when it is due and hands it to send, until the
// schedule ends or ctx is done; it returns how many it handed over. send blocks while
// every worker is busy: the messages due meanwhile then go out back to back.
func dispatch(ctx context.Context, s schedule, plan func(int64) job, send func(context.Context, job) bool) int64 {
	var i int64
	for ; s.more(i); i++ {
		if err := s.clock.SleepUntil(ctx, s.due(i)); err != nil {
			break
		}
		if !send(ctx, plan(i)) {
			break
		}
	}
	return i
}
