package charging

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// Settled is what settling a message did: exactly one of Committed and Released is
// set, or neither when the message had nothing to settle (it was never reserved, or
// was free).
type Settled struct {
	Committed *catalog.BillingCommitted
	Released  *catalog.BillingReleased
}

// Settle commits a message's reservation when it was delivered, or failed and its
// rate charges on failure; otherwise it releases it. A replay (the same message's
// outcome again, or a second outcome) settles nothing new: the wallet answers
// Replayed or Settled, the ledger's SettleKey is already taken, and the event
// returned describes the first settlement.
func (e *Engine) Settle(ctx context.Context, ref catalog.MessageRef, delivered bool) (Settled, error) {
	k := chargeKey{ref.TenantID, ref.MessageID}
	charge, remembered := e.recent.GetIfPresent(k)
	var err error
	if !remembered {
		charge, err = e.cfg.Charges.Get(ctx, ref.TenantID, ref.MessageID)
	}
	if errs.CodeOf(err) == errs.NotFound {
		// Never authorized (declined, or sent before billing existed): nothing held.
		return Settled{}, nil
	}
	if err != nil {
		return Settled{}, err
	}
	commit := delivered || charge.Breakdown.ChargeOnFailure
	// The partner's share is worked out before the wallet moves: nothing that can fail
	// on a lookup may sit between the wallet's commit and the ledger's.
	partner, share := e.commission(ctx, charge)
	var got wallet.Result
	if commit {
		got, err = e.withAccount(ctx, ref.TenantID, func() (wallet.Result, error) {
			return e.cfg.Wallet.Commit(ctx, ref.TenantID, charge.ID, charge.Amount)
		})
	} else {
		got, err = e.withAccount(ctx, ref.TenantID, func() (wallet.Result, error) {
			return e.cfg.Wallet.Release(ctx, ref.TenantID, charge.ID)
		})
	}
	if err != nil {
		return Settled{}, err
	}
	e.recent.Invalidate(k) // the wallet has settled it: nothing will ask for it again
	switch got.Outcome {
	case wallet.Done, wallet.Replayed:
	case wallet.Settled:
		// Settled the other way first (a release after a commit, an expiry before a late
		// delivery): the first settlement stands, and its own step wrote (or, redelivered,
		// will write) the ledger. Describe it without touching the ledger, from the
		// stored charge (the remembered one does not know its settlement).
		if remembered {
			if stored, err := e.cfg.Charges.Get(ctx, ref.TenantID, ref.MessageID); err == nil {
				charge = stored
			}
		}
		return e.describe(charge, got), nil
	case wallet.Unknown:
		// The wallet forgot it (settled, and the ledger has it) or never had it.
		return e.settledInLedger(ctx, charge, remembered, got)
	default:
		return Settled{}, errs.E(errs.Internal, "billing: settle %s: unexpected outcome %s", charge.ID, got.Outcome)
	}
	res := got.Reservation
	if commit {
		first := got.Outcome == wallet.Done // a free message: the wallet's word
		if res.Amount.IsPositive() {
			tx := ledger.NewCommit(ref.TenantID, res.ID, res.Amount, res.Charged, res.Currency, partner, share)
			_, created, err := e.post(ctx, tx)
			if err != nil {
				return Settled{}, fmt.Errorf("billing: record commit of %s in the ledger: %w", res.ID, err)
			}
			first = created // the ledger's key is taken once, whatever redelivery did
			e.forget(ctx, ref.TenantID, res.ID)
		}
		if first {
			e.countCommitted(ctx, charge)
		}
		return Settled{Committed: &catalog.BillingCommitted{MessageRef: ref, ReservationID: res.ID, Amount: res.Charged,
			Currency: res.Currency, Available: got.Account.Available, OnFailure: !delivered, ReservedAt: charge.CreatedAt}}, nil
	}
	if err := e.release(ctx, res); err != nil {
		return Settled{}, err
	}
	e.forget(ctx, ref.TenantID, res.ID)
	return Settled{Released: &catalog.BillingReleased{MessageRef: ref, ReservationID: res.ID, Amount: res.Amount,
		Currency: res.Currency, Reason: catalog.ReleaseFailed, Available: got.Account.Available, ReservedAt: charge.CreatedAt}}, nil
}

