-- 0002: state shared by every process on the database.
--
-- SQLite serves one process, but the connector keeps the same state on
-- every driver: the org gates pace the calls to each Salesforce org, and
-- the job leases make each timer tick run once.

-- The pacing of one Salesforce org (store.OrgGate).
CREATE TABLE org_gates (
    -- The org id's first 15 characters.
    org          TEXT    PRIMARY KEY CHECK (org <> ''),
    -- No call to the org before then; 0 when not paused.
    paused_until INTEGER NOT NULL DEFAULT 0,
    reason       TEXT    NOT NULL DEFAULT '',
    -- Consecutive whole-call failures.
    failures     INTEGER NOT NULL DEFAULT 0,
    -- The last Sforce-Limit-Info api-usage seen.
    api_used     INTEGER NOT NULL DEFAULT 0,
    api_max      INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
) STRICT;

-- A named lease held by one process until it expires (store.TryLease).
CREATE TABLE job_leases (
    name       TEXT    PRIMARY KEY CHECK (name <> ''),
    owner      TEXT    NOT NULL CHECK (owner <> ''),
    expires_at INTEGER NOT NULL
) STRICT;
