-- The firewall's later decisions are delivered through an outbox (internal/firewall
-- store.go, Reviews): a decided review keeps delivered_at NULL until its
-- message.screened was emitted, and a throttled message keeps its row, with
-- released_at, once its pass was emitted. claimed_until is a sweeper's (or a
-- decider's) lease on a row it is emitting: another sweep takes the row only once
-- the lease lapsed, so a crash between deciding and emitting loses nothing and two
-- sweepers do not send the same message.

ALTER TABLE firewall_reviews
    ADD COLUMN delivered_at  timestamptz,
    ADD COLUMN claimed_until timestamptz,
    ADD CHECK (delivered_at IS NULL OR state <> 'pending');

-- Reviews decided before this migration were emitted (or lost) when they were decided.
UPDATE firewall_reviews SET delivered_at = decided_at WHERE state <> 'pending';

-- Undelivered: decided and not yet emitted, oldest decision first.
CREATE INDEX firewall_reviews_undelivered ON firewall_reviews (decided_at, message_id)
    WHERE state <> 'pending' AND delivered_at IS NULL;
-- List with every state: across tenants and by tenant, oldest first.
CREATE INDEX firewall_reviews_created ON firewall_reviews (created_at, message_id);
CREATE INDEX firewall_reviews_tenant_created ON firewall_reviews (tenant_id, created_at, message_id);
-- Purge: delivered reviews by decision time.
CREATE INDEX firewall_reviews_purge ON firewall_reviews (decided_at) WHERE delivered_at IS NOT NULL;

ALTER TABLE firewall_deferred
    ADD COLUMN released_at   timestamptz,
    ADD COLUMN claimed_until timestamptz;

-- Due: not yet released, by release time.
DROP INDEX firewall_deferred_release;
CREATE INDEX firewall_deferred_due ON firewall_deferred (release_at, message_id) WHERE released_at IS NULL;
-- Purge: released rows by release time.
CREATE INDEX firewall_deferred_purge ON firewall_deferred (released_at) WHERE released_at IS NOT NULL;
