package billing

import (
	"encoding/json"
	"time"
)

// Billing's other records: a message's decline (a final answer), the alerts a
// balance change called for until they are emitted (the outbox in Settings), and the
// audit of the reconciler's repairs.

// Decline is billing's refusal of a message, recorded: a final answer, so a replay
// of the message (after a top-up, a new rate card, a reinstatement) is declined again
// rather than authorized.
type Decline struct {
	TenantID  string    `json:"tenant_id"`
	MessageID string    `json:"message_id"`
	Channel   string    `json:"channel"`
	Reason    string    `json:"reason"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
}

// Alert is a tenant event a balance change called for (balance.low,
// tenant.suspended, tenant.reinstated), kept with the settings that changed until it
// is emitted. ID is the event's id, so a re-emission is a duplicate, not news.
type Alert struct {
	ID       string          `json:"id"`
	TenantID string          `json:"tenant_id"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	At       time.Time       `json:"at"`
}

// Repair is the audit record of one reconciliation: a tenant's wallet account that
// disagreed with the ledger, reloaded from it.
type Repair struct {
	ID       string    `json:"repair_id"`
	TenantID string    `json:"tenant_id"`
	At       time.Time `json:"at"`
	// Problems are what verify found, as it words them.
	Problems []string `json:"problems"`
	// Wallet is the account before the repair, Ledger the account it was reloaded to.
	Wallet AccountState `json:"wallet"`
	Ledger AccountState `json:"ledger"`
}

// AccountState is a tenant's balance, blocked amount and open reservations (id →
// amount) as one side held them.
type AccountState struct {
	Currency     string            `json:"currency"`
	Balance      string            `json:"balance"`
	Blocked      string            `json:"blocked"`
	Reservations map[string]string `json:"reservations,omitempty"`
}

// PrepareDecline checks d for Charges.RecordDecline: tenant, message and reason set;
// a zero At is now.
func PrepareDecline(d Decline, now time.Time) (Decline, error) {
	for _, f := range []struct{ name, v string }{{"tenant_id", d.TenantID}, {"message_id", d.MessageID}, {"reason", d.Reason}} {
		if err := storeCheckID(f.name, f.v); err != nil {
			return Decline{}, err
		}
	}
	if d.At.IsZero() {
		d.At = now
	}
	d.At = StoreTime(d.At)
	return d, nil
}

// PrepareRepair checks r for Charges.RecordRepair: id and tenant set; a zero At is now.
func PrepareRepair(r Repair, now time.Time) (Repair, error) {
	if err := storeCheckID("repair_id", r.ID); err != nil {
		return Repair{}, err
	}
	if err := storeCheckID("tenant_id", r.TenantID); err != nil {
		return Repair{}, err
	}
	if r.At.IsZero() {
		r.At = now
	}
	r.At = StoreTime(r.At)
	if r.Problems == nil {
		r.Problems = []string{}
	}
	return r, nil
}

// RemoveAlerts returns alerts without those whose id is in ids.
func RemoveAlerts(alerts []Alert, ids []string) []Alert {
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	out := make([]Alert, 0, len(alerts))
	for _, a := range alerts {
		if !drop[a.ID] {
			out = append(out, a)
		}
	}
	return out
}
