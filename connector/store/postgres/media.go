package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
)

// mediaColumns are the media item's columns with its message's, joined as m
// (media) and g (messages).
const mediaColumns = `m.id, m.message_id, m.conversation_id, m.tenant, m.channel, m.ref, m.status, m.reason,
	m.size, m.sha256, m.content_type, m.file_name, m.location, m.content_version_id, m.content_document_id,
	m.attempts, m.next_attempt_at, m.created_at, m.updated_at, g.platform_id, g.push_status, g.salesforce_id`

func scanMedia(row pgx.Row) (store.MediaItem, error) {
	var m store.MediaItem
	var next, created, updated pgtype.Timestamptz
	var status, push string
	err := row.Scan(&m.ID, &m.MessageID, &m.ConversationID, &m.Tenant, &m.Channel, &m.Ref, &status, &m.Reason,
		&m.Size, &m.SHA256, &m.ContentType, &m.FileName, &m.Location, &m.ContentVersionID, &m.ContentDocumentID,
		&m.Attempts, &next, &created, &updated, &m.MessagePlatformID, &push, &m.MessageSalesforceID)
	m.Status, m.MessagePushStatus = store.MediaStatus(status), store.PushStatus(push)
	m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = fromTS(next), fromTS(created), fromTS(updated)
	return m, err
}

