-- 0003: what the platform last said about a contact (store.Contact's
-- PlatformStatus and PlatformStatusAt): "follow", "unfollow", "blocked" or
-- "unblocked", and when.
--
-- Existing contacts get no status: '' and NULL (no time); adding columns
-- with a constant default does not rewrite the table. A status and its time
-- are set together, so one is empty exactly when the other is.

ALTER TABLE contacts
    ADD COLUMN platform_status    text NOT NULL DEFAULT '',
    ADD COLUMN platform_status_at timestamptz,
    ADD CONSTRAINT contacts_platform_status_whole
        CHECK ((platform_status = '') = (platform_status_at IS NULL));
