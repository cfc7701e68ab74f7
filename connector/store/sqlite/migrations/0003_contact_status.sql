-- 0003: what the platform last said about a contact (store.Contact's
-- PlatformStatus and PlatformStatusAt): "follow", "unfollow", "blocked" or
-- "unblocked", and when.
--
-- Existing contacts get no status: '' and 0 (no time). A status and its
-- time are set together, so one is empty exactly when the other is.

ALTER TABLE contacts ADD COLUMN platform_status TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN platform_status_at INTEGER NOT NULL DEFAULT 0
    CHECK ((platform_status = '') = (platform_status_at = 0));
