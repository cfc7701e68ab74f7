-- 0014: a contact's opt-out (store.OptOut) is kept apart from the block an
-- agent sets, so that neither lifts the other: the keyword the contact
-- wrote ('' for none) and when (NULL for none). Until now an opt-out was
-- an outbound block by "opt-out" with the note "opt-out keyword
-- <keyword>": such a block becomes an opt-out, and its outbound
-- direction, the opt-out's, is lifted. One that also blocks inbound was
-- an agent's inbound block that the opt-out rewrote, losing who set it
-- and why: the inbound block stays, by "unknown", without a note.
ALTER TABLE contacts
    ADD COLUMN opt_out_keyword text NOT NULL DEFAULT '',
    ADD COLUMN opt_out_at      timestamptz;

UPDATE contacts
SET opt_out_keyword = CASE WHEN block_note LIKE 'opt-out keyword _%'
                           THEN substr(block_note, 17) ELSE 'opt-out' END,
    opt_out_at = block_at
WHERE blocked_outbound AND block_by = 'opt-out';

UPDATE contacts
SET blocked_outbound = false, block_note = '', block_by = 'unknown'
WHERE opt_out_keyword <> '' AND blocked_inbound AND block_by = 'opt-out';

UPDATE contacts
SET blocked_outbound = false, block_note = '', block_by = '', block_at = NULL
WHERE opt_out_keyword <> '' AND NOT blocked_inbound AND block_by = 'opt-out';

-- ListContacts' blocked filter: opted-out contacts are listed as blocked.
DROP INDEX contacts_blocked;
CREATE INDEX contacts_blocked ON contacts (tenant, id)
    WHERE blocked_inbound OR blocked_outbound OR opt_out_keyword <> '';