func listMedia(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, query string, args ...any) ([]store.MediaItem, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.MediaItem{}
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// InsertMedia records a message's media item (store.MediaTx).
func (x *tx) InsertMedia(ctx context.Context, m store.MediaItem) (store.MediaItem, error) {
	if err := m.Validate(); err != nil {
		return store.MediaItem{}, fmt.Errorf("insert media of message %d: %w", m.MessageID, err)
	}
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	var id int64
	err := x.t.QueryRow(ctx, `
		INSERT INTO media (message_id, conversation_id, tenant, channel, ref, status, reason, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (message_id) DO UPDATE SET message_id = excluded.message_id
		RETURNING id`,
		m.MessageID, m.ConversationID, m.Tenant, m.Channel, m.Ref, string(m.Status), m.Reason, ts(next), ts(m.CreatedAt)).Scan(&id)
	if err != nil {
		return store.MediaItem{}, fmt.Errorf("insert media of message %d: %w", m.MessageID, err)
	}
	got, err := scanMedia(x.t.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m JOIN messages g ON g.id = m.message_id WHERE m.id = $1`, id))
	if err != nil {
		return store.MediaItem{}, fmt.Errorf("insert media of message %d: %w", m.MessageID, err)
	}
	return got, nil
}

// GetMedia returns one media item, or ErrNotFound.
func (s *Store) GetMedia(ctx context.Context, id int64) (store.MediaItem, error) {
	m, err := scanMedia(s.pool.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m JOIN messages g ON g.id = m.message_id WHERE m.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.MediaItem{}, fmt.Errorf("media item %d: %w", id, err)
	}
	return m, nil
}

// ListMedia lists media items by ID.
func (s *Store) ListMedia(ctx context.Context, f store.MediaFilter) ([]store.MediaItem, error) {
	where := []string{"m.id > $1"}
	args := []any{f.AfterID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Tenant != "" {
		add("m.tenant = $%d", f.Tenant)
	}
	if f.Status != "" {
		add("m.status = $%d", string(f.Status))
	}
	if f.ConversationID != 0 {
		add("m.conversation_id = $%d", f.ConversationID)
	}
	if f.MessageID != 0 {
		add("m.message_id = $%d", f.MessageID)
	}
	args = append(args, store.PageSize(f.Limit, defaultLimit))
	out, err := listMedia(ctx, s.pool, `SELECT `+mediaColumns+` FROM media m JOIN messages g ON g.id = m.message_id
		WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY m.id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list media: %w", err)
	}
	return out, nil
}

// ClaimMedia takes the media items with work due (store.MediaStore).
// Rows another transaction holds are skipped.
func (s *Store) ClaimMedia(ctx context.Context, now, until time.Time, limit int) ([]store.MediaItem, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	var out []store.MediaItem
	err := s.inTx(ctx, func(t pgx.Tx) error {
		var err error
		out, err = listMedia(ctx, t, `
			WITH due AS (
				SELECT m.id FROM media m JOIN messages g ON g.id = m.message_id
				WHERE m.status IN ('pending', 'fetched') AND m.next_attempt_at <= $1
				  AND (m.status = 'pending' OR (g.push_status = 'pushed' AND g.salesforce_id <> ''))
				ORDER BY m.next_attempt_at, m.id LIMIT $3 FOR UPDATE OF m SKIP LOCKED
			), taken AS (
				UPDATE media SET next_attempt_at = $2 FROM due WHERE media.id = due.id RETURNING media.*
			)
			SELECT `+mediaColumns+` FROM taken m JOIN messages g ON g.id = m.message_id
			ORDER BY m.id`, ts(now), ts(until), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim media: %w", err)
	}
	return out, nil
}

// UpdateMedia writes where a media item stands (store.MediaStore).
func (s *Store) UpdateMedia(ctx context.Context, m store.MediaItem, now time.Time) error {
	if !store.ValidMediaStatus(m.Status) {
		return fmt.Errorf("update media item %d: invalid status %q", m.ID, m.Status)
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE media SET status = $2, reason = $3, size = $4, sha256 = $5, content_type = $6, file_name = $7,
			location = $8, content_version_id = $9, content_document_id = $10, attempts = $11,
			next_attempt_at = $12, updated_at = $13,
			data = CASE WHEN $8 = 'store' THEN data END
		WHERE id = $1`,
		m.ID, string(m.Status), m.Reason, m.Size, m.SHA256, m.ContentType, m.FileName, m.Location,
		m.ContentVersionID, m.ContentDocumentID, m.Attempts, ts(m.NextAttemptAt), ts(now))
	if err != nil {
		return fmt.Errorf("update media item %d: %w", m.ID, err)
	}
	return mustAffect(tag, fmt.Sprintf("update media item %d", m.ID))
}

// PutMediaData keeps a media item's bytes in the database.
func (s *Store) PutMediaData(ctx context.Context, id int64, data []byte) error {
	if len(data) > store.MaxMediaBytes {
		return fmt.Errorf("keep media item %d: %d bytes: %w", id, len(data), store.ErrMediaTooLarge)
	}
	if data == nil {
		data = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE media SET data = $2 WHERE id = $1`, id, data)
	if err != nil {
		return fmt.Errorf("keep media item %d: %w", id, err)
	}
	return mustAffect(tag, fmt.Sprintf("keep media item %d", id))
}

// MediaData returns the bytes kept by PutMediaData.
func (s *Store) MediaData(ctx context.Context, id int64) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM media WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && data == nil) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media item %d bytes: %w", id, err)
	}
	return data, nil
}

// ReplayMedia puts failed media items back to work (store.MediaStore).
func (s *Store) ReplayMedia(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error) {
	if tenant == "" {
		return nil, errors.New("replay media: tenant is required")
	}
	if now.IsZero() {
		return nil, errors.New("replay media: the time is required")
	}
	rows, err := s.pool.Query(ctx, `
		UPDATE media SET status = CASE WHEN location = '' THEN 'pending' ELSE 'fetched' END,
			reason = '', attempts = 0, next_attempt_at = $3, updated_at = $3
		WHERE tenant = $1 AND status = 'failed' AND (cardinality($2::bigint[]) = 0 OR id = ANY ($2))
		RETURNING id`, tenant, append([]int64{}, ids...), ts(now))
	if err != nil {
		return nil, fmt.Errorf("replay media: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("replay media: %w", err)
	}
	if out == nil {
		out = []int64{}
	}
	slices.Sort(out)
	return out, nil
}
