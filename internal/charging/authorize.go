package charging

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/channel"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// Declined is billing's refusal of a message (nil when it goes on).
type Declined = catalog.BillingDeclined

func decline(m catalog.MessageRequested, reason, format string, args ...any) *Declined {
	return &Declined{MessageRef: catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)},
		Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// A decline is a final answer for its message: it is recorded (refuse), and a replay
// of the message — at the first step or at reserve, after a top-up, a new rate card or
// a reinstatement — is answered with it again (declinedBefore) rather than priced.

// declinedBefore returns the message's recorded decline, nil when it has none.
func (e *Engine) declinedBefore(ctx context.Context, m catalog.MessageRequested) (*Declined, error) {
	d, err := e.cfg.Charges.Decline(ctx, m.TenantID, m.MessageID)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: read the decline of %s: %w", m.MessageID, err)
	}
	e.cfg.Logger.InfoContext(ctx, "billing: replay of a declined message declined again", "tenant_id", m.TenantID, "message_id", m.MessageID, "reason", d.Reason)
	return &Declined{MessageRef: catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)},
		Reason: d.Reason, Detail: d.Detail}, nil
}

// refuse records d as its message's final answer and returns the recorded one (a
// decline recorded first, by a concurrent replay, stands).
func (e *Engine) refuse(ctx context.Context, d *Declined) (*Declined, error) {
	got, err := e.cfg.Charges.RecordDecline(ctx, billing.Decline{TenantID: d.TenantID, MessageID: d.MessageID,
		Channel: string(d.Channel), Reason: d.Reason, Detail: d.Detail, At: e.cfg.Now()})
	if err != nil {
		return nil, fmt.Errorf("billing: record the decline of %s: %w", d.MessageID, err)
	}
	out := *d
	out.Reason, out.Detail = got.Reason, got.Detail
	return &out, nil
}

// Rate is the authorize Sequence's first step: it checks the tenant may spend, finds
// the rate card in force, measures the message and prices its base. A message
// declined before is declined again.
func (e *Engine) Rate(ctx context.Context, m catalog.MessageRequested) (catalog.BillingRating, *Declined, error) {
	if d, err := e.declinedBefore(ctx, m); d != nil || err != nil {
		return catalog.BillingRating{}, d, err
	}
	r, d, err := e.rate(ctx, m)
	if d != nil && err == nil {
		d, err = e.refuse(ctx, d)
	}
	return r, d, err
}

func (e *Engine) rate(ctx context.Context, m catalog.MessageRequested) (catalog.BillingRating, *Declined, error) {
	now := e.cfg.Now()
	t, err := e.cfg.Tenants.GetTenant(ctx, m.TenantID)
	if errs.CodeOf(err) == errs.NotFound {
		return catalog.BillingRating{}, decline(m, catalog.DeclineTenantSuspended, "tenant %s does not exist", m.TenantID), nil
	}
	if err != nil {
		return catalog.BillingRating{}, nil, err
	}
	if t.Status != tenant.Active {
		return catalog.BillingRating{}, decline(m, catalog.DeclineTenantSuspended, "tenant %s is %s", t.ID, t.Status), nil
	}
	s, err := e.cfg.Settings.Get(ctx, t.ID)
	if err != nil {
		return catalog.BillingRating{}, nil, err
	}
	if s.Suspended {
		return catalog.BillingRating{}, decline(m, catalog.DeclineTenantSuspended, "sending is suspended: the balance is below the suspend level %s %s", ledger.Format(s.SuspendLevel), t.Currency), nil
	}
	if s.Expiry != nil && !now.Before(*s.Expiry) {
		return catalog.BillingRating{}, decline(m, catalog.DeclineInsufficientBalance, "the prepaid balance expired at %s", s.Expiry.UTC().Format("2006-01-02T15:04:05Z")), nil
	}
	card, err := e.cardInForce(ctx, t.ID, now)
	if errs.CodeOf(err) == errs.NotFound {
		return catalog.BillingRating{}, decline(m, catalog.DeclineNoRate, "no rate card is in force for tenant %s", t.ID), nil
	}
	if err != nil {
		return catalog.BillingRating{}, nil, err
	}
	// The month's committed messages and this one: a declined or released message
	// never counts, and a replay of this one is priced alike.
	committed, err := e.cfg.Volume.Count(ctx, t.ID, billing.MonthOf(now))
	if err != nil {
		return catalog.BillingRating{}, nil, err
	}
	u := usageOf(m, now, committed+1)
	b, err := billing.Base(card, u)
	if errs.CodeOf(err) == errs.NotFound {
		return catalog.BillingRating{}, decline(m, catalog.DeclineNoRate, "rate card %s v%d has no %s rate", card.ID, card.Version, m.Channel), nil
	}
	if err != nil {
		return catalog.BillingRating{}, nil, err
	}
	return catalog.BillingRating{Message: m, Usage: u, Breakdown: b, B2B: s.B2B, Currency: t.Currency}, nil, nil
}

