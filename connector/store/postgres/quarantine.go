package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
)

const quarantineColumns = `id, tenant, channel, platform, reason, raw, received_at, updated_at`

func scanQuarantined(row pgx.Row) (store.Quarantined, error) {
	var q store.Quarantined
	var received, updated pgtype.Timestamptz
	if err := row.Scan(&q.ID, &q.Tenant, &q.Channel, &q.Platform, &q.Reason, &q.Raw, &received, &updated); err != nil {
		return store.Quarantined{}, err
	}
	q.ReceivedAt, q.UpdatedAt = fromTS(received), fromTS(updated)
	return q, nil
}

// Quarantine keeps an event the connector could not use, once per tenant,
// channel and raw bytes.
func (x *tx) Quarantine(ctx context.Context, q store.Quarantined) (store.Quarantined, bool, error) {
	if err := q.Validate(); err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	// xmax is 0 on a row this statement inserted, and set on one it
	// updated.
	var id int64
	var inserted bool
	err := x.t.QueryRow(ctx, `
		INSERT INTO quarantine (tenant, channel, platform, digest, raw, reason, received_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (tenant, channel, digest) DO UPDATE
			SET platform = excluded.platform, reason = excluded.reason, updated_at = excluded.updated_at
		RETURNING id, xmax = 0`,
		q.Tenant, q.Channel, q.Platform, store.QuarantineDigest(q.Raw), q.Raw, q.Reason, ts(q.ReceivedAt)).Scan(&id, &inserted)
	if err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	stored, err := x.GetQuarantined(ctx, id)
	return stored, inserted, err
}

// GetQuarantined returns a quarantined event, or ErrNotFound; it locks
// the row until the transaction ends (two replays of one event take turns).
func (x *tx) GetQuarantined(ctx context.Context, id int64) (store.Quarantined, error) {
	q, err := scanQuarantined(x.t.QueryRow(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Quarantined{}, fmt.Errorf("quarantined event %d: %w", id, err)
	}
	return q, nil
}

// DeleteQuarantined removes a quarantined event, or returns ErrNotFound.
func (x *tx) DeleteQuarantined(ctx context.Context, id int64) error {
	tag, err := x.t.Exec(ctx, `DELETE FROM quarantine WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete quarantined event %d: %w", id, err)
	}
	return mustAffect(tag, fmt.Sprintf("delete quarantined event %d", id))
}

// ListQuarantine lists quarantined events by ID.
func (s *Store) ListQuarantine(ctx context.Context, f store.QuarantineFilter) ([]store.Quarantined, error) {
	where := []string{"id > $1"}
	args := []any{f.AfterID}
	if f.Tenant != "" {
		args = append(args, f.Tenant)
		where = append(where, fmt.Sprintf("tenant = $%d", len(args)))
	}
	if f.Channel != "" {
		args = append(args, f.Channel)
		where = append(where, fmt.Sprintf("channel = $%d", len(args)))
	}
	args = append(args, store.PageSize(f.Limit, defaultLimit))
	rows, err := s.pool.Query(ctx, `SELECT `+quarantineColumns+` FROM quarantine
		WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	defer rows.Close()
	out := []store.Quarantined{}
	for rows.Next() {
		q, err := scanQuarantined(rows)
		if err != nil {
			return nil, fmt.Errorf("list quarantine: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	return out, nil
}
