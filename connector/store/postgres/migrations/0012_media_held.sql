-- 0012: a media item claimed by the media worker names its claimer
-- (held_by) until its next update, so that a replica's heartbeat renews
-- the hold of its own items in flight only (RenewMedia): a live replica
-- keeps a slow download, a dead one's items are taken once their short
-- hold passes.
ALTER TABLE media ADD COLUMN held_by text NOT NULL DEFAULT '';
