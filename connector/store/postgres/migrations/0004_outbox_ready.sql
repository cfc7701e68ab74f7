-- 0004: the outbox's readiness kept on the conversation.
--
-- pending_since is the received_at of the conversation's oldest pending
-- message; NULL when it has none. Every write that changes a
-- conversation's pending messages keeps it, in the same transaction, so
-- that Claim reads an index of conversations rather than grouping every
-- pending message.
--
-- A process of an earlier version would store pending messages without
-- pending_since, which a claim would then never see: stop every such
-- process before this migration runs.

ALTER TABLE conversations ADD COLUMN pending_since timestamptz;

UPDATE conversations c SET pending_since = p.since
FROM (
    SELECT conversation_id, MIN(received_at) AS since FROM messages
    WHERE push_status = 'pending' GROUP BY conversation_id
) p
WHERE c.id = p.conversation_id;

-- The conversations with work, by tenant and then oldest work first: the
-- oldest pending message, or the state change a Salesforce record that
-- exists misses (updated_at), whichever is older. Claim walks the tenants
-- it does not skip, and reads each one's oldest work first.
CREATE INDEX conversations_outbox ON conversations (
    tenant,
    LEAST(pending_since, CASE WHEN synced_version > 0 AND synced_version < version THEN updated_at END),
    id)
    WHERE pending_since IS NOT NULL OR (synced_version > 0 AND synced_version < version);

-- Replaced by conversations_outbox.
DROP INDEX conversations_behind;
