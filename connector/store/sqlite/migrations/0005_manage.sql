-- 0005: what the management API keeps: who blocked a contact and why, the
-- platform's own block of the user, a contact's tags and notes, the
-- delivery receipts of outbound messages, the runtime settings with their
-- history, and the API tokens.

-- The local block's note, author and time (store.BlockInfo): '' and 0
-- while the contact is not blocked. A contact blocked before this
-- migration gets its last change (updated_at) as the block's time.
ALTER TABLE contacts ADD COLUMN block_note TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN block_by TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN block_at INTEGER NOT NULL DEFAULT 0;

UPDATE contacts SET block_at = updated_at WHERE blocked_inbound = 1 OR blocked_outbound = 1;

-- The platform's block of the user (store.NativeBlock).
ALTER TABLE contacts ADD COLUMN native_want TEXT NOT NULL DEFAULT ''
    CHECK (native_want IN ('', 'block', 'unblock'));
ALTER TABLE contacts ADD COLUMN native_status TEXT NOT NULL DEFAULT ''
    CHECK (native_status IN ('', 'applied', 'pending', 'failed', 'unsupported'));
ALTER TABLE contacts ADD COLUMN native_error TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN native_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN native_next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN native_updated_at INTEGER NOT NULL DEFAULT 0;

-- ListContacts: a tenant's contacts by id, and its blocked ones.
CREATE INDEX contacts_tenant ON contacts (tenant, id);
CREATE INDEX contacts_blocked ON contacts (tenant, id)
    WHERE blocked_inbound = 1 OR blocked_outbound = 1;
-- DueNativeBlocks: the pending native blocks, the earliest retry first.
CREATE INDEX contacts_native_due ON contacts (native_next_attempt_at, id)
    WHERE native_status = 'pending';

-- ListConversations: a tenant's conversations by id.
CREATE INDEX conversations_tenant ON conversations (tenant, id);

-- A contact's tags. tenant is the contact's, repeated here so that the tag
-- filter of ListContacts reads one tenant's contacts with the tag in id
-- order.
CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tenant     TEXT    NOT NULL,
    tag        TEXT    NOT NULL CHECK (tag <> ''),
    PRIMARY KEY (contact_id, tag)
) STRICT;

CREATE INDEX contact_tags_tag ON contact_tags (tenant, tag, contact_id);

-- Agents' notes on a contact, in id order.
CREATE TABLE contact_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL CHECK (text <> ''),
    author     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX contact_notes_contact ON contact_notes (contact_id, id);

-- The platform's last receipt on an outbound message ("sent", "delivered",
-- "read", "failed") and its time; '' and 0 before any.
ALTER TABLE messages ADD COLUMN delivery_status TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN delivery_status_at INTEGER NOT NULL DEFAULT 0;

-- The runtime settings every process shares (store.Setting).
CREATE TABLE settings (
    scope      TEXT    NOT NULL CHECK (scope <> ''),
    key        TEXT    NOT NULL CHECK (key <> ''),
    value      TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

-- Every value a setting was given, in id order.
CREATE TABLE setting_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    scope      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX setting_history_setting ON setting_history (scope, key, id);

-- The API's bearer tokens (store.APIToken), as the hex SHA-256 of the
-- token. An operator token has no tenant ('').
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT    NOT NULL,
    name       TEXT    NOT NULL CHECK (name <> ''),
    role       TEXT    NOT NULL CHECK (role IN ('agent', 'admin', 'operator')),
    hash       TEXT    NOT NULL UNIQUE CHECK (hash <> ''),
    created_at INTEGER NOT NULL,
    -- 0 while the token is valid.
    revoked_at INTEGER NOT NULL DEFAULT 0,
    CHECK ((tenant = '') = (role = 'operator'))
) STRICT;

-- A name is unique among a tenant's valid tokens.
CREATE UNIQUE INDEX api_tokens_valid_name ON api_tokens (tenant, name) WHERE revoked_at = 0;
-- ListTokens: a tenant's tokens by id.
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, id);
