// Package stores opens the platform's stores: PostgreSQL (migrated on open) when a
// database URL is given, otherwise the in-memory adapters. Both pass the same
// contract tests (internal/storetest), so callers do not care which they got.
package stores

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
	"github.com/catalyst-cpaas/catalyst/internal/smsgw"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// Stores is one process's set of stores.
type Stores struct {
	Tenants     tenant.Store
	Messages    message.Store
	Idempotency idempotency.Store
	Ledger      ledger.Store
	Numbers     numbers.Store
	// SMSPending keeps sent SMS awaiting receipts; nil (in-memory mode) leaves them in
	// the connector's memory.
	SMSPending smsgw.Pending
	// SMSMOParts keeps the parts of concatenated inbound SMS; nil (in-memory mode)
	// leaves them in the connector's memory.
	SMSMOParts smsgw.MOParts
	// Billing's stores: rate cards, FX rates, promo codes, balance settings and
	// charge records next to the ledger; the wallet (balances and reservations) and
	// the monthly volume counter in Redis when PostgreSQL and Redis are both given,
	// else in memory (a Redis wallet over an in-memory ledger would outlive its truth).
	RateCards       billing.RateCards
	FXRates         billing.FXRates
	Promos          billing.Promos
	BillingSettings billing.SettingsStore
	Charges         billing.Charges
	Wallet          wallet.Wallet
	Volume          charging.Counter
	// The firewall's stores: reputation lists, the review and throttle queues and the
	// decision audit (PostgreSQL or memory, like the other relational stores), and
	// velocity counters (Redis when a Redis URL is given, else memory).
	FirewallReputation firewall.ReputationStore
	FirewallReviews    firewall.Reviews
	FirewallAudit      firewall.Audit
	Velocity           velocity.Counter
	// Limiter keeps rate-limit buckets: in Redis when a Redis URL is given (shared by
	// every replica), else in memory.
	Limiter ratelimit.Limiter
	// Description says which adapter is in use, for start-up output (no secrets).
	Description string
	close       func()
	inDatabase  bool // the relational stores are PostgreSQL's
}

// CacheReads keeps the answers of the request path's reads from the database —
// API keys and tenants, billing settings, rate cards in force, active promos — for
// ttl (readcache), so a message does not pay a round trip for each. This process's
// writes are seen at once; another's within ttl. No-op for in-memory stores or a
// ttl of 0.
func (s *Stores) CacheReads(ttl time.Duration) {
	if !s.inDatabase || ttl <= 0 {
		return
	}
	s.Tenants = tenant.Cached(s.Tenants, ttl)
	s.BillingSettings = billing.CachedSettings(s.BillingSettings, ttl)
	s.RateCards = billing.CachedRateCards(s.RateCards, ttl)
	s.Promos = billing.CachedPromos(s.Promos, ttl)
	s.Description += fmt.Sprintf(", reads cached for %s", ttl)
}

// Close releases connections.
func (s *Stores) Close() {
	if s.close != nil {
		s.close()
	}
}

// DefaultRedisPrefix starts every Redis key Catalyst writes.
const DefaultRedisPrefix = "catalyst:"

// Open connects to databaseURL and applies pending migrations, or returns in-memory
// stores when databaseURL is empty; the rate limiter (and, with a database, the
// wallet) uses Redis at redisURL, if any, under redisPrefix ("" means
// DefaultRedisPrefix), so several platforms can share one Redis. opts go to
// postgres.Open (postgres.WithLogger: warn of a plaintext remote database).
func Open(ctx context.Context, databaseURL, redisURL, redisPrefix string, opts ...postgres.Option) (*Stores, error) {
	if redisPrefix == "" {
		redisPrefix = DefaultRedisPrefix
	}
	st, err := openRelational(ctx, databaseURL, opts)
	if err != nil {
		return nil, err
	}
	st.Limiter = ratelimit.NewMemory(nil)
	st.Wallet, st.Volume = wallet.NewMemory(time.Now), charging.NewMemoryCounter()
	// Replays of a message arrive within minutes (broker retries); a shorter window
	// than the default hour keeps the in-memory counter's memory bounded under load.
	st.Velocity = velocity.NewMemory(velocity.WithReplayWindow(10 * time.Minute))
	if redisURL != "" {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		client := redis.NewClient(opts)
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			st.Close()
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
		st.Limiter = ratelimit.NewRedis(client, redisPrefix+"ratelimit:")
		st.Velocity = velocity.NewRedis(client, redisPrefix+"velocity:")
		st.Description += ", rate limits and velocity in Redis " + opts.Addr
		if databaseURL != "" {
			st.Wallet = wallet.NewRedis(client, redisPrefix+"wallet:")
			st.Volume = charging.NewRedisCounter(client, redisPrefix+"billing:")
			st.Description += ", wallet in Redis"
		}
		closeDB := st.close
		st.close = func() {
			client.Close()
			if closeDB != nil {
				closeDB()
			}
		}
	}
	return st, nil
}

func openRelational(ctx context.Context, databaseURL string, opts []postgres.Option) (*Stores, error) {
	if databaseURL == "" {
		db := inmem.New()
		return &Stores{Tenants: db.Tenants(), Messages: db.Messages(), Idempotency: db.Idempotency(), Ledger: db.Ledger(), Numbers: db.Numbers(),
			RateCards: db.RateCards(), FXRates: db.FXRates(), Promos: db.Promos(), BillingSettings: db.BillingSettings(), Charges: db.Charges(),
			FirewallReputation: db.FirewallReputation(), FirewallReviews: db.FirewallReviews(), FirewallAudit: db.FirewallAudit(),
			Description: "in-memory"}, nil
	}
	db, err := postgres.Open(ctx, databaseURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate PostgreSQL: %w", err)
	}
	return &Stores{
		Tenants: db.Tenants(), Messages: db.Messages(), Idempotency: db.Idempotency(), Ledger: db.Ledger(), Numbers: db.Numbers(), SMSPending: db.SMSPending(), SMSMOParts: db.SMSMOParts(),
		RateCards: db.RateCards(), FXRates: db.FXRates(), Promos: db.Promos(), BillingSettings: db.BillingSettings(), Charges: db.Charges(),
		FirewallReputation: db.FirewallReputation(), FirewallReviews: db.FirewallReviews(), FirewallAudit: db.FirewallAudit(),
		Description: "PostgreSQL " + redact(databaseURL), close: db.Close, inDatabase: true,
	}, nil
}

// redact drops credentials from a URL for display.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(DATABASE_URL)"
	}
	return u.Host + u.Path
}
