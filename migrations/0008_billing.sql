-- Billing (internal/billing's stores): rate cards, FX rates, promo codes, balance
-- settings and the charge records behind the transactions API. Amounts are
-- NUMERIC(38,18) (ledger.Scale): exact, never float; the stores reject an amount
-- with more digits before PostgreSQL could round it. tenant_id references nothing,
-- like the ledger: money records outlive a tenant's state. Ids that are listed in
-- order are COLLATE "C", so PostgreSQL sorts them byte-wise, as internal/inmem does.

-- Every version of every rate card. body is the whole card as JSON (decimals are
-- JSON strings, so nothing is lost); the columns beside it are what the stores query
-- and win over the body. A version is never updated: a change is a new version.
CREATE TABLE rate_cards (
    id             text COLLATE "C" NOT NULL CHECK (id <> ''),
    version        integer          NOT NULL CHECK (version > 0),
    tenant_id      text             NOT NULL,
    name           text             NOT NULL,
    currency       text             NOT NULL,
    effective_from timestamptz      NOT NULL,
    body           jsonb            NOT NULL,
    created_at     timestamptz      NOT NULL,
    PRIMARY KEY (id, version)
);

-- InForce: a tenant's versions by effective_from.
CREATE INDEX rate_cards_tenant_effective ON rate_cards (tenant_id, effective_from);

-- Exchange rates: from → to is rate from valid_from on; Rate reads the primary key
-- backwards for the latest valid_from <= t. A Put for the same key replaces the rate.
CREATE TABLE fx_rates (
    from_currency text           NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
    to_currency   text           NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$' AND to_currency <> from_currency),
    valid_from    timestamptz    NOT NULL,
    rate          NUMERIC(38,18) NOT NULL CHECK (rate > 0),
    created_at    timestamptz    NOT NULL,
    PRIMARY KEY (from_currency, to_currency, valid_from)
);

-- Promo codes and their redemptions. Redeem locks the promo row, so uses never
-- exceeds the cap however many redeem at once; a redemption is recorded once per
-- (code, tenant_id, key), so a retry returns its use_number.
CREATE TABLE promos (
    code       text COLLATE "C" PRIMARY KEY CHECK (code <> ''),
    tenant_id  text             NOT NULL CHECK (tenant_id <> ''),
    kind       text             NOT NULL CHECK (kind IN ('fixed', 'percent', 'first_n_free')),
    value      NUMERIC(38,18)   NOT NULL CHECK (value >= 0),
    free_count bigint           NOT NULL DEFAULT 0 CHECK (free_count >= 0),
    expires_at timestamptz, -- NULL: never
    max_uses   bigint           NOT NULL DEFAULT 0 CHECK (max_uses >= 0), -- 0: unlimited
    uses       bigint           NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_at timestamptz      NOT NULL
);

-- Active: a tenant's promos, oldest first.
CREATE INDEX promos_tenant_created ON promos (tenant_id, created_at, code);

CREATE TABLE promo_redemptions (
    code       text        NOT NULL REFERENCES promos (code),
    tenant_id  text        NOT NULL,
    key        text        NOT NULL CHECK (key <> ''),
    use_number bigint      NOT NULL CHECK (use_number > 0),
    at         timestamptz NOT NULL,
    PRIMARY KEY (code, tenant_id, key)
);

-- A tenant's balance settings; no row means the zero settings.
CREATE TABLE billing_settings (
    tenant_id      text           PRIMARY KEY CHECK (tenant_id <> ''),
    critical_level NUMERIC(38,18) NOT NULL DEFAULT 0,
    suspend_level  NUMERIC(38,18) NOT NULL DEFAULT 0,
    expiry         timestamptz,
    b2b            boolean        NOT NULL DEFAULT false,
    suspended      boolean        NOT NULL DEFAULT false,
    low_notified   boolean        NOT NULL DEFAULT false,
    updated_at     timestamptz    NOT NULL
);

-- Charge records, time-partitioned by created_at (design.md "State"): a TimescaleDB
-- hypertable with monthly chunks where the extension can be created, else native
-- RANGE partitions by month, created by billing_charges_partition (called by
-- internal/postgres before it records into a month), with a DEFAULT partition for
-- rows of a month without one. The primary key holds created_at, as partitioning
-- requires; a Settlement carries the charge's created_at so an update prunes to one
-- partition.
DO $$
DECLARE
    cols text := $cols$
        tenant_id  text             NOT NULL CHECK (tenant_id <> ''),
        id         text COLLATE "C" NOT NULL CHECK (id <> ''),
        message_id text             NOT NULL DEFAULT '',
        channel    text             NOT NULL DEFAULT '',
        status     text             NOT NULL CHECK (status IN ('reserved', 'committed', 'released')),
        amount     NUMERIC(38,18)   NOT NULL,
        charged    NUMERIC(38,18)   NOT NULL DEFAULT 0,
        currency   text             NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        reason     text             NOT NULL DEFAULT '',
        breakdown  jsonb            NOT NULL,
        created_at timestamptz      NOT NULL,
        settled_at timestamptz,
        PRIMARY KEY (tenant_id, id, created_at)
    $cols$;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            EXECUTE 'CREATE TABLE billing_charges (' || cols || ')';
            PERFORM create_hypertable('billing_charges', 'created_at', chunk_time_interval => interval '1 month');
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            -- Available but not loadable (not in shared_preload_libraries, no
            -- privilege): this block's work is rolled back; partition natively.
            RAISE NOTICE 'timescaledb unusable (%): billing_charges is partitioned natively', SQLERRM;
        END;
    END IF;
    EXECUTE 'CREATE TABLE billing_charges (' || cols || ') PARTITION BY RANGE (created_at)';
    CREATE TABLE billing_charges_default PARTITION OF billing_charges DEFAULT;
END
$$;

-- List: newest first, keyset-paged on (created_at, id), by tenant and by its filters;
-- the last serves a listing of every tenant.
CREATE INDEX billing_charges_tenant_created ON billing_charges (tenant_id, created_at DESC, id DESC);
CREATE INDEX billing_charges_tenant_channel ON billing_charges (tenant_id, channel, created_at DESC, id DESC);
CREATE INDEX billing_charges_tenant_status ON billing_charges (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX billing_charges_created ON billing_charges (created_at DESC, id DESC);

-- A charge's (tenant_id, id) is unique across partitions, which the partitioned
-- primary key cannot say: Record inserts here first, ON CONFLICT DO NOTHING, and
-- records only the charges whose row it inserted. created_at finds the charge's
-- partition for Get.
CREATE TABLE billing_charge_ids (
    tenant_id  text             NOT NULL,
    id         text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Get without a tenant.
CREATE INDEX billing_charge_ids_id ON billing_charge_ids (id);

-- billing_charges_partition makes sure the month holding `month` (in UTC) has its
-- partition, named billing_charges_YYYY_MM: it creates it, moves that month's rows
-- out of the default partition into it, and attaches it. Idempotent and safe to call
-- concurrently (an advisory lock serializes the creators); a no-op when
-- billing_charges is a hypertable. Call it outside a transaction that writes charges:
-- attaching locks the default partition until commit.
CREATE FUNCTION billing_charges_partition(month timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo_local timestamp   := date_trunc('month', month AT TIME ZONE 'UTC');
    lo       timestamptz := lo_local AT TIME ZONE 'UTC';
    hi       timestamptz := (lo_local + interval '1 month') AT TIME ZONE 'UTC';
    part     text        := 'billing_charges_' || to_char(lo_local, 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'billing_charges'::regclass) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('billing_charges_partition'));
    -- Writers of the default partition wait (readers do not), so no row of the month
    -- lands there between the move and the attach's check.
    LOCK TABLE billing_charges_default IN EXCLUSIVE MODE;
    -- Another caller may have made it while this one waited; a query on pg_class
    -- sees its commit (to_regclass's cache may not yet).
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = part
               AND relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'billing_charges'::regclass)) THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE billing_charges INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format('WITH moved AS (DELETE FROM billing_charges_default WHERE created_at >= $1 AND created_at < $2 RETURNING *)
        INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
    EXECUTE format('ALTER TABLE billing_charges ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
END
$$;
