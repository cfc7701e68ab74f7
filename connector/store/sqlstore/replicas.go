package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// What the processes on one store share: the pacing of each Salesforce org,
// the named leases of the timers, the watermarks of the flow-back from
// Salesforce, and the conversations' leases.

const orgGateColumns = `org, paused_until, reason, failures, api_used, api_max, updated_at`

func scanOrgGate(sc Scanner) (store.OrgGate, error) {
	var g store.OrgGate
	return g, sc.Scan(&g.Org, T(&g.PausedUntil), &g.Reason, &g.Failures, &g.APIUsed, &g.APIMax, T(&g.UpdatedAt))
}

var (
	qCreateGate = Q(`INSERT INTO org_gates (org, updated_at) VALUES ($1, $2) ON CONFLICT (org) DO NOTHING`)
	qLockGate   = Q(`SELECT ` + orgGateColumns + ` FROM org_gates WHERE org = $1{| FOR UPDATE}`)
	qWriteGate  = Q(`
		UPDATE org_gates SET paused_until = $2, reason = $3, failures = $4, api_used = $5, api_max = $6, updated_at = $7
		WHERE org = $1
		RETURNING ` + orgGateColumns)
	qOrgGates = Q(`SELECT ` + orgGateColumns + ` FROM org_gates ORDER BY org`)
)

