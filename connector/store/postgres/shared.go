package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
)

const orgGateColumns = `org, paused_until, reason, failures, api_used, api_max, updated_at`

func scanOrgGate(row pgx.Row) (store.OrgGate, error) {
	var g store.OrgGate
	var paused, updated pgtype.Timestamptz
	err := row.Scan(&g.Org, &paused, &g.Reason, &g.Failures, &g.APIUsed, &g.APIMax, &updated)
	g.PausedUntil, g.UpdatedAt = fromTS(paused), fromTS(updated)
	return g, err
}

// UpdateOrgGate reads the org's gate (a zero gate with Org set when it has
// none), lets fn change it and writes it back with UpdatedAt = now, in one
// transaction holding the lock of the org's row from the read to the
// commit: an UpdateOrgGate of the same org, in any process, waits for it
// and then reads what it wrote. A missing row is first inserted (ON
// CONFLICT DO NOTHING, so that two processes creating it at once end up on
// the same row). fn runs again when the transaction is retried (see
// WithTx). The gate returned is the one stored: times in UTC, to the
// microsecond. org, now and fn are required.
func (s *Store) UpdateOrgGate(ctx context.Context, org string, now time.Time, fn func(*store.OrgGate)) (store.OrgGate, error) {
	if org == "" || now.IsZero() || fn == nil {
		return store.OrgGate{}, errors.New("update org gate: org, the time and fn are required")
	}
	var out store.OrgGate
	err := s.inTx(ctx, func(t pgx.Tx) error {
		tag, err := t.Exec(ctx, `INSERT INTO org_gates (org, updated_at) VALUES ($1, $2)
			ON CONFLICT (org) DO NOTHING`, org, ts(now))
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		// The insert locked the new row; an existing one is locked here.
		g := store.OrgGate{Org: org}
		if tag.RowsAffected() == 0 {
			g, err = scanOrgGate(t.QueryRow(ctx, `SELECT `+orgGateColumns+` FROM org_gates
				WHERE org = $1 FOR UPDATE`, org))
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
		}
		fn(&g)
		out, err = scanOrgGate(t.QueryRow(ctx, `
			UPDATE org_gates SET paused_until = $2, reason = $3, failures = $4,
				api_used = $5, api_max = $6, updated_at = $7
			WHERE org = $1
			RETURNING `+orgGateColumns,
			org, nullTS(g.PausedUntil), g.Reason, g.Failures, g.APIUsed, g.APIMax, ts(now)))
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
	rows, err := s.pool.Query(ctx, `SELECT `+orgGateColumns+` FROM org_gates ORDER BY org`)
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
// now+ttl), and reports whether owner holds it now. One INSERT ... ON
// CONFLICT DO UPDATE does it: its update applies only under those
// conditions, and it returns the row only when it inserted or updated it.
// Processes taking the lease at once queue on the row: the first takes
// it, the others then find it live. name, owner, now and a positive ttl
// are required.
func (s *Store) TryLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if name == "" || owner == "" || now.IsZero() || ttl <= 0 {
		return false, errors.New("try lease: name, owner, the time and a positive ttl are required")
	}
	var got string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO job_leases AS l (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE l.expires_at <= $4 OR l.owner = excluded.owner
		RETURNING l.owner`, name, owner, ts(now.Add(ttl)), ts(now)).Scan(&got)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("try lease %s: %w", name, err)
	}
	return got == owner, nil
}
