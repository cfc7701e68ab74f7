package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatsync/sfconnector/connector/store"
)

// SyncWatermark returns the org's watermark for object, or
// store.ErrNotFound.
func (s *Store) SyncWatermark(ctx context.Context, org, object string) (store.SyncWatermark, error) {
	var mod, upd int64
	err := s.r.QueryRowContext(ctx, `SELECT modstamp, updated_at FROM sync_watermarks WHERE org = ? AND object = ?`, org, object).Scan(&mod, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SyncWatermark{}, fmt.Errorf("sync watermark of %s %s: %w", org, object, store.ErrNotFound)
	}
	if err != nil {
		return store.SyncWatermark{}, fmt.Errorf("sync watermark of %s %s: %w", org, object, err)
	}
	return store.SyncWatermark{Org: org, Object: object, Modstamp: fromMicros(mod), UpdatedAt: fromMicros(upd)}, nil
}

// PutSyncWatermark writes the org's watermark for its object.
func (s *Store) PutSyncWatermark(ctx context.Context, w store.SyncWatermark) error {
	if err := store.CheckSyncWatermark(w); err != nil {
		return err
	}
	err := s.write(ctx, func(t cachedTx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO sync_watermarks (org, object, modstamp, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (org, object) DO UPDATE SET modstamp = excluded.modstamp, updated_at = excluded.updated_at`,
			w.Org, w.Object, micros(w.Modstamp), micros(w.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put the sync watermark of %s %s: %w", w.Org, w.Object, err)
	}
	return nil
}
