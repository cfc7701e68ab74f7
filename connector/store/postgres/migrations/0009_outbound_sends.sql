-- 0009: outbound messages are stored before they are sent (store.Message
-- SentID, SendAttempts, SendError; DeliverySending). send_after is when
-- the next attempt is due; NULL for a message not sending.
ALTER TABLE messages
    ADD COLUMN sent_id       text        NOT NULL DEFAULT '',
    ADD COLUMN send_attempts integer     NOT NULL DEFAULT 0,
    ADD COLUMN send_error    text        NOT NULL DEFAULT '',
    ADD COLUMN send_after    timestamptz;
CREATE INDEX messages_sending ON messages (send_after, id) WHERE delivery_status = 'sending';
CREATE INDEX messages_sent_id ON messages (tenant, channel, sent_id) WHERE sent_id <> '';
