package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

const orgGateColumns = `org, paused_until, reason, failures, api_used, api_max, updated_at`

func scanOrgGate(sc scanner) (store.OrgGate, error) {
	var g store.OrgGate
	var paused, updated int64
	err := sc.Scan(&g.Org, &paused, &g.Reason, &g.Failures, &g.APIUsed, &g.APIMax, &updated)
	g.PausedUntil, g.UpdatedAt = fromMicros(paused), fromMicros(updated)
	return g, err
}

// UpdateOrgGate reads the org's gate (a zero gate with Org set when it has
// none), lets fn change it and writes it back with UpdatedAt = now, in one
// write transaction: the writer connection serialises it with every other
// write of this process, and the write lock taken at BEGIN with those of
// other processes on the file. fn runs once. The gate returned is the one
// stored: times in UTC, to the microsecond. org, now and fn are required.
func (s *Store) UpdateOrgGate(ctx context.Context, org string, now time.Time, fn func(*store.OrgGate)) (store.OrgGate, error) {
	if org == "" || now.IsZero() || fn == nil {
		return store.OrgGate{}, errors.New("update org gate: org, the time and fn are required")
	}
	var out store.OrgGate
	err := s.write(ctx, func(t cachedTx) error {
		g, err := scanOrgGate(t.QueryRowContext(ctx, `SELECT `+orgGateColumns+` FROM org_gates WHERE org = ?`, org))
		if errors.Is(err, sql.ErrNoRows) {
			g, err = store.OrgGate{Org: org}, nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		fn(&g)
		g.Org, g.UpdatedAt = org, now
		out, err = scanOrgGate(t.QueryRowContext(ctx, `
			INSERT INTO org_gates (`+orgGateColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org) DO UPDATE SET
				paused_until = excluded.paused_until,
				reason       = excluded.reason,
				failures     = excluded.failures,
				api_used     = excluded.api_used,
				api_max      = excluded.api_max,
				updated_at   = excluded.updated_at
			RETURNING `+orgGateColumns,
			g.Org, micros(g.PausedUntil), g.Reason, g.Failures, g.APIUsed, g.APIMax, micros(g.UpdatedAt)))
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+orgGateColumns+` FROM org_gates ORDER BY org`)
	if err != nil {
		return nil, fmt.Errorf("org gates: %w", err)
	}
	defer rows.Close()
	out := []store.OrgGate{}
	for rows.Next() {
		g, err := scanOrgGate(rows)
		if err != nil {
			return nil, fmt.Errorf("org gates: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("org gates: %w", err)
	}
	return out, nil
}

// TryLease takes the named lease for owner until now+ttl when it is free,
// expired (at or before now) or owner's already (then it is extended to
// now+ttl), and reports whether owner holds it now. One upsert does it: its
// update applies only under those conditions, and returns the row only
// when it applied. name, owner, now and a positive ttl are required.
func (s *Store) TryLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || owner == "" || now.IsZero() || ttl <= 0 {
		return false, errors.New("try lease: name, owner, the time and a positive ttl are required")
	}
	held := false
	err := s.write(ctx, func(t cachedTx) error {
		var got string
		err := t.QueryRowContext(ctx, `
			INSERT INTO job_leases (name, owner, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE job_leases.expires_at <= ?4 OR job_leases.owner = excluded.owner
			RETURNING owner`, name, owner, micros(now.Add(ttl)), micros(now)).Scan(&got)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		held = got == owner
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("try lease %s: %w", name, err)
	}
	return held, nil
}
