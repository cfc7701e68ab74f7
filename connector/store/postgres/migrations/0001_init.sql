-- 0001: the connector's tables.
--
-- Times are timestamptz (microseconds, as PostgreSQL stores them); NULL
-- stands for "no time" (a zero time.Time) in the columns that may have none.
-- States are the public numbers of statemachine.State:
-- 0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED.

-- One end user on one channel of one tenant.
CREATE TABLE contacts (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant           text        NOT NULL CHECK (tenant <> ''),
    channel          text        NOT NULL CHECK (channel <> ''),
    external_id      text        NOT NULL CHECK (external_id <> ''),
    display_name     text        NOT NULL DEFAULT '',
    blocked_inbound  boolean     NOT NULL DEFAULT false,
    blocked_outbound boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT contacts_key UNIQUE (tenant, channel, external_id)
);

-- A thread between a contact and the tenant; its outbox lease lives here.
CREATE TABLE conversations (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant           text        NOT NULL,
    channel          text        NOT NULL,
    contact_id       bigint      NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    state            smallint    NOT NULL CHECK (state BETWEEN 0 AND 4),
    -- Grows by one at every state change.
    version          bigint      NOT NULL DEFAULT 1,
    -- The version last written to the Salesforce record; 0: no record yet.
    synced_version   bigint      NOT NULL DEFAULT 0,
    -- The outbox is held back until then (backoff); NULL: not held.
    not_before       timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    -- The outbox lease: all three NULL when nobody holds it.
    lease_owner      text,
    lease_token      text,
    lease_expires_at timestamptz,
    CONSTRAINT conversations_lease_whole CHECK (
        (lease_token IS NULL) = (lease_owner IS NULL)
        AND (lease_token IS NULL) = (lease_expires_at IS NULL))
);

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
    WHERE lease_token IS NOT NULL;

-- A conversation's history of state changes, in id order.
CREATE TABLE conversation_transitions (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- -1 (store.NoState) for the creation entry.
    from_state      smallint    NOT NULL CHECK (from_state BETWEEN -1 AND 4),
    to_state        smallint    NOT NULL CHECK (to_state BETWEEN 0 AND 4),
    event           text        NOT NULL,
    actor           text        NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    at              timestamptz NOT NULL
);

CREATE INDEX conversation_transitions_conversation
    ON conversation_transitions (conversation_id, id);

-- Every message, inbound and outbound; the pending ones form the outbox.
CREATE TABLE messages (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant           text        NOT NULL CHECK (tenant <> ''),
    channel          text        NOT NULL CHECK (channel <> ''),
    conversation_id  bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    contact_id       bigint      NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    platform_id      text        NOT NULL CHECK (platform_id <> ''),
    direction        text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind             text        NOT NULL DEFAULT '',
    body             text        NOT NULL DEFAULT '',
    media_url        text        NOT NULL DEFAULT '',
    media_type       text        NOT NULL DEFAULT '',
    reply_to         text        NOT NULL DEFAULT '',
    sender           text        NOT NULL DEFAULT '',
    sent_at          timestamptz,
    received_at      timestamptz NOT NULL,
    state_at_receipt smallint    NOT NULL CHECK (state_at_receipt BETWEEN 0 AND 4),
    push_status      text        NOT NULL
        CHECK (push_status IN ('pending', 'pushed', 'excluded', 'dead')),
    push_reason      text        NOT NULL DEFAULT '',
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    pushed_at        timestamptz,
    salesforce_id    text        NOT NULL DEFAULT '',
    -- Platforms redeliver: a message is stored once.
    CONSTRAINT messages_platform_key UNIQUE (tenant, channel, platform_id)
);

-- A conversation's messages in order.
CREATE INDEX messages_conversation ON messages (conversation_id, id);
-- The outbox: a conversation's pending messages in id order, with their
-- arrival time so that Claim finds the oldest work from the index alone.
CREATE INDEX messages_pending ON messages (conversation_id, id) INCLUDE (received_at)
    WHERE push_status = 'pending';
-- The dead-letter list, by tenant.
CREATE INDEX messages_dead ON messages (tenant, id)
    WHERE push_status = 'dead';
-- A contact's messages (for deleting a contact's data).
CREATE INDEX messages_contact ON messages (contact_id);
