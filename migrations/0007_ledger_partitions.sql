-- The ledger, time-partitioned (design.md "State"). A partitioned table's UNIQUE
-- constraints must include the partition key, so idempotency moves to the
-- unpartitioned ledger_keys: (tenant_id, key) is recorded once, and transaction_id is
-- unique there (the partitioned primary key (id, at) alone would let a caller reuse an
-- id at another time). ledger_transactions and ledger_postings are partitioned by
-- `at` (postings carry their transaction's at, so both prune alike): TimescaleDB
-- hypertables when the extension can be created, else native RANGE partitions by
-- month plus a DEFAULT partition. The Go store (internal/postgres/ledger_partitions.go)
-- creates each month's partition ahead of use; rows that land in DEFAULT anyway are
-- moved when their month's partition is made.
--
-- ledger_balances is the running balance per account and currency, updated in the same
-- database transaction as the postings (one upsert per account per batch). Its columns
-- are unconstrained numeric: a sum of NUMERIC(38,18) amounts may need more than 20
-- integer digits. `catalyst billing verify` compares it with the postings' sums.
--
-- There is no foreign key from postings to transactions (TimescaleDB cannot reference a
-- hypertable, and it would cost every insert): the store writes both in one transaction.
CREATE SCHEMA ledger_0004;
ALTER TABLE ledger_postings SET SCHEMA ledger_0004;
ALTER TABLE ledger_transactions SET SCHEMA ledger_0004;

CREATE TABLE ledger_keys (
    tenant_id      text        NOT NULL,
    key            text        NOT NULL,
    transaction_id text        NOT NULL UNIQUE,
    fingerprint    text        NOT NULL, -- ledger.Transaction.Fingerprint
    at             timestamptz NOT NULL, -- the transaction's partition key
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE ledger_balances (
    account  text    NOT NULL,
    currency char(3) NOT NULL,
    balance  numeric NOT NULL, -- credits - debits
    credits  numeric NOT NULL,
    debits   numeric NOT NULL, -- positive
    postings bigint  NOT NULL,
    PRIMARY KEY (account, currency)
);

DO $$
DECLARE
    timescale boolean := false;
    part      text := ' PARTITION BY RANGE (at)';
    m         timestamptz;
    last      timestamptz;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            timescale := true;
            part := '';
        EXCEPTION WHEN OTHERS THEN
            -- Available but not loadable (not in shared_preload_libraries): native.
            RAISE NOTICE 'timescaledb not usable (%), partitioning natively', SQLERRM;
        END;
    END IF;

    EXECUTE 'CREATE TABLE ledger_transactions (
        id          text        NOT NULL,
        tenant_id   text        NOT NULL,
        kind        text        NOT NULL,
        key         text        NOT NULL,
        reference   text        NOT NULL DEFAULT '''',
        reservation text        NOT NULL DEFAULT '''', -- the billing reservation of a reserve, commit or release
        at          timestamptz NOT NULL,
        PRIMARY KEY (id, at)
    )' || part;
    EXECUTE 'CREATE TABLE ledger_postings (
        transaction_id text           NOT NULL,
        seq            integer        NOT NULL, -- the posting''s place in its transaction, from 1
        at             timestamptz    NOT NULL, -- its transaction''s at
        account        text           NOT NULL CHECK (account <> ''''),
        currency       char(3)        NOT NULL CHECK (currency ~ ''^[A-Z]{3}$''),
        amount         NUMERIC(38,18) NOT NULL CHECK (amount <> 0),
        PRIMARY KEY (transaction_id, seq, at)
    )' || part;

    IF timescale THEN
        PERFORM create_hypertable('ledger_transactions', 'at', chunk_time_interval => interval '1 month');
        PERFORM create_hypertable('ledger_postings', 'at', chunk_time_interval => interval '1 month');
    ELSE
        CREATE TABLE ledger_transactions_default PARTITION OF ledger_transactions DEFAULT;
        CREATE TABLE ledger_postings_default PARTITION OF ledger_postings DEFAULT;
        -- A partition for every month the old rows cover, and the current and next
        -- month; named as ledger_partitions.go names them.
        SELECT date_trunc('month', least(min(at), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            INTO m FROM ledger_0004.ledger_transactions;
        last := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 month';
        WHILE m <= last LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF ledger_transactions FOR VALUES FROM (%L) TO (%L)',
                'ledger_transactions_p' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'), m, m + interval '1 month');
            EXECUTE format('CREATE TABLE %I PARTITION OF ledger_postings FOR VALUES FROM (%L) TO (%L)',
                'ledger_postings_p' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'), m, m + interval '1 month');
            m := m + interval '1 month';
        END LOOP;
    END IF;
END
$$;

-- OpenReservations: a tenant's reserve transactions, oldest first.
CREATE INDEX ledger_transactions_reserves ON ledger_transactions (tenant_id, at) INCLUDE (reservation) WHERE kind = 'reserve';

-- Copy the 0004 rows. Their reservation is read back from the keys billing gives them
-- (ledger.ReserveKey, ledger.SettleKey).
INSERT INTO ledger_transactions (id, tenant_id, kind, key, reference, reservation, at)
SELECT id, tenant_id, kind, key, reference,
    CASE WHEN kind = 'reserve' AND key LIKE 'reserve:%' THEN substr(key, 9)
         WHEN kind IN ('commit', 'release') AND key LIKE 'settle:%' THEN substr(key, 8)
         ELSE '' END,
    at
FROM ledger_0004.ledger_transactions;
INSERT INTO ledger_postings (transaction_id, seq, at, account, currency, amount)
SELECT p.transaction_id, p.seq, t.at, p.account, p.currency, p.amount
FROM ledger_0004.ledger_postings p JOIN ledger_0004.ledger_transactions t ON t.id = p.transaction_id;
INSERT INTO ledger_keys (tenant_id, key, transaction_id, fingerprint, at)
SELECT tenant_id, key, id, fingerprint, at FROM ledger_0004.ledger_transactions;
INSERT INTO ledger_balances (account, currency, balance, credits, debits, postings)
SELECT account, currency, sum(amount),
    COALESCE(sum(amount) FILTER (WHERE amount > 0), 0), COALESCE(-sum(amount) FILTER (WHERE amount < 0), 0), count(*)
FROM ledger_0004.ledger_postings GROUP BY account, currency;

DROP SCHEMA ledger_0004 CASCADE;
