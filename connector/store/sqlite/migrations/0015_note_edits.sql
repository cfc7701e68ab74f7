-- 0015: a note on a contact can be edited; who edited it last and when
-- ('' and 0 for a note never edited).
ALTER TABLE contact_notes ADD COLUMN edited_by TEXT NOT NULL DEFAULT '';
ALTER TABLE contact_notes ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;
