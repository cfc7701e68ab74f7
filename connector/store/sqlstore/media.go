package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// mediaSelect reads media items "m" with their message's columns "g".
const mediaSelect = `SELECT m.id, m.message_id, m.conversation_id, m.tenant, m.channel, m.ref, m.status, m.reason,
	m.size, m.sha256, m.content_type, m.file_name, m.location, m.content_version_id, m.content_document_id,
	m.attempts, m.next_attempt_at, m.created_at, m.updated_at, m.held_by, g.platform_id, g.push_status, g.salesforce_id
	FROM media m JOIN messages g ON g.id = m.message_id `

func scanMedia(sc Scanner) (store.MediaItem, error) {
	var m store.MediaItem
	var status, push string
	err := sc.Scan(&m.ID, &m.MessageID, &m.ConversationID, &m.Tenant, &m.Channel, &m.Ref, &status, &m.Reason,
		&m.Size, &m.SHA256, &m.ContentType, &m.FileName, &m.Location, &m.ContentVersionID, &m.ContentDocumentID,
		&m.Attempts, T(&m.NextAttemptAt), T(&m.CreatedAt), T(&m.UpdatedAt), &m.HeldBy, &m.MessagePlatformID, &push, &m.MessageSalesforceID)
	m.Status, m.MessagePushStatus = store.MediaStatus(status), store.PushStatus(push)
	return m, err
}

var (
	qInsertMedia = Q(`
		INSERT INTO media (message_id, conversation_id, tenant, channel, ref, status, reason, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (message_id) DO UPDATE SET message_id = excluded.message_id
		RETURNING id`)
	qGetMedia = Q(mediaSelect + `WHERE m.id = $1`)
)

// InsertMedia records a message's media item (store.MediaTx).
func (x *Tx) InsertMedia(ctx context.Context, m store.MediaItem) (store.MediaItem, error) {
	if err := m.Validate(); err != nil {
		return store.MediaItem{}, fmt.Errorf("insert media of message %d: %w", m.MessageID, err)
	}
	next := m.NextAttemptAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	var id int64
	err := x.Row(ctx, qInsertMedia, m.MessageID, m.ConversationID, m.Tenant, m.Channel, m.Ref, string(m.Status), m.Reason,
		x.D.TimeNotNull(next), x.D.TimeNotNull(m.CreatedAt)).Scan(&id)
	var got store.MediaItem
	if err == nil {
		got, err = One(ctx, x.Conn, scanMedia, qGetMedia, id)
	}
	if err != nil {
		return store.MediaItem{}, fmt.Errorf("insert media of message %d: %w", m.MessageID, err)
	}
	return got, nil
}

// GetMedia returns one media item, or ErrNotFound.
func (s *Store) GetMedia(ctx context.Context, id int64) (store.MediaItem, error) {
	m, err := One(ctx, s.r, scanMedia, qGetMedia, id)
	if err != nil {
		return store.MediaItem{}, fmt.Errorf("media item %d: %w", id, err)
	}
	return m, nil
}

// ListMedia lists media items by ID.
func (s *Store) ListMedia(ctx context.Context, f store.MediaFilter) ([]store.MediaItem, error) {
	var p Params
	where := []string{"m.id > " + p.Add(f.AfterID)}
	if f.Tenant != "" {
		where = append(where, "m.tenant = "+p.Add(f.Tenant))
	}
	if f.Status != "" {
		where = append(where, "m.status = "+p.Add(string(f.Status)))
	}
	if f.ConversationID != 0 {
		where = append(where, "m.conversation_id = "+p.Add(f.ConversationID))
	}
	if f.MessageID != 0 {
		where = append(where, "m.message_id = "+p.Add(f.MessageID))
	}
	if f.Channel != "" {
		where = append(where, "m.channel = "+p.Add(f.Channel))
	}
	if f.RefPrefix != "" {
		where = append(where, "substr(m.ref, 1, length("+p.Add(f.RefPrefix)+")) = "+p.Add(f.RefPrefix))
	}
	q := Q(mediaSelect + `WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY m.id LIMIT ` + p.Add(store.PageSize(f.Limit, DefaultLimit)))
	out, err := List(ctx, s.r, scanMedia, q, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("list media: %w", err)
	}
	return out, nil
}

