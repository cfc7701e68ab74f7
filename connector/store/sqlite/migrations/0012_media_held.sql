-- 0012: a media item claimed by the media worker names its claimer
-- (held_by) until its next update. A restarted owner of the file can then
-- tell an item in flight when its previous run died (taken back at once,
-- TakeBackLeases) from one waiting out a retry's backoff (left to wait),
-- and a worker renews the hold of its own items only.
ALTER TABLE media ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
-- TakeBackLeases: the held items, few at any time.
CREATE INDEX media_held ON media (id) WHERE held_by <> '';
