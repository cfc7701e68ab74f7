-- 0009: outbound messages are stored before they are sent (store.Message
-- SentID, SendAttempts, SendError; DeliverySending). send_after is when
-- the next attempt is due, in microseconds; 0 for a message not sending.
ALTER TABLE messages ADD COLUMN sent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN send_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN send_error TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN send_after INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_sending ON messages (send_after, id) WHERE delivery_status = 'sending';
CREATE INDEX messages_sent_id ON messages (tenant, channel, sent_id) WHERE sent_id <> '';
