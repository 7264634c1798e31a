-- The message record: one row per message with its current status, and its history,
-- one row per event. Both are scoped by tenant; a message id is unique per tenant.
CREATE TABLE messages (
    tenant_id  text        NOT NULL,
    id         uuid        NOT NULL,
    channel    text        NOT NULL DEFAULT '',
    "to"       text        NOT NULL DEFAULT '',
    "from"     text        NOT NULL DEFAULT '',
    content    jsonb,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- List: newest first, keyset-paged on (created_at, id).
CREATE INDEX messages_tenant_created ON messages (tenant_id, created_at DESC, id DESC);
CREATE INDEX messages_tenant_status ON messages (tenant_id, status);
CREATE INDEX messages_tenant_channel ON messages (tenant_id, channel);

CREATE TABLE message_events (
    seq        bigserial   PRIMARY KEY, -- recorded order
    tenant_id  text        NOT NULL,
    message_id uuid        NOT NULL,
    event_id   text        NOT NULL,
    type       text        NOT NULL,
    status     text        NOT NULL,
    at         timestamptz NOT NULL,
    detail     jsonb,
    UNIQUE (tenant_id, message_id, event_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id)
);
