-- Inbound numbers (internal/numbers): which tenant owns which address on which
-- channel, so an inbound message is routed to its tenant. An address has at most one
-- owner: the primary key (channel, number) makes concurrent assignments of one
-- number race on the index, and exactly one INSERT … ON CONFLICT DO NOTHING wins.
-- Releasing a number deletes its row. tenant_id does not reference tenants, like the
-- other tables.
CREATE TABLE numbers (
    channel    text        NOT NULL CHECK (channel <> ''),
    number     text        NOT NULL CHECK (number <> ''),
    tenant_id  text        NOT NULL CHECK (tenant_id <> ''),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (channel, number)
);

-- List: a tenant's numbers.
CREATE INDEX numbers_tenant_id ON numbers (tenant_id);
