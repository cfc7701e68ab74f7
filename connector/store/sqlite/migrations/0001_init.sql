-- 0001: the connector's tables.
--
-- Times are INTEGER unix microseconds (UTC); 0 stands for "no time" (a zero
-- time.Time). Tables are STRICT so that a value of the wrong type is an error
-- rather than silently stored.

-- One end user on one channel of one tenant.
CREATE TABLE contacts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    display_name     TEXT    NOT NULL DEFAULT '',
    blocked_inbound  INTEGER NOT NULL DEFAULT 0 CHECK (blocked_inbound IN (0, 1)),
    blocked_outbound INTEGER NOT NULL DEFAULT 0 CHECK (blocked_outbound IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant, channel, external_id)
) STRICT;

-- A thread between a contact and the tenant; its outbox lease lives here.
CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    contact_id       INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- statemachine.State: 0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED.
    state            INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),
    version          INTEGER NOT NULL DEFAULT 1,
    synced_version   INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    -- The outbox lease: empty token when nobody holds it.
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_token      TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- At most one live (non-EXPIRED) conversation per contact.
CREATE UNIQUE INDEX conversations_one_live_per_contact
    ON conversations (contact_id) WHERE state <> 1;
-- A contact's conversations, newest last.
CREATE INDEX conversations_contact ON conversations (contact_id, id);
-- The timers: a channel's conversations by last activity.
CREATE INDEX conversations_idle ON conversations (tenant, channel, last_activity_at);
-- Conversations whose Salesforce record is behind their state.
CREATE INDEX conversations_behind ON conversations (id)
    WHERE synced_version > 0 AND synced_version < version;
-- Held leases, for RescueLeases.
CREATE INDEX conversations_leased ON conversations (lease_expires_at)
    WHERE lease_token <> '';

-- A conversation's history of state changes, in id order.
CREATE TABLE conversation_transitions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- -1 (store.NoState) for the creation entry.
    from_state      INTEGER NOT NULL CHECK (from_state BETWEEN -1 AND 4),
    to_state        INTEGER NOT NULL CHECK (to_state BETWEEN 0 AND 4),
    event           TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    reason          TEXT    NOT NULL DEFAULT '',
    at              INTEGER NOT NULL
) STRICT;

CREATE INDEX conversation_transitions_conversation
    ON conversation_transitions (conversation_id, id);

-- Every message, inbound and outbound; the pending ones form the outbox.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    contact_id       INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    platform_id      TEXT    NOT NULL,
    direction        TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind             TEXT    NOT NULL DEFAULT '',
    body             TEXT    NOT NULL DEFAULT '',
    media_url        TEXT    NOT NULL DEFAULT '',
    media_type       TEXT    NOT NULL DEFAULT '',
    reply_to         TEXT    NOT NULL DEFAULT '',
    sender           TEXT    NOT NULL DEFAULT '',
    sent_at          INTEGER NOT NULL DEFAULT 0,
    received_at      INTEGER NOT NULL,
    state_at_receipt INTEGER NOT NULL CHECK (state_at_receipt BETWEEN 0 AND 4),
    push_status      TEXT    NOT NULL
        CHECK (push_status IN ('pending', 'pushed', 'excluded', 'dead')),
    push_reason      TEXT    NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    pushed_at        INTEGER NOT NULL DEFAULT 0,
    salesforce_id    TEXT    NOT NULL DEFAULT '',
    -- Platforms redeliver: a message is stored once.
    UNIQUE (tenant, channel, platform_id)
) STRICT;

-- A conversation's messages in order.
CREATE INDEX messages_conversation ON messages (conversation_id, id);
-- The outbox: a conversation's pending messages in id order.
CREATE INDEX messages_pending ON messages (conversation_id, id)
    WHERE push_status = 'pending';
-- The dead-letter list, by tenant.
CREATE INDEX messages_dead ON messages (tenant, id)
    WHERE push_status = 'dead';
-- A contact's messages (for deleting a contact's data).
CREATE INDEX messages_contact ON messages (contact_id);
