-- 0008: events of authentic deliveries that the connector could not use
-- (store.Quarantined), kept for an operator to list and replay.
CREATE TABLE quarantine (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant      text        NOT NULL CHECK (tenant <> ''),
    channel     text        NOT NULL CHECK (channel <> ''),
    platform    text        NOT NULL CHECK (platform <> ''),
    -- The SHA-256 of raw, in hex: a platform's retry of the same event is
    -- kept once.
    digest      text        NOT NULL CHECK (digest <> ''),
    raw         bytea       NOT NULL,
    reason      text        NOT NULL CHECK (reason <> ''),
    received_at timestamptz NOT NULL,
    -- When reason was last set: quarantined again, by a retry or a replay.
    updated_at  timestamptz NOT NULL,
    UNIQUE (tenant, channel, digest)
);

-- ListQuarantine: a tenant's events by id.
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
