package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatsync/sfconnector/connector/store"
)

const quarantineColumns = `id, tenant, channel, platform, reason, raw, received_at, updated_at`

func scanQuarantined(sc Scanner) (store.Quarantined, error) {
	var q store.Quarantined
	return q, sc.Scan(&q.ID, &q.Tenant, &q.Channel, &q.Platform, &q.Reason, &q.Raw, T(&q.ReceivedAt), T(&q.UpdatedAt))
}

var (
	qQuarantineNew = Q(`
		INSERT INTO quarantine (tenant, channel, platform, digest, raw, reason, received_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (tenant, channel, digest) DO NOTHING
		RETURNING id`)
	qQuarantineAgain = Q(`
		UPDATE quarantine SET platform = $3, reason = $5, updated_at = $6
		WHERE tenant = $1 AND channel = $2 AND digest = $4
		RETURNING id`)
	qGetQuarantined    = Q(`SELECT ` + quarantineColumns + ` FROM quarantine WHERE id = $1{| FOR UPDATE}`)
	qDeleteQuarantined = Q(`DELETE FROM quarantine WHERE id = $1`)
)

// Quarantine keeps an event the connector could not use, once per tenant,
// channel and raw bytes. On PostgreSQL, when another transaction is
// quarantining the same event, the insert waits for it and the update then
// finds its row.
func (x *Tx) Quarantine(ctx context.Context, q store.Quarantined) (store.Quarantined, bool, error) {
	if err := q.Validate(); err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	digest := store.QuarantineDigest(q.Raw)
	ids, err := Column[int64](ctx, x.Conn, qQuarantineNew,
		q.Tenant, q.Channel, q.Platform, digest, q.Raw, q.Reason, x.D.Time(q.ReceivedAt))
	inserted := err == nil && len(ids) == 1
	if err == nil && !inserted {
		ids, err = Column[int64](ctx, x.Conn, qQuarantineAgain,
			q.Tenant, q.Channel, q.Platform, digest, q.Reason, x.D.Time(q.ReceivedAt))
	}
	if err == nil && len(ids) != 1 {
		err = fmt.Errorf("stored %d events", len(ids))
	}
	if err != nil {
		return store.Quarantined{}, false, fmt.Errorf("quarantine an event of %s/%s: %w", q.Tenant, q.Channel, err)
	}
	stored, err := x.GetQuarantined(ctx, ids[0])
	return stored, inserted, err
}

// GetQuarantined returns a quarantined event, or ErrNotFound; on
// PostgreSQL it locks the row until the transaction ends (two replays of
// one event take turns).
func (x *Tx) GetQuarantined(ctx context.Context, id int64) (store.Quarantined, error) {
	q, err := One(ctx, x.Conn, scanQuarantined, qGetQuarantined, id)
	if err != nil {
		return store.Quarantined{}, fmt.Errorf("quarantined event %d: %w", id, err)
	}
	return q, nil
}

// DeleteQuarantined removes a quarantined event, or returns ErrNotFound.
func (x *Tx) DeleteQuarantined(ctx context.Context, id int64) error {
	return x.MustAffect(ctx, fmt.Sprintf("delete quarantined event %d", id), qDeleteQuarantined, id)
}

// ListQuarantine lists quarantined events by ID.
func (s *Store) ListQuarantine(ctx context.Context, f store.QuarantineFilter) ([]store.Quarantined, error) {
	var p Params
	where := []string{"id > " + p.Add(f.AfterID)}
	if f.Tenant != "" {
		where = append(where, "tenant = "+p.Add(f.Tenant))
	}
	if f.Channel != "" {
		where = append(where, "channel = "+p.Add(f.Channel))
	}
	q := Q(`SELECT ` + quarantineColumns + ` FROM quarantine WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id LIMIT ` + p.Add(store.PageSize(f.Limit, DefaultLimit)))
	out, err := List(ctx, s.r, scanQuarantined, q, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	return out, nil
}
