-- 0004: the outbox's readiness kept on the conversation.
--
-- pending_since is the received_at of the conversation's oldest pending
-- message; NULL when it has none (0 would be a time here). Every write
-- that changes a conversation's pending messages keeps it, in the same
-- transaction, so that Claim reads an index of conversations rather than
-- grouping every pending message.
--
-- A process of an earlier version would store pending messages without
-- pending_since, which a claim would then never see: stop every such
-- process before this migration runs.

ALTER TABLE conversations ADD COLUMN pending_since INTEGER;

UPDATE conversations SET pending_since = (
    SELECT MIN(m.received_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.push_status = 'pending')
WHERE id IN (SELECT conversation_id FROM messages WHERE push_status = 'pending');

-- The conversations with work, by tenant and then oldest work first: the
-- oldest pending message, or the state change a Salesforce record that
-- exists misses (updated_at), whichever is older. Claim walks the tenants
-- it does not skip, and reads each one's oldest work first. The queries
-- repeat the expressions exactly, as SQLite matches them by their text.
CREATE INDEX conversations_outbox ON conversations (
    tenant,
    CASE WHEN synced_version > 0 AND synced_version < version
              AND (pending_since IS NULL OR updated_at < pending_since)
         THEN updated_at ELSE pending_since END,
    id)
    WHERE pending_since IS NOT NULL OR (synced_version > 0 AND synced_version < version);

-- Replaced by conversations_outbox.
DROP INDEX conversations_behind;