// UpdateOrgGate reads the org's gate (a zero gate with Org set when it has
// none), lets fn change it and writes it back with UpdatedAt = now, in one
// write transaction holding the gate from the read to the commit: on
// PostgreSQL the lock of the org's row (an UpdateOrgGate of the same org,
// in any process, waits for it and then reads what it wrote), on SQLite
// the database's one write lock. A missing row is first inserted (ON
// CONFLICT DO NOTHING, so that two processes creating it at once end up on
// the same row). fn runs again when the transaction is retried. The gate
// returned is the one stored: times in UTC, to the microsecond. org, now
// and fn are required.
func (s *Store) UpdateOrgGate(ctx context.Context, org string, now time.Time, fn func(*store.OrgGate)) (store.OrgGate, error) {
	if org == "" || now.IsZero() || fn == nil {
		return store.OrgGate{}, errors.New("update org gate: org, the time and fn are required")
	}
	var out store.OrgGate
	err := s.update(ctx, func(x *Tx) error {
		n, err := x.Affected(ctx, qCreateGate, org, x.D.Time(now))
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		g := store.OrgGate{Org: org}
		if n == 0 { // the insert locked a new row; an existing one is locked here
			if g, err = scanOrgGate(x.Row(ctx, qLockGate, org)); err != nil {
				return fmt.Errorf("read: %w", err)
			}
		}
		fn(&g)
		out, err = scanOrgGate(x.Row(ctx, qWriteGate,
			org, x.D.Time(g.PausedUntil), g.Reason, g.Failures, g.APIUsed, g.APIMax, x.D.Time(now)))
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.OrgGate{}, fmt.Errorf("update gate of org %s: %w", org, err)
	}
	return out, nil
}

// OrgGates lists every org's gate, by Org.
func (s *Store) OrgGates(ctx context.Context) ([]store.OrgGate, error) {
	gs, err := List(ctx, s.r, scanOrgGate, qOrgGates)
	if err != nil {
		return nil, fmt.Errorf("org gates: %w", err)
	}
	return gs, nil
}

// qTryLease takes the lease: its update applies only when the lease is
// expired or the owner's, and it returns the row only when it inserted or
// updated it. Processes taking the lease at once queue on the row.
var qTryLease = Q(`
	INSERT INTO job_leases (name, owner, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
	WHERE job_leases.expires_at <= $4 OR job_leases.owner = excluded.owner
	RETURNING owner`)

// TryLease takes the named lease for owner until now+ttl when it is free,
// expired (at or before now) or owner's already (then it is extended to
// now+ttl), and reports whether owner holds it now. name, owner, now and a
// positive ttl are required.
func (s *Store) TryLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || owner == "" || now.IsZero() || ttl <= 0 {
		return false, errors.New("try lease: name, owner, the time and a positive ttl are required")
	}
	var got []string
	err := s.update(ctx, func(x *Tx) error {
		var err error
		got, err = Column[string](ctx, x.Conn, qTryLease, name, owner, x.D.Time(now.Add(ttl)), x.D.Time(now))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("try lease %s: %w", name, err)
	}
	return len(got) == 1 && got[0] == owner, nil
}

var (
	qSyncWatermark    = Q(`SELECT modstamp, seen, write_back, updated_at FROM sync_watermarks WHERE org = $1 AND object = $2`)
	qPutSyncWatermark = Q(`INSERT INTO sync_watermarks (org, object, modstamp, seen, write_back, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org, object) DO UPDATE SET modstamp = excluded.modstamp, seen = excluded.seen,
			write_back = excluded.write_back, updated_at = excluded.updated_at`)
)

// SyncWatermark returns the org's watermark for object, or
// store.ErrNotFound.
func (s *Store) SyncWatermark(ctx context.Context, org, object string) (store.SyncWatermark, error) {
	w, err := One(ctx, s.r, func(sc Scanner) (store.SyncWatermark, error) {
		w := store.SyncWatermark{Org: org, Object: object}
		var seen, writeBack string
		if err := sc.Scan(T(&w.Modstamp), &seen, &writeBack, T(&w.UpdatedAt)); err != nil {
			return w, err
		}
		if err := unmarshalIfSet(seen, &w.Seen); err != nil {
			return w, fmt.Errorf("its seen records: %w", err)
		}
		return w, unmarshalIfSet(writeBack, &w.WriteBack)
	}, qSyncWatermark, org, object)
	if err != nil {
		return store.SyncWatermark{}, fmt.Errorf("sync watermark of %s %s: %w", org, object, err)
	}
	return w, nil
}

// PutSyncWatermark writes the org's watermark for its object.
func (s *Store) PutSyncWatermark(ctx context.Context, w store.SyncWatermark) error {
	if err := store.CheckSyncWatermark(w); err != nil {
		return err
	}
	seen, err := marshalIfSet(len(w.Seen), w.Seen)
	if err != nil {
		return err
	}
	writeBack, err := marshalIfSet(len(w.WriteBack), w.WriteBack)
	if err != nil {
		return err
	}
	err = s.update(ctx, func(x *Tx) error {
		_, err := x.Exec(ctx, qPutSyncWatermark, w.Org, w.Object, x.D.Time(w.Modstamp), seen, writeBack, x.D.Time(w.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put the sync watermark of %s %s: %w", w.Org, w.Object, err)
	}
	return nil
}

// QRescueLeases clears the conversations' leases that expired at or before
// $1 (no lease: an empty token and 0 on SQLite, NULL on PostgreSQL).
var QRescueLeases = Q(`
	UPDATE conversations SET lease_owner = {''|NULL}, lease_token = {''|NULL}, lease_expires_at = {0|NULL}
	WHERE {lease_token <> ''|lease_token IS NOT NULL} AND lease_expires_at <= $1`)

// RescueLeases clears the leases that expired at or before now, in a
// transaction of its own (so that PostgreSQL retries a deadlock with
// another statement updating several conversations), and returns how many.
func (s *Store) RescueLeases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.update(ctx, func(x *Tx) error {
		var err error
		n, err = x.Affected(ctx, QRescueLeases, x.D.Time(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rescue leases: %w", err)
	}
	return int(n), nil
}

// marshalIfSet is v as JSON, or ” when it holds nothing (n).
func marshalIfSet(n int, v any) (string, error) {
	if n == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("put sync watermark: %w", err)
	}
	return string(b), nil
}

// unmarshalIfSet reads marshalIfSet's JSON into v; ” leaves v as it is.
func unmarshalIfSet(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
