package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
)

// SyncWatermark returns the org's watermark for object, or
// store.ErrNotFound.
func (s *Store) SyncWatermark(ctx context.Context, org, object string) (store.SyncWatermark, error) {
	var mod, upd pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT modstamp, updated_at FROM sync_watermarks WHERE org = $1 AND object = $2`, org, object).Scan(&mod, &upd)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SyncWatermark{}, fmt.Errorf("sync watermark of %s %s: %w", org, object, store.ErrNotFound)
	}
	if err != nil {
		return store.SyncWatermark{}, fmt.Errorf("sync watermark of %s %s: %w", org, object, err)
	}
	return store.SyncWatermark{Org: org, Object: object, Modstamp: fromTS(mod), UpdatedAt: fromTS(upd)}, nil
}

// PutSyncWatermark writes the org's watermark for its object.
func (s *Store) PutSyncWatermark(ctx context.Context, w store.SyncWatermark) error {
	if err := store.CheckSyncWatermark(w); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO sync_watermarks (org, object, modstamp, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org, object) DO UPDATE SET modstamp = excluded.modstamp, updated_at = excluded.updated_at`,
		w.Org, w.Object, ts(w.Modstamp), ts(w.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put the sync watermark of %s %s: %w", w.Org, w.Object, err)
	}
	return nil
}
