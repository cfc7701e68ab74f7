-- 0010: the media items of inbound messages (store.MediaItem): fetched
-- from the platform, kept until Salesforce has them as Files. On
-- PostgreSQL the bytes are kept in data (every replica reads them, so
-- that any replica can upload what another fetched); they are dropped
-- once the item is uploaded (or after the configured retention).
CREATE TABLE media (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id          bigint      NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id     bigint      NOT NULL,
    tenant              text        NOT NULL CHECK (tenant <> ''),
    channel             text        NOT NULL CHECK (channel <> ''),
    ref                 text        NOT NULL CHECK (ref <> ''),
    status              text        NOT NULL CHECK (status IN ('pending', 'fetched', 'uploaded', 'failed', 'skipped')),
    reason              text        NOT NULL DEFAULT '',
    size                bigint      NOT NULL DEFAULT 0,
    sha256              text        NOT NULL DEFAULT '',
    content_type        text        NOT NULL DEFAULT '',
    file_name           text        NOT NULL DEFAULT '',
    location            text        NOT NULL DEFAULT '',
    data                bytea,
    content_version_id  text        NOT NULL DEFAULT '',
    content_document_id text        NOT NULL DEFAULT '',
    attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- ClaimMedia: the items with work, by when it is due.
CREATE INDEX media_due ON media (next_attempt_at, id) WHERE status IN ('pending', 'fetched');
-- ListMedia: a tenant's items by id.
CREATE INDEX media_tenant ON media (tenant, status, id);
-- data is read and written whole, never searched: keep it out of line
-- without compression (photos and voice notes are compressed already).
ALTER TABLE media ALTER COLUMN data SET STORAGE EXTERNAL;