// countCommitted adds a newly committed message to its month's volume (the month it
// was rated in, as the contract's close sums it). A failure is logged, not returned:
// the money is settled, and a retry would find the commit recorded and not count it.
func (e *Engine) countCommitted(ctx context.Context, c billing.Charge) {
	if _, err := e.cfg.Volume.Add(ctx, c.TenantID, billing.MonthOf(c.CreatedAt)); err != nil {
		e.cfg.Logger.ErrorContext(ctx, "billing: a committed message is missing from the month's volume", "tenant_id", c.TenantID,
			"message_id", c.MessageID, "error", err)
	}
}

// settledInLedger answers a settlement the wallet has no reservation for: when the
// ledger has the reservation's settlement (the wallet forgot it once recorded), it
// is described as the first settlement was, and nothing moves; otherwise there is
// nothing to settle.
func (e *Engine) settledInLedger(ctx context.Context, charge billing.Charge, remembered bool, got wallet.Result) (Settled, error) {
	tx, err := e.cfg.Ledger.Get(ctx, charge.TenantID, ledger.SettleKey(charge.ID))
	if errs.CodeOf(err) == errs.NotFound {
		e.cfg.Logger.WarnContext(ctx, "billing: no reservation to settle", "tenant_id", charge.TenantID, "message_id", charge.MessageID)
		return Settled{}, nil
	}
	if err != nil {
		return Settled{}, err
	}
	if remembered {
		if stored, err := e.cfg.Charges.Get(ctx, charge.TenantID, charge.ID); err == nil {
			charge = stored
		}
	}
	got.Reservation.State = wallet.Released
	if tx.Kind == ledger.Commit {
		// Charged is what left the reserved account and did not go back to available.
		reserved, back := zero, zero
		for _, p := range tx.Postings {
			switch p.Account {
			case ledger.TenantReserved(charge.TenantID):
				reserved = reserved.Sub(p.Amount)
			case ledger.TenantAvailable(charge.TenantID):
				back = back.Add(p.Amount)
			}
		}
		got.Reservation.State, got.Reservation.Charged = wallet.Committed, reserved.Sub(back)
	}
	return e.describe(charge, got), nil
}

// describe tells what became of a reservation settled earlier: the charge record when
// it has the settlement, else the wallet's state.
func (e *Engine) describe(c billing.Charge, got wallet.Result) Settled {
	ref := catalog.MessageRef{MessageID: c.MessageID, TenantID: c.TenantID, Channel: catalog.Channel(c.Channel)}
	committed := got.Reservation.State == wallet.Committed
	charged := got.Reservation.Charged
	reason := catalog.ReleaseFailed
	switch c.Status {
	case billing.ChargeCommitted:
		committed, charged = true, c.Charged
	case billing.ChargeReleased:
		committed = false
		if c.Reason != "" {
			reason = c.Reason
		}
	}
	if committed {
		return Settled{Committed: &catalog.BillingCommitted{MessageRef: ref, ReservationID: c.ID, Amount: charged,
			Currency: c.Currency, Available: got.Account.Available, ReservedAt: c.CreatedAt}}
	}
	return Settled{Released: &catalog.BillingReleased{MessageRef: ref, ReservationID: c.ID, Amount: c.Amount,
		Currency: c.Currency, Reason: reason, Available: got.Account.Available, ReservedAt: c.CreatedAt}}
}

// release records a reservation's release in the ledger.
func (e *Engine) release(ctx context.Context, res wallet.Reservation) error {
	if !res.Amount.IsPositive() {
		return nil
	}
	if _, _, err := e.post(ctx, ledger.NewRelease(res.TenantID, res.ID, res.Amount, res.Currency)); err != nil {
		return fmt.Errorf("billing: record release of %s in the ledger: %w", res.ID, err)
	}
	return nil
}

// RecordCommitted marks a committed message's charge row (the transactions API).
func (e *Engine) RecordCommitted(ctx context.Context, c catalog.BillingCommitted) error {
	return e.settles.Add(ctx, billing.Settlement{TenantID: c.TenantID, ID: c.ReservationID, CreatedAt: c.ReservedAt,
		Status: billing.ChargeCommitted, Charged: c.Amount, At: e.cfg.Now()})
}

