-- The double-entry ledger (internal/ledger): the truth about money. A transaction is
-- recorded once per (tenant_id, key), its idempotency key; fingerprint (the SHA-256 of
-- its kind and normalized postings, ledger.Transaction.Fingerprint) tells a retry from
-- a key reused for different postings. Its postings sum to zero per currency (checked
-- by the stores before they insert); a balance is the sum of an account's postings.
-- tenant_id does not reference tenants: money is recorded whatever the tenant's state,
-- and a deleted tenant's rows are kept anyway.
--
-- Native partitioning by time (design.md "State": time-partitioned, a TimescaleDB
-- hypertable where the extension exists) is a later concern, tracked with billing: it
-- needs the time on the postings and a partition key in both primary keys, and is a
-- new migration when it comes.
CREATE TABLE ledger_transactions (
    id          text        PRIMARY KEY,
    tenant_id   text        NOT NULL,
    kind        text        NOT NULL,
    key         text        NOT NULL,
    reference   text        NOT NULL DEFAULT '',
    fingerprint text        NOT NULL,
    at          timestamptz NOT NULL,
    UNIQUE (tenant_id, key)
);

-- Amounts are NUMERIC(38,18) (ledger.Scale): exact, never float. The stores reject an
-- amount with more than 18 fractional digits before PostgreSQL could round it.
CREATE TABLE ledger_postings (
    transaction_id text           NOT NULL REFERENCES ledger_transactions (id),
    seq            integer        NOT NULL, -- the posting's place in its transaction, from 1
    account        text           NOT NULL CHECK (account <> ''),
    currency       char(3)        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount         NUMERIC(38,18) NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (transaction_id, seq)
);

-- Balance: SUM(amount) of an account in a currency, from the index alone.
CREATE INDEX ledger_postings_account_currency ON ledger_postings (account, currency) INCLUDE (amount);