var (
	// qMediaDue picks the items with work due; PostgreSQL skips those
	// another replica's claim holds.
	qMediaDue = Q(`SELECT m.id FROM media m JOIN messages g ON g.id = m.message_id
		WHERE m.status IN ('pending', 'fetched') AND m.next_attempt_at <= $1
		  AND (m.status = 'pending' OR (g.push_status = 'pushed' AND g.salesforce_id <> ''))
		ORDER BY m.next_attempt_at, m.id LIMIT $2{| FOR UPDATE OF m SKIP LOCKED}`)
	qHoldMedia   = Q(`UPDATE media SET next_attempt_at = $1, held_by = $3 WHERE id {IN $2}`)
	qMediaOfIDs  = Q(mediaSelect + `WHERE m.id {IN $1} ORDER BY m.id`)
	qUpdateMedia = Q(updateMedia)
	// qUpdateHeldMedia is qUpdateMedia for an item held by $15.
	qUpdateHeldMedia = Q(updateMedia + ` AND held_by = $15`)
	qMediaExists     = Q(`SELECT EXISTS (SELECT 1 FROM media WHERE id = $1)`)
	qPutMediaData    = Q(`UPDATE media SET data = $2 WHERE id = $1`)
	qMediaData       = Q(`SELECT data FROM media WHERE id = $1`)
)

