-- Tenants and their API keys. A key's secret is never stored: only its SHA-256 hash,
-- plus a short prefix that identifies it to humans. A deleted tenant is kept (status
-- 'deleted') so its messages and ledger keep their owner; its keys are expired.
CREATE TABLE tenants (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    email      text        NOT NULL,
    currency   text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id         text        PRIMARY KEY,
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    prefix     text        NOT NULL,
    hash       bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz -- NULL: valid until rotated away
);

CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id);