// settledBefore reports whether a reservation the wallet just re-made was already
// settled, and if so gives the wallet hold back (the ledger is untouched). The ledger
// answers (its settle key is taken from the moment the settlement is recorded); the
// charge record, whose status is written a step later, for a free message the
// ledger never saw.
func (e *Engine) settledBefore(ctx context.Context, tenantID, id string) (bool, error) {
	status := billing.ChargeReserved
	tx, err := e.cfg.Ledger.Get(ctx, tenantID, ledger.SettleKey(id))
	switch {
	case err == nil:
		status = billing.ChargeReleased
		if tx.Kind == ledger.Commit {
			status = billing.ChargeCommitted
		}
	case errs.CodeOf(err) != errs.NotFound:
		return false, err
	default:
		c, err := e.cfg.Charges.Get(ctx, tenantID, id)
		if errs.CodeOf(err) == errs.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		status = c.Status
	}
	if status == billing.ChargeReserved {
		return false, nil
	}
	if _, err := e.cfg.Wallet.Release(ctx, tenantID, id); err != nil {
		return true, err
	}
	e.forget(ctx, tenantID, id)
	e.cfg.Logger.WarnContext(ctx, "billing: replay of a settled message ignored", "tenant_id", tenantID, "message_id", id, "status", status)
	return true, nil
}

// forget drops a settled reservation from the wallet once the ledger holds its
// settlement: replays are then answered from the ledger, and the wallet keeps
// nothing per message sent. A failure only leaves the record to its retention.
func (e *Engine) forget(ctx context.Context, tenantID, id string) {
	if err := e.cfg.Wallet.Forget(ctx, tenantID, id); err != nil {
		e.cfg.Logger.WarnContext(ctx, "billing: forgetting a settled reservation", "tenant_id", tenantID, "reservation_id", id, "error", err)
	}
}

// usageOf measures a message as rate cards count it: SMS parts as the gateway will
// split the text (binary by octets), characters as runes, media and premium routing
// from the request.
func usageOf(m catalog.MessageRequested, now time.Time, volume int64) billing.Usage {
	u := billing.Usage{Channel: m.Channel, Destination: strings.TrimPrefix(m.To, "+"), Segments: 1,
		Characters: utf8.RuneCountInString(m.Content.Text), At: now, MonthVolume: volume,
		Media: m.Content.Type == "media"}
	if op, ok := m.Options["operator"].(string); ok {
		u.Operator = op // MCC+MNC when the integrator knows the recipient's network
	}
	if p, ok := m.Options["premium"].(bool); ok {
		u.Premium = p
	}
	if m.Channel == "sms" {
		switch m.Content.Type {
		case "binary":
			u.Segments = channel.BinaryParts(base64.StdEncoding.DecodedLen(len(m.Content.Data)))
		default:
			_, u.Segments = channel.SMSParts(m.Content.Text)
		}
	}
	return u
}