// ClaimMedia takes the media items with work due (store.MediaStore).
func (s *Store) ClaimMedia(ctx context.Context, owner string, now, until time.Time, limit int) ([]store.MediaItem, error) {
	if owner == "" {
		return nil, errors.New("claim media: the owner is required")
	}
	out := []store.MediaItem{}
	err := s.update(ctx, func(x *Tx) error {
		ids, err := Column[int64](ctx, x.Conn, qMediaDue, x.D.TimeNotNull(now), orDefault(limit))
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := x.Exec(ctx, qHoldMedia, x.D.TimeNotNull(until), x.D.List(ids), owner); err != nil {
			return err
		}
		out, err = List(ctx, x.Conn, scanMedia, qMediaOfIDs, x.D.List(ids))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim media: %w", err)
	}
	return out, nil
}

// qRenewMedia holds until $1 the items of $3 that $2 still holds.
var qRenewMedia = Q(`UPDATE media SET next_attempt_at = $1 WHERE held_by = $2 AND id {IN $3} RETURNING id`)

// RenewMedia extends the holds of owner's items in flight (store.MediaStore).
func (s *Store) RenewMedia(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if owner == "" {
		return nil, errors.New("renew media holds: the owner is required")
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var held []int64
	err := s.update(ctx, func(x *Tx) error {
		var err error
		held, err = Column[int64](ctx, x.Conn, qRenewMedia, x.D.TimeNotNull(until), owner, x.D.List(ids))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew media holds: %w", err)
	}
	return Missing(ids, held), nil
}

// updateMedia writes a media item ($1) as UpdateMedia says.
const updateMedia = `
		UPDATE media SET status = $2, reason = $3, size = $4, sha256 = $5, content_type = $6, file_name = $7,
			location = $8, content_version_id = $9, content_document_id = $10, attempts = $11,
			next_attempt_at = $12, updated_at = $13, held_by = $14,
			data = CASE WHEN $8 = 'store' THEN data END
		WHERE id = $1`

// mediaArgs are updateMedia's arguments for m at now.
func mediaArgs(d *Dialect, m store.MediaItem, now time.Time) []any {
	return []any{m.ID, string(m.Status), m.Reason, m.Size, m.SHA256, m.ContentType, m.FileName, m.Location,
		m.ContentVersionID, m.ContentDocumentID, m.Attempts, d.TimeNotNull(m.NextAttemptAt), d.TimeNotNull(now), m.HeldBy}
}

// UpdateMedia writes where a media item stands (store.MediaStore).
func (s *Store) UpdateMedia(ctx context.Context, m store.MediaItem, now time.Time) error {
	if !store.ValidMediaStatus(m.Status) {
		return fmt.Errorf("update media item %d: invalid status %q", m.ID, m.Status)
	}
	return s.update(ctx, func(x *Tx) error {
		return x.MustAffect(ctx, fmt.Sprintf("update media item %d", m.ID), qUpdateMedia, mediaArgs(x.D, m, now)...)
	})
}

// UpdateHeldMedia writes where a media item owner holds stands
// (store.MediaStore).
func (s *Store) UpdateHeldMedia(ctx context.Context, owner string, m store.MediaItem, now time.Time) error {
	switch {
	case owner == "":
		return fmt.Errorf("update media item %d: the owner is required", m.ID)
	case !store.ValidMediaStatus(m.Status):
		return fmt.Errorf("update media item %d: invalid status %q", m.ID, m.Status)
	}
	return s.update(ctx, func(x *Tx) error {
		switch n, err := x.Affected(ctx, qUpdateHeldMedia, append(mediaArgs(x.D, m, now), owner)...); {
		case err != nil:
			return fmt.Errorf("update media item %d: %w", m.ID, err)
		case n == 1:
			return nil
		}
		var exists bool
		if err := x.Row(ctx, qMediaExists, m.ID).Scan(&exists); err != nil {
			return fmt.Errorf("update media item %d: %w", m.ID, err)
		}
		if !exists {
			return fmt.Errorf("update media item %d: %w", m.ID, store.ErrNotFound)
		}
		return fmt.Errorf("update media item %d: not held by %s: %w", m.ID, owner, store.ErrLeaseLost)
	})
}

// PutMediaData keeps a media item's bytes in the database.
func (s *Store) PutMediaData(ctx context.Context, id int64, data []byte) error {
	if len(data) > store.MaxMediaBytes {
		return fmt.Errorf("keep media item %d: %d bytes: %w", id, len(data), store.ErrMediaTooLarge)
	}
	if data == nil {
		data = []byte{}
	}
	return s.update(ctx, func(x *Tx) error {
		return x.MustAffect(ctx, fmt.Sprintf("keep media item %d", id), qPutMediaData, id, data)
	})
}

// MediaData returns the bytes kept by PutMediaData.
func (s *Store) MediaData(ctx context.Context, id int64) ([]byte, error) {
	data, err := One(ctx, s.r, func(sc Scanner) ([]byte, error) {
		var b []byte
		return b, sc.Scan(&b)
	}, qMediaData, id)
	if err == nil && data == nil {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media item %d bytes: %w", id, err)
	}
	return data, nil
}

const replayMedia = `UPDATE media SET status = CASE WHEN location = '' THEN 'pending' ELSE 'fetched' END,
		reason = '', attempts = 0, next_attempt_at = $2, updated_at = $2
	WHERE tenant = $1 AND status = 'failed'`

var (
	qReplayAllMedia = Q(replayMedia + ` RETURNING id`)
	qReplayMediaIDs = Q(replayMedia + ` AND id {IN $3} RETURNING id`)
)

// ReplayMedia puts failed media items back to work (store.MediaStore).
func (s *Store) ReplayMedia(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error) {
	if tenant == "" {
		return nil, errors.New("replay media: tenant is required")
	}
	if now.IsZero() {
		return nil, errors.New("replay media: the time is required")
	}
	var out []int64
	err := s.update(ctx, func(x *Tx) error {
		var err error
		if len(ids) == 0 {
			out, err = Column[int64](ctx, x.Conn, qReplayAllMedia, tenant, x.D.Time(now))
		} else {
			if err := checkIDsOf(ctx, x, qTenantMedia, "media item", tenant, ids); err != nil {
				return err
			}
			out, err = Column[int64](ctx, x.Conn, qReplayMediaIDs, tenant, x.D.Time(now), x.D.List(ids))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("replay media: %w", err)
	}
	slices.Sort(out)
	return out, nil
}