// RecordReleased marks a released message's charge row.
func (e *Engine) RecordReleased(ctx context.Context, r catalog.BillingReleased) error {
	return e.settles.Add(ctx, billing.Settlement{TenantID: r.TenantID, ID: r.ReservationID, CreatedAt: r.ReservedAt,
		Status: billing.ChargeReleased, Charged: zero, Reason: r.Reason, At: e.cfg.Now()})
}

// commission is the partner's share of a charge committed in full, from the charge's
// rate card. A card that cannot be read (a default price list replaced since) pays no
// commission, logged: the charge itself must still settle.
func (e *Engine) commission(ctx context.Context, c billing.Charge) (account string, share decimal.Decimal) {
	card, err := e.card(ctx, c.Breakdown.RateCardID, c.Breakdown.RateCardVersion)
	if err != nil {
		e.cfg.Logger.WarnContext(ctx, "billing: no commission: rate card unreadable", "tenant_id", c.TenantID,
			"reservation_id", c.ID, "rate_card_id", c.Breakdown.RateCardID, "version", c.Breakdown.RateCardVersion, "error", err)
		return "", zero
	}
	if card.Commission == nil {
		return "", zero
	}
	share = card.Commission.Share(c.Channel, c.Amount)
	if share.IsZero() {
		return "", zero
	}
	return ledger.PartnerCommission(card.Commission.PartnerID), share
}

// ExpireDue releases up to limit reservations whose time is up and returns what it
// released. Any replica may run it: a reservation settled meanwhile is skipped. Each
// one is finished on its own (a detached context, the ledger's reserve posted again
// in case its authorize never reached the ledger), so one failure neither strands
// the others nor leaves a reservation released in the wallet and open in the ledger;
// the first error is returned after the rest are done.
func (e *Engine) ExpireDue(ctx context.Context, limit int) ([]catalog.BillingReleased, error) {
	now := e.cfg.Now()
	due, err := e.cfg.Wallet.Expired(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	var out []catalog.BillingReleased
	var first error
	for _, r := range due {
		rel, err := e.expire(context.WithoutCancel(ctx), r)
		if err != nil {
			e.cfg.Logger.ErrorContext(ctx, "billing: expiring a reservation", "tenant_id", r.TenantID, "reservation_id", r.ID, "error", err)
			first = cmp.Or(first, err)
			continue
		}
		if rel != nil {
			out = append(out, *rel)
		}
	}
	return out, first
}

func (e *Engine) expire(ctx context.Context, r wallet.Reservation) (*catalog.BillingReleased, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := e.cfg.Wallet.Release(ctx, r.TenantID, r.ID)
	if err != nil || got.Outcome != wallet.Done {
		return nil, err
	}
	res := got.Reservation
	if res.Amount.IsPositive() {
		txs := []ledger.Transaction{
			ledger.NewReserve(res.TenantID, res.ID, res.Amount, res.Currency),
			ledger.NewRelease(res.TenantID, res.ID, res.Amount, res.Currency),
		}
		for _, tx := range txs {
			if _, _, err := e.post(ctx, tx); err != nil {
				return nil, fmt.Errorf("billing: record expiry of %s in the ledger: %w", res.ID, err)
			}
		}
		e.forget(ctx, r.TenantID, res.ID)
	}
	c, err := e.cfg.Charges.Get(ctx, r.TenantID, r.ID)
	if err != nil {
		// Released all the same; without its charge the event cannot name its channel.
		e.cfg.Logger.WarnContext(ctx, "billing: expired reservation has no charge record", "tenant_id", r.TenantID, "reservation_id", r.ID, "error", err)
		return nil, nil
	}
	return &catalog.BillingReleased{
		MessageRef:    catalog.MessageRef{MessageID: c.MessageID, TenantID: r.TenantID, Channel: catalog.Channel(c.Channel)},
		ReservationID: r.ID, Amount: res.Amount, Currency: res.Currency,
		Reason: catalog.ReleaseExpired, Available: got.Account.Available, ReservedAt: c.CreatedAt,
	}, nil
}
