-- 0006: what the dispatcher last wrote to a conversation's Salesforce record.
--
-- synced_hash fingerprints the conversation record as last upserted; the
-- dispatcher skips the upsert while the record it would write is the same.
-- Empty for every existing conversation: their records are written once
-- more with their next message, and skipped from then on.

ALTER TABLE conversations ADD COLUMN synced_hash TEXT NOT NULL DEFAULT '';
