-- The SMS firewall's stores (internal/firewall/store.go): reputation entries, the
-- review queue of held messages, the throttled messages waiting for release, and the
-- decision audit. Ids that are listed in order are COLLATE "C", so PostgreSQL sorts
-- them byte-wise, as internal/inmem does.

-- Reputation entries. tenant_id '' is a global entry (every tenant sees it). value is
-- normalised by the store (firewall.NormalizeValue). Standings reads every live entry
-- of a batch of (kind, value) keys in one query through the covering index below.
CREATE TABLE firewall_reputation (
    id         uuid        PRIMARY KEY,
    tenant_id  text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('sender', 'number', 'domain', 'url')),
    value      text        NOT NULL CHECK (value <> ''),
    list       text        NOT NULL CHECK (list IN ('blocklist', 'watchlist', 'complaint', 'carrier')),
    score      smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    reason     text        NOT NULL DEFAULT '',
    source     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz -- NULL: never
);

CREATE INDEX firewall_reputation_key ON firewall_reputation (kind, value, tenant_id)
    INCLUDE (list, score, expires_at);
-- List: a tenant's (or the global) entries, newest first.
CREATE INDEX firewall_reputation_tenant ON firewall_reputation (tenant_id, created_at DESC, id DESC);

-- Held messages. screen is the whole firewall.Screen; the columns beside it are what
-- the store queries. Decide is one conditional UPDATE (state = 'pending'), so of two
-- concurrent decisions exactly one applies.
CREATE TABLE firewall_reviews (
    message_id text COLLATE "C" PRIMARY KEY CHECK (message_id <> ''),
    tenant_id  text             NOT NULL CHECK (tenant_id <> ''),
    screen     jsonb            NOT NULL,
    state      text             NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
    created_at timestamptz      NOT NULL,
    deadline   timestamptz      NOT NULL,
    decided_at timestamptz,
    decided_by text             NOT NULL DEFAULT '',
    outcome    text             NOT NULL DEFAULT '' CHECK (outcome IN ('', 'pass', 'block')),
    note       text             NOT NULL DEFAULT '',
    CHECK ((state = 'pending') = (decided_at IS NULL))
);

-- Overdue: pending reviews by deadline.
CREATE INDEX firewall_reviews_overdue ON firewall_reviews (deadline, message_id) WHERE state = 'pending';
-- List, oldest first, keyset-paged on (created_at, message_id): by tenant (and state),
-- and across tenants by state.
CREATE INDEX firewall_reviews_tenant ON firewall_reviews (tenant_id, state, created_at, message_id);
CREATE INDEX firewall_reviews_state ON firewall_reviews (state, created_at, message_id);

-- Throttled messages waiting for release_at; a row goes once its pass was emitted.
CREATE TABLE firewall_deferred (
    message_id text COLLATE "C" PRIMARY KEY CHECK (message_id <> ''),
    tenant_id  text             NOT NULL CHECK (tenant_id <> ''),
    screen     jsonb            NOT NULL,
    release_at timestamptz      NOT NULL
);

CREATE INDEX firewall_deferred_release ON firewall_deferred (release_at, message_id);

-- The decision audit, time-partitioned by `at` like billing_charges (0008): a
-- TimescaleDB hypertable with monthly chunks where the extension can be created, else
-- native RANGE partitions by month made by firewall_audit_partition (called by
-- internal/postgres before it records into a month), with a DEFAULT partition for
-- rows of a month without one. decision is screen->verdict->decision, kept as a
-- column to filter on. Retention drops a month's partition and deletes its
-- firewall_audit_ids rows (at < the month's end).
DO $$
DECLARE
    cols text := $cols$
        id            text COLLATE "C" NOT NULL CHECK (id <> ''),
        message_id    text             NOT NULL,
        tenant_id     text             NOT NULL,
        at            timestamptz      NOT NULL,
        decision      text             NOT NULL DEFAULT '',
        screen        jsonb            NOT NULL,
        rules_version text             NOT NULL DEFAULT '',
        model_version text             NOT NULL DEFAULT '',
        PRIMARY KEY (id, at)
    $cols$;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            EXECUTE 'CREATE TABLE firewall_audit (' || cols || ')';
            PERFORM create_hypertable('firewall_audit', 'at', chunk_time_interval => interval '1 month');
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'timescaledb unusable (%): firewall_audit is partitioned natively', SQLERRM;
        END;
    END IF;
    EXECUTE 'CREATE TABLE firewall_audit (' || cols || ') PARTITION BY RANGE (at)';
    CREATE TABLE firewall_audit_default PARTITION OF firewall_audit DEFAULT;
END
$$;

-- List: by tenant, by tenant and decision, and across tenants; keyset-paged on (at, id).
CREATE INDEX firewall_audit_tenant ON firewall_audit (tenant_id, at, id);
CREATE INDEX firewall_audit_tenant_decision ON firewall_audit (tenant_id, decision, at, id);
CREATE INDEX firewall_audit_at ON firewall_audit (at, id);

-- A record's id is unique across partitions, which the partitioned primary key (id,
-- at) cannot say: Record claims each id here first, ON CONFLICT DO NOTHING, and
-- inserts only the records whose claim it made, so a retry with another `at` is
-- still recorded once.
CREATE TABLE firewall_audit_ids (
    id text COLLATE "C" PRIMARY KEY,
    at timestamptz      NOT NULL
);

-- firewall_audit_partition makes sure the month holding `month` (in UTC) has its
-- partition, named firewall_audit_YYYY_MM, as billing_charges_partition does for the
-- charges: create it, move that month's rows out of the default partition into it,
-- attach it. Idempotent and safe to call concurrently; a no-op under TimescaleDB.
-- Call it outside a transaction that writes records.
CREATE FUNCTION firewall_audit_partition(month timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo_local timestamp   := date_trunc('month', month AT TIME ZONE 'UTC');
    lo       timestamptz := lo_local AT TIME ZONE 'UTC';
    hi       timestamptz := (lo_local + interval '1 month') AT TIME ZONE 'UTC';
    part     text        := 'firewall_audit_' || to_char(lo_local, 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'firewall_audit'::regclass) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('firewall_audit_partition'));
    LOCK TABLE firewall_audit_default IN EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = part
               AND relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'firewall_audit'::regclass)) THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE firewall_audit INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format('WITH moved AS (DELETE FROM firewall_audit_default WHERE at >= $1 AND at < $2 RETURNING *)
        INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
    EXECUTE format('ALTER TABLE firewall_audit ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
END
$$;
