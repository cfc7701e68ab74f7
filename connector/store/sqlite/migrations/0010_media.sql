-- 0010: the media items of inbound messages (store.MediaItem): fetched
-- from the platform, kept until Salesforce has them as Files. On SQLite
-- the bytes live in the spool directory next to the database file (data
-- stays NULL unless PutMediaData is used).
CREATE TABLE media (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id          INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id     INTEGER NOT NULL,
    tenant              TEXT    NOT NULL CHECK (tenant <> ''),
    channel             TEXT    NOT NULL CHECK (channel <> ''),
    ref                 TEXT    NOT NULL CHECK (ref <> ''),
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'fetched', 'uploaded', 'failed', 'skipped')),
    reason              TEXT    NOT NULL DEFAULT '',
    size                INTEGER NOT NULL DEFAULT 0,
    sha256              TEXT    NOT NULL DEFAULT '',
    content_type        TEXT    NOT NULL DEFAULT '',
    file_name           TEXT    NOT NULL DEFAULT '',
    location            TEXT    NOT NULL DEFAULT '',
    data                BLOB,
    content_version_id  TEXT    NOT NULL DEFAULT '',
    content_document_id TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    -- Unix microseconds, as every time of this driver.
    next_attempt_at     INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

-- ClaimMedia: the items with work, by when it is due.
CREATE INDEX media_due ON media (next_attempt_at, id) WHERE status IN ('pending', 'fetched');
-- ListMedia: a tenant's items by id.
CREATE INDEX media_tenant ON media (tenant, status, id);
