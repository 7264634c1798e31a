// Package idempotency makes a retried API request return the first answer: the first
// request with a tenant's Idempotency-Key reserves it, its answer is stored, and a
// retry with the same key and the same body gets that answer back without doing the
// work again.
package idempotency

import (
	"context"
	"time"
)

// Response is a stored answer.
type Response struct {
	Status int    `json:"status"`
	Body   []byte `json:"body"`
}

// Outcome of Begin.
type Outcome int

const (
	// Started: the key was free and is now reserved for this request.
	Started Outcome = iota
	// Replay: the key holds a finished answer for the same request; send it again.
	Replay
	// InProgress: the first request with this key has not finished (answer 409).
	InProgress
	// Mismatch: the key was used with a different request body (answer 422).
	Mismatch
)

// Store keeps keys for TTL after their first use. Keys are scoped by tenant.
type Store interface {
	// Begin reserves (tenant, key) for a request whose body hashes to fingerprint, or
	// reports why it cannot; with Replay, the stored answer is returned.
	Begin(ctx context.Context, tenantID, key, fingerprint string, ttl time.Duration) (Outcome, Response, error)
	// Complete stores the answer of a request that Began.
	Complete(ctx context.Context, tenantID, key string, r Response) error
	// Release frees a reservation whose request failed before doing anything, so a
	// retry can start afresh.
	Release(ctx context.Context, tenantID, key string) error
}
