package screening

import (
	"context"
	"fmt"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Later decisions' phases (the message.screened phase of a held or throttled
// message's second decision).
const (
	PhaseReview    = "review"     // an operator approved or rejected a held message
	PhaseReviewSLA = "review-sla" // nobody decided within the SLA: the default action
	PhaseRelease   = "release"    // a throttled message's wait is over
)

// Review decides a held message: approve sends it on (pass), reject blocks it. It
// returns the screen with its new verdict, for the caller to emit and then mark
// Delivered (if the caller fails first, the sweep's Undelivered sends it). Deciding
// a review again the same way returns the same (replays); the other way is Conflict.
func (e *Engine) Review(ctx context.Context, messageID string, approve bool, by, note string) (firewall.Review, *firewall.Screen, error) {
	state, outcome := firewall.ReviewRejected, firewall.Block
	if approve {
		state, outcome = firewall.ReviewApproved, firewall.Pass
	}
	r, err := e.cfg.Reviews.Decide(ctx, messageID, state, outcome, by, note, e.now())
	if err != nil {
		return r, nil, err
	}
	s, err := e.later(ctx, r)
	return r, s, err
}

// Overdue applies the default action to held messages whose SLA passed, and returns
// their screens with the new verdict, for the caller to emit and mark Delivered.
func (e *Engine) Overdue(ctx context.Context, limit int) ([]*firewall.Screen, error) {
	now := e.now()
	due, err := e.cfg.Reviews.Overdue(ctx, now, limit)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall: overdue reviews")
	}
	action := e.cfg.Settings.Review.DefaultAction
	out := make([]*firewall.Screen, 0, len(due))
	for _, r := range due {
		r, err := e.cfg.Reviews.Decide(ctx, r.MessageID, firewall.ReviewExpired, action, DecidedBySLA, "", now)
		if errs.CodeOf(err) == errs.Conflict {
			continue // an operator decided it meanwhile
		}
		if err != nil {
			return out, err
		}
		s, err := e.later(ctx, r)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Undelivered claims decided reviews whose message.screened was never marked
// Delivered (the decider crashed or its emit failed) and returns their screens, for
// the caller to emit and mark Delivered.
func (e *Engine) Undelivered(ctx context.Context, limit int) ([]*firewall.Screen, error) {
	owed, err := e.cfg.Reviews.Undelivered(ctx, e.now(), limit)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall: undelivered reviews")
	}
	out := make([]*firewall.Screen, 0, len(owed))
	for _, r := range owed {
		s, err := e.later(ctx, r)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Delivered records that a decided review's message.screened was emitted.
func (e *Engine) Delivered(ctx context.Context, messageID string) error {
	return e.cfg.Reviews.Delivered(ctx, messageID, e.now())
}

// DecidedBySLA is the decider of a review the SLA's default action decided.
const DecidedBySLA = "sla"

// LaterPhase is the phase of a decided review's verdict.
func LaterPhase(r firewall.Review) string {
	if r.State == firewall.ReviewExpired {
		return PhaseReviewSLA
	}
	return PhaseReview
}

// later is a decided review's verdict, audited; from the review alone, so a re-send
// says what the first send said.
func (e *Engine) later(ctx context.Context, r firewall.Review) (*firewall.Screen, error) {
	why := fmt.Sprintf("%s by %s", r.State, r.DecidedBy)
	if r.State == firewall.ReviewExpired {
		why = fmt.Sprintf("not reviewed within %s: default action", r.Deadline.Sub(r.CreatedAt).Round(time.Second))
	}
	s := r.Screen
	prev := firewall.Verdict{}
	if s.Verdict != nil {
		prev = *s.Verdict
	}
	v := prev
	v.Decision, v.Phase, v.ReleaseAt = r.Outcome, LaterPhase(r), nil
	v.Explanation = fmt.Sprintf("%s: %s; held for: %s", r.Outcome, why, prev.Explanation)
	s.Verdict = &v
	at := e.now()
	if r.DecidedAt != nil {
		at = *r.DecidedAt
	}
	_, err := e.record(ctx, &s, v.Phase, at) // the review's outcome is already the store's
	return &s, err
}

// DueThrottled claims throttled messages whose wait is over and returns them with a
// pass verdict; the caller emits each and then calls Released (a message not
// released is claimed again once firewall.DeliveryLease lapses).
func (e *Engine) DueThrottled(ctx context.Context, limit int) ([]*firewall.Screen, error) {
	due, err := e.cfg.Reviews.Due(ctx, e.now(), limit)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall: throttled messages")
	}
	out := make([]*firewall.Screen, 0, len(due))
	for _, d := range due {
		s := d.Screen
		v := firewall.Verdict{Decision: firewall.Pass, Recommended: firewall.Pass, Phase: PhaseRelease}
		if s.Verdict != nil {
			v.Risk, v.Rules, v.Indicators = s.Verdict.Risk, s.Verdict.Rules, s.Verdict.Indicators
			v.Explanation = "pass: released after throttling; throttled for: " + s.Verdict.Explanation
		}
		s.Verdict = &v
		if _, err := e.record(ctx, &s, PhaseRelease, d.ReleaseAt); err != nil {
			return out, err
		}
		out = append(out, &s)
	}
	return out, nil
}

// Released records that a throttled message's pass was emitted.
func (e *Engine) Released(ctx context.Context, messageID string) error {
	return e.cfg.Reviews.Released(ctx, messageID, e.now())
}

// Purge deletes decided reviews and released throttled messages older than the
// settings' review.retention.
func (e *Engine) Purge(ctx context.Context) (int, error) {
	return e.cfg.Reviews.Purge(ctx, e.now().Add(-time.Duration(e.cfg.Settings.Review.Retention)))
}

// Reviews lists the review queue.
func (e *Engine) Reviews(ctx context.Context, f firewall.ReviewFilter) ([]firewall.Review, string, error) {
	return e.cfg.Reviews.List(ctx, f)
}

// GetReview returns one review.
func (e *Engine) GetReview(ctx context.Context, messageID string) (firewall.Review, error) {
	return e.cfg.Reviews.Get(ctx, messageID)
}

// AddReputation stores a reputation entry (a complaint raises the value's score).
func (e *Engine) AddReputation(ctx context.Context, r firewall.ReputationEntry) (firewall.ReputationEntry, error) {
	return e.cfg.Reputation.Add(ctx, r)
}

// ListReputation lists reputation entries.
func (e *Engine) ListReputation(ctx context.Context, tenantID, kind string, limit int) ([]firewall.ReputationEntry, error) {
	return e.cfg.Reputation.List(ctx, tenantID, kind, limit)
}

// Decisions lists audit records.
func (e *Engine) Decisions(ctx context.Context, f firewall.AuditFilter) ([]firewall.AuditRecord, string, error) {
	return e.cfg.Audit.List(ctx, f)
}
