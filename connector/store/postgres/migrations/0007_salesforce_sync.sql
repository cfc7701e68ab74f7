-- 0007: where the flow-back of agents' changes in Salesforce stands, per
-- org and polled object (store.SyncWatermark).
CREATE TABLE sync_watermarks (
    -- The org id's first 15 characters and the object polled.
    org        text        NOT NULL CHECK (org <> ''),
    object     text        NOT NULL CHECK (object <> ''),
    -- The latest SystemModstamp read.
    modstamp   timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org, object)
);
