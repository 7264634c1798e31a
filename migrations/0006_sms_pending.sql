-- SMS messages awaiting delivery receipts (internal/smsgw Pending, kept by
-- internal/postgres): one row per accepted part, keyed by the carrier and the SMSC id
-- the carrier gave it, so a receipt finds its part after a connector restart. A
-- message is its rows with one (carrier, tenant_id, message_id); it completes when all
-- `parts` rows have a final state (then its rows are deleted in the same
-- transaction), or is expired by the sweeper once `deadline` passes. Receipt and
-- expiry lock the message's rows in part order first, so exactly one of them
-- produces its outcome. state is the SMPP message_state of the part's final receipt,
-- NULL until one arrived; tries counts receipt-timeout events that failed.
CREATE TABLE sms_pending (
    carrier     text        NOT NULL CHECK (carrier <> ''),
    smsc_id     text        NOT NULL CHECK (smsc_id <> ''),
    tenant_id   text        NOT NULL,
    message_id  text        NOT NULL CHECK (message_id <> ''),
    part        integer     NOT NULL CHECK (part >= 0),
    parts       integer     NOT NULL CHECK (parts > part),
    state       smallint    CHECK (state > 0),
    error_code  text        NOT NULL DEFAULT '',
    deadline    timestamptz NOT NULL,
    tries       integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (carrier, smsc_id)
);

-- A message's rows (Receipt locks them together).
CREATE INDEX sms_pending_message ON sms_pending (carrier, tenant_id, message_id, part);
-- The sweeper: the earliest deadline.
CREATE INDEX sms_pending_deadline ON sms_pending (deadline);
