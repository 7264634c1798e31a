// Package numbers records which tenant owns which inbound address on which channel
// (an SMS long number or short code, …), so an inbound message can be routed to its
// tenant. Adapters (internal/postgres, internal/inmem) implement Store and pass
// storetest's contract.
package numbers

import (
	"context"
	"time"
)

// Number is one address a tenant receives on.
type Number struct {
	Channel   string    `json:"channel"`   // "sms"
	Number    string    `json:"number"`    // +E.164, or the digits of a short code
	TenantID  string    `json:"tenant_id"` // the owner
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps the assignments. Errors are *errs.Error: Conflict when another tenant
// owns the number, NotFound for an unassigned one, Invalid for empty fields.
type Store interface {
	// Assign gives n.Number on n.Channel to n.TenantID; assigning it again to the same
	// tenant returns the existing record.
	Assign(ctx context.Context, n Number) (Number, error)
	// Release frees a number the tenant owns.
	Release(ctx context.Context, tenantID, channel, number string) error
	// Owner finds who owns a number.
	Owner(ctx context.Context, channel, number string) (Number, error)
	// List returns a tenant's numbers, sorted by channel then number.
	List(ctx context.Context, tenantID string) ([]Number, error)
}
