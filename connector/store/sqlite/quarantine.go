package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/chatsync/sfconnector/connector/store"
)

const quarantineColumns = `id, tenant, channel, platform, reason, raw, received_at, updated_at`

func scanQuarantined(sc scanner) (store.Quarantined, error) {
	var q store.Quarantined
	var received, updated int64
	if err := sc.Scan(&q.ID, &q.Tenant, &q.Channel, &q.Platform, &q.Reason, &q.Raw, &received, &updated); err != nil {
		return store.Quarantined{}, err
	}
	q.ReceivedAt, q.UpdatedAt = fromMicros(received), fromMicros(updated)
	return q, nil
}

// Quarantine keeps an event the connector could not use, once per tenant,
// channel and raw bytes.
func (x *tx) Quarantine(ctx context.Context, q store.Quarantined) (store.Quarantined, bool, error) {
	if err := q.Validate(); err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	digest := store.QuarantineDigest(q.Raw)
	// One writer: nothing inserts the same key between the read and the
	// write.
	var id int64
	err := x.t.QueryRowContext(ctx, `SELECT id FROM quarantine WHERE tenant = ? AND channel = ? AND digest = ?`,
		q.Tenant, q.Channel, digest).Scan(&id)
	inserted := errors.Is(err, sql.ErrNoRows)
	switch {
	case inserted:
		err = x.t.QueryRowContext(ctx, `INSERT INTO quarantine (tenant, channel, platform, digest, raw, reason, received_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			q.Tenant, q.Channel, q.Platform, digest, q.Raw, q.Reason, micros(q.ReceivedAt), micros(q.ReceivedAt)).Scan(&id)
	case err == nil:
		_, err = x.t.ExecContext(ctx, `UPDATE quarantine SET platform = ?, reason = ?, updated_at = ? WHERE id = ?`,
			q.Platform, q.Reason, micros(q.ReceivedAt), id)
	}
	if err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	stored, err := x.GetQuarantined(ctx, id)
	return stored, inserted, err
}

// GetQuarantined returns a quarantined event, or ErrNotFound.
func (x *tx) GetQuarantined(ctx context.Context, id int64) (store.Quarantined, error) {
	q, err := scanQuarantined(x.t.QueryRowContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Quarantined{}, fmt.Errorf("quarantined event %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Quarantined{}, fmt.Errorf("quarantined event %d: %w", id, err)
	}
	return q, nil
}

// DeleteQuarantined removes a quarantined event, or returns ErrNotFound.
func (x *tx) DeleteQuarantined(ctx context.Context, id int64) error {
	res, err := x.t.ExecContext(ctx, `DELETE FROM quarantine WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete quarantined event %d: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("delete quarantined event %d", id))
}

// ListQuarantine lists quarantined events by ID.
func (s *Store) ListQuarantine(ctx context.Context, f store.QuarantineFilter) ([]store.Quarantined, error) {
	where := []string{"id > ?"}
	args := []any{f.AfterID}
	if f.Tenant != "" {
		where = append(where, "tenant = ?")
		args = append(args, f.Tenant)
	}
	if f.Channel != "" {
		where = append(where, "channel = ?")
		args = append(args, f.Channel)
	}
	args = append(args, store.PageSize(f.Limit, defaultLimit))
	rows, err := s.r.QueryContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
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
