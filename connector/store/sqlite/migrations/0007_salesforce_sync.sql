-- 0007: where the flow-back of agents' changes in Salesforce stands, per
-- org and polled object (store.SyncWatermark).
CREATE TABLE sync_watermarks (
    -- The org id's first 15 characters and the object polled.
    org        TEXT    NOT NULL CHECK (org <> ''),
    object     TEXT    NOT NULL CHECK (object <> ''),
    -- The latest SystemModstamp read, in microseconds.
    modstamp   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org, object)
);
