-- 0012: a media item claimed by the media worker is marked held until its
-- next update, as on SQLite. On PostgreSQL no process owns the database:
-- a dead replica's held items are taken again once their hold passes.
ALTER TABLE media ADD COLUMN held boolean NOT NULL DEFAULT false;
