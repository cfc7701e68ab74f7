-- 0013: nothing to change on SQLite, which keeps the numbers of both
-- drivers in step. On PostgreSQL this migration drops the index on the
-- lease columns, so that writing a lease adds no index entry (a heap-only
-- tuple). SQLite rewrites an index entry only when its own columns change,
-- and a store that owns its file keeps its leases in memory, not in these
-- columns: conversations_leased stays, for RescueLeases.
SELECT 1;
