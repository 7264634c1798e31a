package firewall

import (
	"context"
	"time"
)

// Reputation kinds: what an entry is about.
const (
	KindSender = "sender" // a sender id or number (the message's from)
	KindNumber = "number" // a destination number (E.164 digits, no '+')
	KindDomain = "domain" // a registrable domain (lower case)
	KindURL    = "url"    // one exact URL
)

// Reputation lists: where an entry comes from.
const (
	ListBlock     = "blocklist" // known bad: score as given (default 100)
	ListWatch     = "watchlist" // watched: sets watch_listed, score as given (default 0)
	ListComplaint = "complaint" // a user complaint: each adds its score (default 10)
	ListCarrier   = "carrier"   // carrier feedback: each adds its score (default 20)
)

// ReputationEntry is one fact about a sender, number, domain or URL.
type ReputationEntry struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id,omitempty"` // "" applies to every tenant
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	List     string `json:"list"`
	// Score 0-100; 0 in Add means the list's default.
	Score     int        `json:"score"`
	Reason    string     `json:"reason,omitempty"`
	Source    string     `json:"source,omitempty"` // who reported it (operator, api key, carrier name)
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Standing is what is known about one value, from all its live entries: the highest
// blocklist or watchlist score plus the sum of complaint and carrier scores, capped
// at 100.
type Standing struct {
	Score       int  `json:"score"`
	Complaints  int  `json:"complaints"` // complaint and carrier entries
	WatchListed bool `json:"watch_listed"`
}

// ReputationKey names one value to look up.
type ReputationKey struct {
	Kind  string
	Value string
}

// ReputationStore keeps reputation entries (PostgreSQL, or memory in dev). Errors are
// *errs.Error: Invalid with field paths for a bad entry (unknown kind or list, empty
// value, score outside 0-100), NotFound.
type ReputationStore interface {
	// Add stores an entry (ID and CreatedAt set by the store; Value normalised: lower
	// case for domains and URLs, digits only for numbers).
	Add(ctx context.Context, e ReputationEntry) (ReputationEntry, error)
	// Standings returns the standing of each key for tenantID at t (global entries and
	// the tenant's own; expired ones ignored). A key with no entries is absent.
	Standings(ctx context.Context, tenantID string, keys []ReputationKey, t time.Time) (map[ReputationKey]Standing, error)
	// List returns the entries of tenantID ("" = global only) of one kind ("" = all),
	// newest first, at most limit.
	List(ctx context.Context, tenantID, kind string, limit int) ([]ReputationEntry, error)
	// Delete removes an entry.
	Delete(ctx context.Context, id string) error
}

// Review states.
const (
	ReviewPending  = "pending"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
	ReviewExpired  = "expired" // the SLA passed; the default action applied
)