// Discount applies the volume tier and the tenant's first usable promo code; the
// promo's use is counted once per message.
func (e *Engine) Discount(ctx context.Context, r *catalog.BillingRating) error {
	card, err := e.card(ctx, r.Breakdown.RateCardID, r.Breakdown.RateCardVersion)
	if err != nil {
		return err
	}
	promos, err := e.cfg.Promos.Active(ctx, r.Message.TenantID, r.Usage.At)
	if err != nil {
		return err
	}
	var promo *billing.Promo
	var use int64
	for i := range promos {
		n, ok, err := e.cfg.Promos.Redeem(ctx, promos[i].Code, r.Message.TenantID, r.Message.MessageID, r.Usage.At)
		if err != nil {
			return err
		}
		if ok {
			promo, use = &promos[i], n
			break
		}
	}
	r.Breakdown.ApplyDiscount(card, r.Usage, promo, use)
	return nil
}

// Fees adds the card's per-message fees.
func (e *Engine) Fees(ctx context.Context, r *catalog.BillingRating) error {
	card, err := e.card(ctx, r.Breakdown.RateCardID, r.Breakdown.RateCardVersion)
	if err != nil {
		return err
	}
	r.Breakdown.ApplyFees(card, r.Usage)
	return nil
}

// Tax sets the tax rate (0 for an exempt business tenant).
func (e *Engine) Tax(ctx context.Context, r *catalog.BillingRating) error {
	card, err := e.card(ctx, r.Breakdown.RateCardID, r.Breakdown.RateCardVersion)
	if err != nil {
		return err
	}
	r.Breakdown.ApplyTax(card, r.B2B)
	return nil
}

// FX converts to the tenant's currency at the rate valid when the message was
// requested, then computes tax and total. A missing rate declines the message.
func (e *Engine) FX(ctx context.Context, r *catalog.BillingRating) (*Declined, error) {
	d, err := e.fx(ctx, r)
	if d != nil && err == nil {
		d, err = e.refuse(ctx, d)
	}
	return d, err
}

func (e *Engine) fx(ctx context.Context, r *catalog.BillingRating) (*Declined, error) {
	currency := r.Currency // the rate step read the tenant; an older event may lack it
	if currency == "" {
		t, err := e.cfg.Tenants.GetTenant(ctx, r.Message.TenantID)
		if err != nil {
			return nil, err
		}
		currency = t.Currency
	}
	rate, err := e.fxRate(ctx, r.Breakdown.CardCurrency, currency, r.Usage.At)
	if errs.CodeOf(err) == errs.NotFound {
		return decline(r.Message, catalog.DeclineNoRate, "no FX rate from %s to %s", r.Breakdown.CardCurrency, currency), nil
	}
	if err != nil {
		return nil, err
	}
	r.Breakdown.ApplyFX(currency, rate.Rate)
	return nil, nil
}

// Reserve blocks the message's total on the tenant's balance and records the charge:
// billing.authorized, or billing.declined when the balance cannot cover it or the
// tenant is suspended. Replays answer as the first call did (the reservation's id is
// the message id), except a replay of a message already settled, which answers
// neither (nil, nil): it must not be sent again; and a replay of a message declined
// before, which is declined again.
func (e *Engine) Reserve(ctx context.Context, r catalog.BillingRating) (*catalog.BillingAuthorized, *Declined, error) {
	if d, err := e.declinedBefore(ctx, r.Message); d != nil || err != nil {
		return nil, d, err
	}
	return e.reserve(ctx, r)
}

// reserve is Reserve without the look for an earlier decline (Authorize's rate step
// has looked).
func (e *Engine) reserve(ctx context.Context, r catalog.BillingRating) (*catalog.BillingAuthorized, *Declined, error) {
	a, d, err := e.reserveOnce(ctx, r)
	if d != nil && err == nil {
		d, err = e.refuse(ctx, d)
	}
	return a, d, err
}

