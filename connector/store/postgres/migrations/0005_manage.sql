-- 0005: what the management API keeps: who blocked a contact and why, the
-- platform's own block of the user, a contact's tags and notes, the
-- delivery receipts of outbound messages, the runtime settings with their
-- history, and the API tokens.

-- The local block's note, author and time (store.BlockInfo): '' and NULL
-- while the contact is not blocked. A contact blocked before this
-- migration gets its last change (updated_at) as the block's time. Then
-- the platform's block of the user (store.NativeBlock). Adding columns
-- with a constant default does not rewrite the table.
ALTER TABLE contacts
    ADD COLUMN block_note             text    NOT NULL DEFAULT '',
    ADD COLUMN block_by               text    NOT NULL DEFAULT '',
    ADD COLUMN block_at               timestamptz,
    ADD COLUMN native_want            text    NOT NULL DEFAULT ''
        CONSTRAINT contacts_native_want CHECK (native_want IN ('', 'block', 'unblock')),
    ADD COLUMN native_status          text    NOT NULL DEFAULT ''
        CONSTRAINT contacts_native_status
        CHECK (native_status IN ('', 'applied', 'pending', 'failed', 'unsupported')),
    ADD COLUMN native_error           text    NOT NULL DEFAULT '',
    ADD COLUMN native_attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN native_next_attempt_at timestamptz,
    ADD COLUMN native_updated_at      timestamptz;

UPDATE contacts SET block_at = updated_at WHERE blocked_inbound OR blocked_outbound;

-- ListContacts: a tenant's contacts by id, and its blocked ones.
CREATE INDEX contacts_tenant ON contacts (tenant, id);
CREATE INDEX contacts_blocked ON contacts (tenant, id)
    WHERE blocked_inbound OR blocked_outbound;
-- DueNativeBlocks: the pending native blocks, the earliest retry first (a
-- pending block with no retry time is due at once).
CREATE INDEX contacts_native_due ON contacts (native_next_attempt_at NULLS FIRST, id)
    WHERE native_status = 'pending';

-- ListConversations: a tenant's conversations by id.
CREATE INDEX conversations_tenant ON conversations (tenant, id);

-- A contact's tags. tenant is the contact's, repeated here so that the tag
-- filter of ListContacts reads one tenant's contacts with the tag in id
-- order.
CREATE TABLE contact_tags (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tenant     text   NOT NULL,
    tag        text   NOT NULL CHECK (tag <> ''),
    PRIMARY KEY (contact_id, tag)
);

CREATE INDEX contact_tags_tag ON contact_tags (tenant, tag, contact_id);

-- Agents' notes on a contact, in id order.
CREATE TABLE contact_notes (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint      NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    text       text        NOT NULL CHECK (text <> ''),
    author     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

CREATE INDEX contact_notes_contact ON contact_notes (contact_id, id);

-- The platform's last receipt on an outbound message ("sent", "delivered",
-- "read", "failed") and its time; '' and NULL before any.
ALTER TABLE messages
    ADD COLUMN delivery_status    text NOT NULL DEFAULT '',
    ADD COLUMN delivery_status_at timestamptz;

-- The runtime settings every replica shares (store.Setting).
CREATE TABLE settings (
    scope      text        NOT NULL CHECK (scope <> ''),
    key        text        NOT NULL CHECK (key <> ''),
    value      text        NOT NULL,
    updated_by text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Every value a setting was given, in id order.
CREATE TABLE setting_history (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope      text        NOT NULL,
    key        text        NOT NULL,
    value      text        NOT NULL,
    updated_by text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL
);

CREATE INDEX setting_history_setting ON setting_history (scope, key, id);

-- The API's bearer tokens (store.APIToken), as the hex SHA-256 of the
-- token. An operator token has no tenant ('').
CREATE TABLE api_tokens (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant     text        NOT NULL,
    name       text        NOT NULL CHECK (name <> ''),
    role       text        NOT NULL CHECK (role IN ('agent', 'admin', 'operator')),
    hash       text        NOT NULL CHECK (hash <> ''),
    created_at timestamptz NOT NULL,
    -- NULL while the token is valid.
    revoked_at timestamptz,
    CONSTRAINT api_tokens_hash UNIQUE (hash),
    CONSTRAINT api_tokens_operator CHECK ((tenant = '') = (role = 'operator'))
);

-- A name is unique among a tenant's valid tokens.
CREATE UNIQUE INDEX api_tokens_valid_name ON api_tokens (tenant, name) WHERE revoked_at IS NULL;
-- ListTokens: a tenant's tokens by id.
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, id);
