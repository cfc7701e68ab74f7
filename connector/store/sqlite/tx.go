package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// querier is what *sql.DB and *sql.Tx share, so that a read is written once
// and used both inside and outside transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements store.Tx on one write transaction, its statements
// prepared once (stmtCache).
type tx struct{ t cachedTx }

var _ store.Tx = (*tx)(nil)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

const contactColumns = `id, tenant, channel, external_id, display_name,
	blocked_inbound, blocked_outbound, created_at, updated_at, platform_status, platform_status_at,
	block_note, block_by, block_at, native_want, native_status, native_error, native_attempts,
	native_next_attempt_at, native_updated_at`

func scanContact(sc scanner) (store.Contact, error) {
	var c store.Contact
	var created, updated, statusAt, blockAt, nextAttempt, nativeUpdated int64
	err := sc.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ExternalID, &c.DisplayName,
		&c.BlockedInbound, &c.BlockedOutbound, &created, &updated, &c.PlatformStatus, &statusAt,
		&c.Block.Note, &c.Block.By, &blockAt, &c.Native.Want, &c.Native.Status, &c.Native.Error, &c.Native.Attempts,
		&nextAttempt, &nativeUpdated)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.PlatformStatusAt = fromMicros(statusAt)
	c.Block.At = fromMicros(blockAt)
	c.Native.NextAttemptAt, c.Native.UpdatedAt = fromMicros(nextAttempt), fromMicros(nativeUpdated)
	return c, err
}

// UpsertContact returns the contact for key, creating it when new and
// updating its display name when a different non-empty one is given.
func (x *tx) UpsertContact(ctx context.Context, key store.ContactKey, displayName string, now time.Time) (store.Contact, error) {
	if key.Tenant == "" || key.Channel == "" || key.ExternalID == "" {
		return store.Contact{}, fmt.Errorf("upsert contact: tenant, channel and external id are required")
	}
	row := x.t.QueryRowContext(ctx, `
		INSERT INTO contacts (tenant, channel, external_id, display_name, created_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?5)
		ON CONFLICT (tenant, channel, external_id) DO UPDATE SET
			display_name = CASE WHEN ?4 <> '' THEN ?4 ELSE display_name END,
			updated_at   = CASE WHEN ?4 <> '' AND ?4 <> display_name THEN ?5 ELSE updated_at END
		RETURNING `+contactColumns,
		key.Tenant, key.Channel, key.ExternalID, displayName, micros(now))
	c, err := scanContact(row)
	if err != nil {
		return store.Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	return c, nil
}

// SetContactBlock sets the contact's local block. When the block changes
// (a direction, the note or who), Block.At and UpdatedAt become now; both
// directions lifted clear the note, who and when. Setting the block the
// contact has changes nothing.
func (x *tx) SetContactBlock(ctx context.Context, contactID int64, b store.Block, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("set contact %d block: the time is required", contactID)
	}
	note, by, blockAt := b.Note, b.By, micros(now)
	if !b.Inbound && !b.Outbound {
		note, by, blockAt = "", "", 0
	}
	// The SET expressions read the row as it was.
	res, err := x.t.ExecContext(ctx, `
		UPDATE contacts SET blocked_inbound = ?2, blocked_outbound = ?3, block_note = ?4, block_by = ?5,
			block_at   = CASE WHEN `+blockChanged+` THEN ?6 ELSE block_at END,
			updated_at = CASE WHEN `+blockChanged+` THEN ?7 ELSE updated_at END
		WHERE id = ?1`,
		contactID, b.Inbound, b.Outbound, note, by, blockAt, micros(now))
	if err != nil {
		return fmt.Errorf("set contact %d block: %w", contactID, err)
	}
	return mustAffect(res, fmt.Sprintf("set contact %d block", contactID))
}

// blockChanged tells, in SetContactBlock, whether the block given (?2 to
// ?5) differs from the stored one.
const blockChanged = `NOT (blocked_inbound = ?2 AND blocked_outbound = ?3 AND block_note = ?4 AND block_by = ?5)`

