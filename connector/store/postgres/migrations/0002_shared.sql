-- 0002: state shared by the replicas.
--
-- The org gates pace the calls every replica makes to one Salesforce org;
-- the job leases make each timer tick run in one replica.

-- The pacing of one Salesforce org (store.OrgGate). UpdateOrgGate locks
-- the org's row for the length of its read-change-write.
CREATE TABLE org_gates (
    -- The org id's first 15 characters.
    org          text        PRIMARY KEY CHECK (org <> ''),
    -- No call to the org before then; NULL when not paused.
    paused_until timestamptz,
    reason       text        NOT NULL DEFAULT '',
    -- Consecutive whole-call failures.
    failures     integer     NOT NULL DEFAULT 0,
    -- The last Sforce-Limit-Info api-usage seen.
    api_used     integer     NOT NULL DEFAULT 0,
    api_max      integer     NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL
);

-- A named lease held by one process until it expires (store.TryLease).
CREATE TABLE job_leases (
    name       text        PRIMARY KEY CHECK (name <> ''),
    owner      text        NOT NULL CHECK (owner <> ''),
    expires_at timestamptz NOT NULL
);
