-- 0013: a lease is written to its conversation without index entries.
--
-- A claim, a heartbeat and an expired lease's rescue change only a
-- conversation's lease columns. PostgreSQL can then write the row's new
-- version beside the old one with no index entry (a heap-only tuple),
-- provided that no index names a changed column and the page has room.
-- conversations_leased named the lease columns, so every lease and
-- renewal added an entry to each of the table's seven indexes. Claims
-- never read it (they take expired leases through conversations_outbox);
-- without it the rescue timer (every 30 s by default) reads the table.
DROP INDEX IF EXISTS conversations_leased;

-- Room for those versions: pages written from now on are filled to 80 %.
ALTER TABLE conversations SET (fillfactor = 80);
