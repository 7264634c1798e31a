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
// returns the screen with its new verdict, for the caller to emit. Deciding a review
// again the same way returns the same (replays); the other way is Conflict.
func (e *Engine) Review(ctx context.Context, messageID string, approve bool, by, note string) (firewall.Review, *firewall.Screen, error) {
	state, outcome := firewall.ReviewRejected, firewall.Block
	if approve {
		state, outcome = firewall.ReviewApproved, firewall.Pass
	}
	r, err := e.cfg.Reviews.Decide(ctx, messageID, state, outcome, by, note, e.now())
	if err != nil {
		return r, nil, err
	}
	s, err := e.later(ctx, r, PhaseReview, fmt.Sprintf("%s by %s", state, by))
	return r, s, err
}

// Overdue applies the default action to held messages whose SLA passed, and returns
// their screens with the new verdict, for the caller to emit.
func (e *Engine) Overdue(ctx context.Context, limit int) ([]*firewall.Screen, error) {
	now := e.now()
	due, err := e.cfg.Reviews.Overdue(ctx, now, limit)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "firewall: overdue reviews")
	}
	action := e.cfg.Settings.Review.DefaultAction
	out := make([]*firewall.Screen, 0, len(due))
	for _, r := range due {
		r, err := e.cfg.Reviews.Decide(ctx, r.MessageID, firewall.ReviewExpired, action, "sla", "", now)
		if errs.CodeOf(err) == errs.Conflict {
			continue // an operator decided it meanwhile
		}
		if err != nil {
			return out, err
		}
		s, err := e.later(ctx, r, PhaseReviewSLA, fmt.Sprintf("not reviewed within %s: default action", time.Duration(e.cfg.Settings.Review.SLA)))
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// later is a held message's second verdict, audited.
func (e *Engine) later(ctx context.Context, r firewall.Review, phase, why string) (*firewall.Screen, error) {
	s := r.Screen
	prev := firewall.Verdict{}
	if s.Verdict != nil {
		prev = *s.Verdict
	}
	v := prev
	v.Decision, v.Phase, v.ReleaseAt = r.Outcome, phase, nil
	v.Explanation = fmt.Sprintf("%s: %s; held for: %s", r.Outcome, why, prev.Explanation)
	s.Verdict = &v
	_, err := e.record(ctx, &s, phase, e.now()) // the review's outcome is already the store's
	return &s, err
}

// DueThrottled returns throttled messages whose wait is over, with a pass verdict;
// the caller emits each and then calls Released.
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
		if _, err := e.record(ctx, &s, PhaseRelease, e.now()); err != nil {
			return out, err
		}
		out = append(out, &s)
	}
	return out, nil
}

// Released removes a throttled message from the queue once its pass is emitted.
func (e *Engine) Released(ctx context.Context, messageID string) error {
	return e.cfg.Reviews.Released(ctx, messageID)
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