// Review is a held message waiting for an operator.
type Review struct {
	MessageID string    `json:"message_id"`
	TenantID  string    `json:"tenant_id"`
	Screen    Screen    `json:"screen"` // the message, its features and the verdict
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	Deadline  time.Time `json:"deadline"` // when the default action applies
	// Set once decided.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"` // operator, or "sla"
	Outcome   string     `json:"outcome,omitempty"`    // pass or block
	Note      string     `json:"note,omitempty"`
	// DeliveredAt is when the decision's message.screened was emitted (Delivered);
	// until then the review is owed one (Undelivered).
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// ReviewFilter selects reviews.
type ReviewFilter struct {
	TenantID string // "" = all tenants
	State    string // "" = all states
	Limit    int    // 0 = 100
	Cursor   string // from the previous page's NextCursor
}

// DeliveryLease is how long a claim on a decided review or a due throttled message
// lasts. Whoever decided or claimed it emits its message.screened and marks it done
// (Delivered, Released) within the lease; if it crashes or the emit fails, the next
// sweep after the lease (in any pod) claims it again. So a decision is never lost,
// and concurrent sweepers do not both send the same message.
const DeliveryLease = 30 * time.Second

// Reviews is the review queue of held messages, and the queue of throttled
// messages waiting for their release time (Deferred). Errors are *errs.Error.
type Reviews interface {
	// Hold parks a message; a second Hold of the same message id is a no-op that
	// returns the stored review (replays).
	Hold(ctx context.Context, r Review) (Review, error)
	// Get returns a review (NotFound).
	Get(ctx context.Context, messageID string) (Review, error)
	// List returns reviews, oldest first, and a cursor for the next page ("" at the end).
	List(ctx context.Context, f ReviewFilter) ([]Review, string, error)
	// Decide moves a pending review to approved, rejected or expired, with outcome
	// pass or block. Deciding one that is already decided is Conflict, unless it was
	// decided the same way (then it returns the stored review: replays). The decision
	// it applies is claimed by its caller until at + DeliveryLease: the caller emits
	// it and calls Delivered.
	Decide(ctx context.Context, messageID, state, outcome, by, note string, at time.Time) (Review, error)
	// Overdue returns up to limit pending reviews whose deadline is <= t.
	Overdue(ctx context.Context, t time.Time, limit int) ([]Review, error)
	// Undelivered claims, until t + DeliveryLease, up to limit decided reviews that
	// are not Delivered and not claimed at t, oldest decision first (ties by message
	// id): the decisions whose emit was lost. Concurrent callers get disjoint claims.
	Undelivered(ctx context.Context, t time.Time, limit int) ([]Review, error)
	// Delivered records that a decided review's message.screened was emitted
	// (idempotent; NotFound for no review, Conflict for a pending one).
	Delivered(ctx context.Context, messageID string, at time.Time) error

	// Defer queues a throttled message for release at r.ReleaseAt (a second Defer of
	// the same message id is a no-op, also once it was released).
	Defer(ctx context.Context, d Deferred) error
	// Due claims, until t + DeliveryLease, up to limit deferred messages not yet
	// released whose release time is <= t and that are not claimed at t, by release
	// time (ties by message id). Concurrent callers get disjoint claims.
	Due(ctx context.Context, t time.Time, limit int) ([]Deferred, error)
	// Released records that a deferred message's pass was emitted: Due no longer
	// returns it (idempotent; releasing a message that is not deferred is a no-op).
	Released(ctx context.Context, messageID string, at time.Time) error

	// Purge deletes delivered reviews decided before `before` and deferred messages
	// released before it, and says how many rows went. The audit keeps every
	// decision; these queues need only what is pending or recent.
	Purge(ctx context.Context, before time.Time) (int, error)
}

// Deferred is a throttled message waiting to go on.
type Deferred struct {
	MessageID string    `json:"message_id"`
	TenantID  string    `json:"tenant_id"`
	Screen    Screen    `json:"screen"`
	ReleaseAt time.Time `json:"release_at"`
	// ReleasedAt is when its pass was emitted (Released).
	ReleasedAt *time.Time `json:"released_at,omitempty"`
}

// AuditRecord is one stored decision: every message screened gets one per decision
// (a held message gets a second when it is approved, rejected or expires).
type AuditRecord struct {
	ID        string    `json:"id"` // message id + "/" + sequence ("held", "approved", …)
	MessageID string    `json:"message_id"`
	TenantID  string    `json:"tenant_id"`
	At        time.Time `json:"at"`
	// Screen is the message, its features, rule hits and the verdict; required (a
	// pointer: screens are large, and every decision writes a record).
	Screen       *Screen `json:"screen"`
	RulesVersion string  `json:"rules_version,omitempty"` // the rule set's hash
	ModelVersion string  `json:"model_version,omitempty"`
}

// AuditFilter selects audit records.
type AuditFilter struct {
	TenantID string    // "" = all
	Since    time.Time // inclusive
	Until    time.Time // exclusive; zero = no end
	Decision string    // "" = all
	Limit    int       // 0 = 100
	Cursor   string
}

// Audit keeps decisions (PostgreSQL, partitioned by month, or memory). Record is
// idempotent on the record id. Record may keep the screens it is given (the memory
// adapter does, to spare a copy on every decision): a caller must not change a
// screen once recorded. List returns screens of the caller's own.
type Audit interface {
	Record(ctx context.Context, recs ...AuditRecord) error
	// RecordFirst is Record that also answers, for each record in order, the verdict
	// that stands for its id: its own when this call recorded it, else the one
	// recorded first (nil when that one had none). The first decision on a message
	// is the decision: a redelivered decide step, whose inputs may have changed
	// meanwhile (a rule reload), repeats it instead of deciding again. A verdict
	// returned may be the store's own: read it, do not change it.
	RecordFirst(ctx context.Context, recs ...AuditRecord) ([]*Verdict, error)
	List(ctx context.Context, f AuditFilter) ([]AuditRecord, string, error)
}