// SetContactPlatformStatus records what the platform said about the
// contact, as of at, unless the contact holds a status as of a later time.
// On a tie the status given wins; the status and time already stored
// change nothing. It reports whether the contact changed.
func (x *tx) SetContactPlatformStatus(ctx context.Context, contactID int64, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set contact %d platform status: the status is required", contactID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set contact %d platform status: the time is required", contactID)
	}
	// A contact with no status has platform_status_at 0, which is not
	// "before" a time ahead of 1970: test the status itself.
	res, err := x.t.ExecContext(ctx, `
		UPDATE contacts SET platform_status = ?2, platform_status_at = ?3
		WHERE id = ?1
		  AND (platform_status = '' OR platform_status_at <= ?3)
		  AND NOT (platform_status = ?2 AND platform_status_at = ?3)`,
		contactID, status, micros(at))
	if err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	if n > 0 {
		return true, nil
	}
	// Nothing changed: the stored status is newer or the same, or there is
	// no such contact.
	var exists bool
	err = x.t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = ?)`, contactID).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	if !exists {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, store.ErrNotFound)
	}
	return false, nil
}

// mustAffect returns ErrNotFound, naming what, when res changed no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// MessageExists reports whether (tenant, channel, platformID) is stored.
func (x *tx) MessageExists(ctx context.Context, tenant, channel, platformID string) (bool, error) {
	var ok bool
	err := x.t.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM messages WHERE tenant = ? AND channel = ? AND platform_id = ?)`,
		tenant, channel, platformID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("message exists: %w", err)
	}
	return ok, nil
}

const conversationSelect = `SELECT c.id, c.tenant, c.channel, c.contact_id, ct.external_id,
	c.state, c.created_at, c.updated_at, c.last_activity_at, c.version, c.synced_version, c.not_before, c.synced_hash
	FROM conversations c JOIN contacts ct ON ct.id = c.contact_id `

func scanConversation(sc scanner) (store.Conversation, error) {
	var c store.Conversation
	var state, created, updated, activity, notBefore int64
	err := sc.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ContactID, &c.ContactExternalID,
		&state, &created, &updated, &activity, &c.Version, &c.SyncedVersion, &notBefore, &c.SyncedHash)
	c.State = statemachine.State(state)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.LastActivityAt, c.NotBefore = fromMicros(activity), fromMicros(notBefore)
	return c, err
}

// oneConversation runs a conversation query expected to return one row.
func oneConversation(ctx context.Context, q querier, where string, args ...any) (store.Conversation, error) {
	c, err := scanConversation(q.QueryRowContext(ctx, conversationSelect+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Conversation{}, store.ErrNotFound
	}
	return c, err
}

func getConversation(ctx context.Context, q querier, id int64) (store.Conversation, error) {
	c, err := oneConversation(ctx, q, `WHERE c.id = ?`, id)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("get conversation %d: %w", id, err)
	}
	return c, nil
}

// GetConversation returns one conversation, or ErrNotFound.
func (x *tx) GetConversation(ctx context.Context, id int64) (store.Conversation, error) {
	return getConversation(ctx, x.t, id)
}

