-- 0012: a media item claimed by the media worker is marked held until its
-- next update, so that a restarted owner of the file can tell an item in
-- flight when its previous run died (taken back at once, TakeBackLeases)
-- from one waiting out a retry's backoff (left to wait).
ALTER TABLE media ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));
-- TakeBackLeases: the held items, few at any time.
CREATE INDEX media_held ON media (id) WHERE held = 1;
