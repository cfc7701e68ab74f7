-- 0008: events of authentic deliveries that the connector could not use
-- (store.Quarantined), kept for an operator to list and replay.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL CHECK (tenant <> ''),
    channel     TEXT    NOT NULL CHECK (channel <> ''),
    platform    TEXT    NOT NULL CHECK (platform <> ''),
    -- The SHA-256 of raw, in hex: a platform's retry of the same event is
    -- kept once.
    digest      TEXT    NOT NULL CHECK (digest <> ''),
    raw         BLOB    NOT NULL,
    reason      TEXT    NOT NULL CHECK (reason <> ''),
    received_at INTEGER NOT NULL,
    -- When reason was last set: quarantined again, by a retry or a replay.
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant, channel, digest)
) STRICT;

-- ListQuarantine: a tenant's events by id.
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