func (e *Engine) reserveOnce(ctx context.Context, r catalog.BillingRating) (*catalog.BillingAuthorized, *Declined, error) {
	m, b := r.Message, r.Breakdown
	now := e.cfg.Now()
	// The charge row goes to the store in a shared batch: check it before any money
	// moves, so one bad message cannot fail the batch after its wallet hold is made.
	if _, err := billing.PrepareCharge(billing.Charge{ID: m.MessageID, TenantID: m.TenantID, MessageID: m.MessageID,
		Channel: m.Channel, Amount: b.Total, Currency: b.Currency}, now); err != nil {
		return nil, nil, err
	}
	res := wallet.Reservation{ID: m.MessageID, TenantID: m.TenantID, Currency: b.Currency, Amount: b.Total,
		ChargeOnFailure: b.ChargeOnFailure, CreatedAt: now, ExpiresAt: now.Add(e.cfg.ReservationTTL)}
	got, err := e.withAccount(ctx, m.TenantID, func() (wallet.Result, error) { return e.cfg.Wallet.Reserve(ctx, res) })
	if errors.Is(err, ErrUnloadable) {
		// Not a state a retry repairs: the message ends, saying why.
		return nil, decline(m, catalog.DeclineTenantSuspended, "%v", err), nil
	}
	if err != nil {
		return nil, nil, err
	}
	switch got.Outcome {
	case wallet.Insufficient:
		return nil, decline(m, catalog.DeclineInsufficientBalance, "available %s %s, price %s %s",
			ledger.Format(got.Account.Available), got.Account.Currency, ledger.Format(b.Total), b.Currency), nil
	case wallet.Refused:
		return nil, decline(m, catalog.DeclineTenantSuspended, "sending is suspended"), nil
	case wallet.Done, wallet.Replayed:
	default:
		return nil, nil, errs.E(errs.Internal, "billing: reserve %s: unexpected outcome %s", m.MessageID, got.Outcome)
	}
	held := got.Reservation
	if held.State != wallet.Reserved {
		// A replay of a message already settled: nothing to reserve, nothing to send.
		return nil, nil, nil
	}
	if !held.Amount.IsPositive() && got.Outcome == wallet.Done {
		// Free: the ledger never saw it, so only its charge record tells a replay
		// after the wallet's retention from a new message.
		if settled, err := e.settledBefore(ctx, m.TenantID, held.ID); err != nil || settled {
			return nil, nil, err
		}
	}
	if held.Amount.IsPositive() {
		_, created, err := e.post(ctx, ledger.NewReserve(m.TenantID, held.ID, held.Amount, held.Currency))
		if err != nil {
			return nil, nil, fmt.Errorf("billing: record reservation %s in the ledger: %w", held.ID, err)
		}
		if !created && got.Outcome == wallet.Done {
			// The wallet forgot this reservation (settled past its retention, or a
			// flushed Redis) while the ledger has it: if it was settled, this is a late
			// replay; undo the new wallet hold and stop.
			if settled, err := e.settledBefore(ctx, m.TenantID, held.ID); err != nil || settled {
				return nil, nil, err
			}
		}
	}
	charge := billing.Charge{ID: held.ID, TenantID: m.TenantID, MessageID: m.MessageID, Channel: m.Channel,
		Status: billing.ChargeReserved, Amount: held.Amount, Charged: zero, Currency: held.Currency, Breakdown: b, CreatedAt: held.CreatedAt}
	if err := e.charges.Add(ctx, charge); err != nil {
		return nil, nil, fmt.Errorf("billing: record charge %s: %w", held.ID, err)
	}
	e.recent.Set(chargeKey{charge.TenantID, charge.ID}, charge)
	return &catalog.BillingAuthorized{
		MessageRef:    catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: catalog.Channel(m.Channel)},
		ReservationID: held.ID, Amount: held.Amount, Currency: held.Currency, Rate: b.BaseRate,
		ExpiresAt: held.ExpiresAt, Message: m,
	}, nil, nil
}

// Authorize runs the authorize Sequence's six steps in one call (rate → discount →
// fees → tax → fx → reserve), for the fused function that screens and authorizes a
// message without the hops. Its answers are the Sequence's: authorized, declined,
// or neither for a replay of a message already settled.
func (e *Engine) Authorize(ctx context.Context, m catalog.MessageRequested) (*catalog.BillingAuthorized, *Declined, error) {
	r, d, err := e.Rate(ctx, m)
	if err != nil || d != nil {
		return nil, d, err
	}
	for _, step := range []func(context.Context, *catalog.BillingRating) error{e.Discount, e.Fees, e.Tax} {
		if err := step(ctx, &r); err != nil {
			return nil, nil, err
		}
	}
	if d, err := e.FX(ctx, &r); err != nil || d != nil {
		return nil, d, err
	}
	return e.reserve(ctx, r)
}