// LiveConversation returns the contact's non-EXPIRED conversation.
func (x *tx) LiveConversation(ctx context.Context, contactID int64) (store.Conversation, error) {
	c, err := oneConversation(ctx, x.t, `WHERE c.contact_id = ? AND c.state <> ?`,
		contactID, int64(statemachine.Expired))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("live conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// LatestConversation returns the contact's most recent conversation.
func (x *tx) LatestConversation(ctx context.Context, contactID int64) (store.Conversation, error) {
	c, err := oneConversation(ctx, x.t, `WHERE c.contact_id = ? ORDER BY c.id DESC LIMIT 1`, contactID)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("latest conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// CreateConversation stores c with Version 1 and SyncedVersion 0 and its
// "created" history entry. Tenant and Channel are the contact's (a
// different non-empty value is an error); UpdatedAt and LastActivityAt
// default to CreatedAt. A second live conversation for the contact is
// refused with ErrConflict.
func (x *tx) CreateConversation(ctx context.Context, c store.Conversation, actor, reason string) (store.Conversation, error) {
	if c.CreatedAt.IsZero() {
		return store.Conversation{}, fmt.Errorf("create conversation: CreatedAt is required")
	}
	var tenant, channel string
	err := x.t.QueryRowContext(ctx, `SELECT tenant, channel FROM contacts WHERE id = ?`, c.ContactID).
		Scan(&tenant, &channel)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d: %w", c.ContactID, err)
	}
	if (c.Tenant != "" && c.Tenant != tenant) || (c.Channel != "" && c.Channel != channel) {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d is on %s/%s, not %s/%s",
			c.ContactID, tenant, channel, c.Tenant, c.Channel)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.LastActivityAt.IsZero() {
		c.LastActivityAt = c.CreatedAt
	}
	var id int64
	err = x.t.QueryRowContext(ctx, `
		INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
			not_before, created_at, updated_at, last_activity_at)
		VALUES (?, ?, ?, ?, 1, 0, ?, ?, ?, ?)
		RETURNING id`,
		tenant, channel, c.ContactID, int64(c.State), micros(c.NotBefore),
		micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.LastActivityAt)).Scan(&id)
	if isUniqueViolation(err) {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d has a live conversation: %w",
			c.ContactID, store.ErrConflict)
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	err = insertTransition(ctx, x.t, store.Transition{
		ConversationID: id, From: store.NoState, To: c.State,
		Event: "created", Actor: actor, Reason: reason, At: c.CreatedAt,
	})
	if err != nil {
		return store.Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	return getConversation(ctx, x.t, id)
}

func insertTransition(ctx context.Context, q querier, t store.Transition) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO conversation_transitions (conversation_id, from_state, to_state, event, actor, reason, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ConversationID, int64(t.From), int64(t.To), t.Event, t.Actor, t.Reason, micros(t.At))
	if err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	return nil
}

// ApplyTransition moves the conversation from t.From to t.To (bumping
// Version and UpdatedAt when they differ) and appends t to its history.
func (x *tx) ApplyTransition(ctx context.Context, t store.Transition) (store.Conversation, error) {
	if !t.From.Valid() || !t.To.Valid() {
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v: %w", t.From, t.To, statemachine.ErrInvalidState)
	}
	res, err := x.t.ExecContext(ctx, `
		UPDATE conversations SET
			state      = ?2,
			version    = version + (?2 <> state),
			updated_at = CASE WHEN ?2 <> state THEN ?3 ELSE updated_at END
		WHERE id = ?1 AND state = ?4`,
		t.ConversationID, int64(t.To), micros(t.At), int64(t.From))
	if isUniqueViolation(err) {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: the contact has another live conversation: %w",
			t.ConversationID, store.ErrConflict)
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w", t.ConversationID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w", t.ConversationID, err)
	} else if n == 0 {
		c, err := getConversation(ctx, x.t, t.ConversationID)
		if err != nil {
			return store.Conversation{}, fmt.Errorf("apply transition: %w", err)
		}
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v on conversation %d, which is %v: %w",
			t.From, t.To, t.ConversationID, c.State, store.ErrConflict)
	}
	if err := insertTransition(ctx, x.t, t); err != nil {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w", t.ConversationID, err)
	}
	return getConversation(ctx, x.t, t.ConversationID)
}

