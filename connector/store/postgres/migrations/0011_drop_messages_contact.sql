-- 0011: messages_contact goes. Nothing reads a contact's messages by
-- contact (a delete-all goes through the contact's conversations, and
-- contacts are never deleted, so their ON DELETE CASCADE never runs),
-- and every stored message paid for the index with one more page written.
DROP INDEX IF EXISTS messages_contact;
