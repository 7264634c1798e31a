-- Parts of concatenated mobile-originated SMS awaiting the rest (internal/smsgw
-- MOParts, kept by internal/postgres), so a connector restart between two parts
-- still delivers one whole message. A message is keyed by the carrier it came from,
-- its sender and recipient, its reference (kind and number, e.g. "udh8:17") and its
-- part count; its parts are rows of sms_mo_parts. deadline is when the sweeper
-- hands it out (the part timeout from its first part, or the redo time once handed
-- out); a finished message is kept until its deadline so resent parts are dropped.
CREATE TABLE sms_mo_messages (
    carrier    text        NOT NULL CHECK (carrier <> ''),
    sender     text        NOT NULL,
    recipient  text        NOT NULL,
    ref        text        NOT NULL CHECK (ref <> ''),
    total      integer     NOT NULL CHECK (total BETWEEN 2 AND 255),
    deadline   timestamptz NOT NULL,
    tries      integer     NOT NULL DEFAULT 0,
    finished   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (carrier, sender, recipient, ref, total)
);

-- The sweeper: the earliest deadline.
CREATE INDEX sms_mo_messages_deadline ON sms_mo_messages (deadline);

CREATE TABLE sms_mo_parts (
    carrier     text        NOT NULL,
    sender      text        NOT NULL,
    recipient   text        NOT NULL,
    ref         text        NOT NULL,
    total       integer     NOT NULL,
    seq         integer     NOT NULL CHECK (seq BETWEEN 1 AND total),
    data_coding smallint    NOT NULL CHECK (data_coding BETWEEN 0 AND 255),
    body        bytea       NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (carrier, sender, recipient, ref, total, seq),
    FOREIGN KEY (carrier, sender, recipient, ref, total)
        REFERENCES sms_mo_messages ON DELETE CASCADE
);