// TouchConversation sets the conversation's LastActivityAt.
func (x *tx) TouchConversation(ctx context.Context, id int64, at time.Time) error {
	res, err := x.t.ExecContext(ctx, `UPDATE conversations SET last_activity_at = ? WHERE id = ?`, micros(at), id)
	if err != nil {
		return fmt.Errorf("touch conversation %d: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("touch conversation %d", id))
}

const messageColumns = `id, tenant, channel, conversation_id, contact_id, platform_id, direction,
	kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
	push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
	delivery_status, delivery_status_at, sent_id, send_attempts, send_error`

func scanMessage(sc scanner) (store.Message, error) {
	var m store.Message
	var direction, status string
	var state, sent, received, pushed, delivered int64
	err := sc.Scan(&m.ID, &m.Tenant, &m.Channel, &m.ConversationID, &m.ContactID, &m.PlatformID, &direction,
		&m.Kind, &m.Body, &m.MediaURL, &m.MediaType, &m.ReplyTo, &m.Sender, &sent, &received, &state,
		&status, &m.PushReason, &m.Attempts, &m.LastError, &pushed, &m.SalesforceID,
		&m.DeliveryStatus, &delivered, &m.SentID, &m.SendAttempts, &m.SendError)
	m.Direction, m.PushStatus = store.Direction(direction), store.PushStatus(status)
	m.StateAtReceipt = statemachine.State(state)
	m.SentAt, m.ReceivedAt, m.PushedAt = fromMicros(sent), fromMicros(received), fromMicros(pushed)
	m.DeliveryStatusAt = fromMicros(delivered)
	return m, err
}

// listMessages runs a message query returning many rows.
func listMessages(ctx context.Context, q querier, query string, args ...any) ([]store.Message, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// InsertMessage stores m, or returns the stored message with inserted false
// when (Tenant, Channel, PlatformID) exists already. A pending message
// stored lowers its conversation's pending_since to its ReceivedAt if need
// be.
func (x *tx) InsertMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	if m.Tenant == "" || m.Channel == "" || m.PlatformID == "" {
		return store.Message{}, false, fmt.Errorf("insert message: tenant, channel and platform id are required")
	}
	var id int64
	err := x.t.QueryRowContext(ctx, `
		INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
			kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
			push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
			delivery_status, delivery_status_at, sent_id, send_attempts, send_error, send_after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, channel, platform_id) DO NOTHING
		RETURNING id`,
		m.Tenant, m.Channel, m.ConversationID, m.ContactID, m.PlatformID, string(m.Direction),
		m.Kind, m.Body, m.MediaURL, m.MediaType, m.ReplyTo, m.Sender, micros(m.SentAt), micros(m.ReceivedAt),
		int64(m.StateAtReceipt), string(m.PushStatus), m.PushReason, m.Attempts, m.LastError,
		micros(m.PushedAt), m.SalesforceID, m.DeliveryStatus, micros(m.DeliveryStatusAt),
		m.SentID, m.SendAttempts, m.SendError, sendAfter(m)).Scan(&id)
	inserted := true
	if errors.Is(err, sql.ErrNoRows) {
		inserted = false
	} else if err != nil {
		return store.Message{}, false, fmt.Errorf("insert message: %w", err)
	}
	var stored store.Message
	if inserted {
		// What was written is m with its id, its times as stored.
		stored, err = m, nil
		stored.ID = id
		stored.SentAt, stored.ReceivedAt = fromMicros(micros(m.SentAt)), fromMicros(micros(m.ReceivedAt))
		stored.PushedAt, stored.DeliveryStatusAt = fromMicros(micros(m.PushedAt)), fromMicros(micros(m.DeliveryStatusAt))
		stored.SendAfter = time.Time{} // not read back
	} else {
		stored, err = scanMessage(x.t.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
			WHERE tenant = ? AND channel = ? AND platform_id = ?`, m.Tenant, m.Channel, m.PlatformID))
	}
	if err != nil {
		return store.Message{}, false, fmt.Errorf("insert message: read back: %w", err)
	}
	if inserted && stored.PushStatus == store.Pending {
		_, err = x.t.ExecContext(ctx, `
			UPDATE conversations SET pending_since = ?2
			WHERE id = ?1 AND (pending_since IS NULL OR pending_since > ?2)`,
			stored.ConversationID, micros(stored.ReceivedAt))
		if err != nil {
			return store.Message{}, false, fmt.Errorf("insert message: record the outbox's oldest message: %w", err)
		}
	}
	return stored, inserted, nil
}

// sendAfter is when a message to send is first due: when it was stored.
func sendAfter(m store.Message) int64 {
	if m.DeliveryStatus != store.DeliverySending {
		return 0
	}
	if !m.SendAfter.IsZero() {
		return micros(m.SendAfter)
	}
	return micros(m.ReceivedAt)
}
