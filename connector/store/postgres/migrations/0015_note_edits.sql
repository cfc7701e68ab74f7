-- 0015: a note on a contact can be edited; who edited it last and when
-- ('' and NULL for a note never edited).
ALTER TABLE contact_notes
    ADD COLUMN edited_by text NOT NULL DEFAULT '',
    ADD COLUMN edited_at timestamptz;
