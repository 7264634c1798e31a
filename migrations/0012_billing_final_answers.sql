-- Billing's final answers and its outbox (issue #14).
--
-- billing_declines: a message's decline, recorded once (the first answer stands), so a
-- replay of the message after a top-up or a new rate card is declined again rather
-- than authorized. One row per declined message, like billing_charges per authorized
-- one.
CREATE TABLE billing_declines (
    tenant_id  text        NOT NULL CHECK (tenant_id <> ''),
    message_id text        NOT NULL CHECK (message_id <> ''),
    channel    text        NOT NULL DEFAULT '',
    reason     text        NOT NULL CHECK (reason <> ''),
    detail     text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, message_id)
);

-- billing_settings gains a version (compare-and-set: the thresholds step no longer
-- overwrites a concurrent change of the levels) and alerts, the outbox of tenant
-- events a balance check called for and not yet emitted (stored with the state change
-- that called for them; a sweep re-emits them until they are cleared).
ALTER TABLE billing_settings
    ADD COLUMN version bigint NOT NULL DEFAULT 1,
    ADD COLUMN alerts  jsonb  NOT NULL DEFAULT '[]';
CREATE INDEX billing_settings_pending ON billing_settings (tenant_id) WHERE alerts <> '[]'::jsonb;

-- billing_repairs: the audit of the reconciler, one row per tenant account reloaded
-- from the ledger because the wallet disagreed with it.
CREATE TABLE billing_repairs (
    id        text        PRIMARY KEY,
    tenant_id text        NOT NULL CHECK (tenant_id <> ''),
    at        timestamptz NOT NULL,
    problems  jsonb       NOT NULL,
    wallet    jsonb       NOT NULL,
    ledger    jsonb       NOT NULL
);
CREATE INDEX billing_repairs_tenant ON billing_repairs (tenant_id, at DESC);
