-- Idempotency-Key reservations and their stored answers. status and body stay NULL
-- while the first request runs; a row whose expires_at has passed counts as free.
CREATE TABLE idempotency_keys (
    tenant_id   text        NOT NULL,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    status      integer,
    body        bytea,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key),
    CHECK ((status IS NULL) = (body IS NULL))
);
