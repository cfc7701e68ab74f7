package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// querier is what *pgxpool.Pool and pgx.Tx share, so that a read is
// written once and used both inside and outside transactions.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx implements store.Tx on one transaction.
type tx struct {
	t pgx.Tx
	// outboxWork is set when the transaction stored work for the outbox:
	// WithTx then notifies the listeners.
	outboxWork bool
}

var _ store.Tx = (*tx)(nil)

const contactColumns = `id, tenant, channel, external_id, display_name,
	blocked_inbound, blocked_outbound, created_at, updated_at, platform_status, platform_status_at,
	block_note, block_by, block_at, native_want, native_status, native_error, native_attempts,
	native_next_attempt_at, native_updated_at`

func scanContact(row pgx.Row) (store.Contact, error) {
	var c store.Contact
	var created, updated, statusAt, blockAt, nextAttempt, nativeUpdated pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ExternalID, &c.DisplayName,
		&c.BlockedInbound, &c.BlockedOutbound, &created, &updated, &c.PlatformStatus, &statusAt,
		&c.Block.Note, &c.Block.By, &blockAt, &c.Native.Want, &c.Native.Status, &c.Native.Error, &c.Native.Attempts,
		&nextAttempt, &nativeUpdated)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	c.PlatformStatusAt = fromTS(statusAt)
	c.Block.At = fromTS(blockAt)
	c.Native.NextAttemptAt, c.Native.UpdatedAt = fromTS(nextAttempt), fromTS(nativeUpdated)
	return c, err
}

// UpsertContact returns the contact for key, creating it when new and
// updating its display name (and UpdatedAt) when a different non-empty one
// is given. Its INSERT ... ON CONFLICT DO UPDATE locks the contact's row
// until the transaction ends, even when nothing changes: another
// transaction upserting the same contact waits for this one.
func (x *tx) UpsertContact(ctx context.Context, key store.ContactKey, displayName string, now time.Time) (store.Contact, error) {
	if key.Tenant == "" || key.Channel == "" || key.ExternalID == "" {
		return store.Contact{}, errors.New("upsert contact: tenant, channel and external id are required")
	}
	if now.IsZero() {
		return store.Contact{}, errors.New("upsert contact: the time is required")
	}
	c, err := scanContact(x.t.QueryRow(ctx, `
		INSERT INTO contacts AS ct (tenant, channel, external_id, display_name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT ON CONSTRAINT contacts_key DO UPDATE SET
			display_name = CASE WHEN $4 <> '' THEN $4 ELSE ct.display_name END,
			updated_at   = CASE WHEN $4 <> '' AND $4 <> ct.display_name THEN $5 ELSE ct.updated_at END
		RETURNING `+contactColumns,
		key.Tenant, key.Channel, key.ExternalID, displayName, ts(now)))
	if err != nil {
		return store.Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	return c, nil
}

// SetContactBlock sets the contact's local block. When the block changes
// (a direction, the note or who), Block.At and UpdatedAt become now; both
// directions lifted clear the note, who and when. Setting the block the
// contact has changes nothing. The UPDATE locks the contact's row in any
// case, until the transaction ends.
func (x *tx) SetContactBlock(ctx context.Context, contactID int64, b store.Block, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("set contact %d block: the time is required", contactID)
	}
	note, by, blockAt := b.Note, b.By, nullTS(now)
	if !b.Inbound && !b.Outbound {
		note, by, blockAt = "", "", pgtype.Timestamptz{}
	}
	// The SET expressions read the row as it was.
	tag, err := x.t.Exec(ctx, `
		UPDATE contacts SET blocked_inbound = $2, blocked_outbound = $3, block_note = $4, block_by = $5,
			block_at   = CASE WHEN `+blockChanged+` THEN $6 ELSE block_at END,
			updated_at = CASE WHEN `+blockChanged+` THEN $7 ELSE updated_at END
		WHERE id = $1`,
		contactID, b.Inbound, b.Outbound, note, by, blockAt, ts(now))
	if err != nil {
		return fmt.Errorf("set contact %d block: %w", contactID, err)
	}
	return mustAffect(tag, fmt.Sprintf("set contact %d block", contactID))
}

// blockChanged tells, in SetContactBlock, whether the block given ($2 to
// $5) differs from the stored one.
const blockChanged = `(blocked_inbound, blocked_outbound, block_note, block_by)
	IS DISTINCT FROM ($2::boolean, $3::boolean, $4::text, $5::text)`

// SetContactPlatformStatus records what the platform said about the
// contact, as of at, unless the contact holds a status as of a later time.
// On a tie the status given wins; the status and time already stored
// change nothing. It reports whether the contact changed. The UPDATE locks
// the contact's row: of two transactions recording a status for one
// contact, the second waits and then compares with what the first
// committed.
func (x *tx) SetContactPlatformStatus(ctx context.Context, contactID int64, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set contact %d platform status: the status is required", contactID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set contact %d platform status: the time is required", contactID)
	}
	tag, err := x.t.Exec(ctx, `
		UPDATE contacts SET platform_status = $2, platform_status_at = $3
		WHERE id = $1
		  AND (platform_status_at IS NULL OR platform_status_at <= $3)
		  AND (platform_status, platform_status_at) IS DISTINCT FROM ($2::text, $3::timestamptz)`,
		contactID, status, ts(at))
	if err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	if tag.RowsAffected() > 0 {
		return true, nil
	}
	// Nothing changed: the stored status is newer or the same, or there is
	// no such contact.
	var exists bool
	err = x.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = $1)`, contactID).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	if !exists {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, store.ErrNotFound)
	}
	return false, nil
}

// mustAffect returns ErrNotFound, naming what, when tag changed no row.
func mustAffect(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// MessageExists reports whether (tenant, channel, platformID) is stored.
func (x *tx) MessageExists(ctx context.Context, tenant, channel, platformID string) (bool, error) {
	var ok bool
	err := x.t.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM messages WHERE tenant = $1 AND channel = $2 AND platform_id = $3)`,
		tenant, channel, platformID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("message exists: %w", err)
	}
	return ok, nil
}

// conversationColumns reads a conversation from "c" joined with its
// contact as "ct".
const conversationColumns = `c.id, c.tenant, c.channel, c.contact_id, ct.external_id,
	c.state, c.created_at, c.updated_at, c.last_activity_at, c.version, c.synced_version, c.not_before, c.synced_hash`

const conversationSelect = `SELECT ` + conversationColumns + `
	FROM conversations c JOIN contacts ct ON ct.id = c.contact_id `

func scanConversation(row pgx.Row) (store.Conversation, error) {
	var c store.Conversation
	var state int16
	var created, updated, activity, notBefore pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ContactID, &c.ContactExternalID,
		&state, &created, &updated, &activity, &c.Version, &c.SyncedVersion, &notBefore, &c.SyncedHash)
	c.State = statemachine.State(state)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	c.LastActivityAt, c.NotBefore = fromTS(activity), fromTS(notBefore)
	return c, err
}

// oneConversation runs a conversation query expected to return one row.
func oneConversation(ctx context.Context, q querier, query string, args ...any) (store.Conversation, error) {
	c, err := scanConversation(q.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Conversation{}, store.ErrNotFound
	}
	return c, err
}

func getConversation(ctx context.Context, q querier, id int64) (store.Conversation, error) {
	c, err := oneConversation(ctx, q, conversationSelect+`WHERE c.id = $1`, id)
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
	c, err := oneConversation(ctx, x.t, conversationSelect+`WHERE c.contact_id = $1 AND c.state <> $2`,
		contactID, int16(statemachine.Expired))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("live conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// LatestConversation returns the contact's most recent conversation.
func (x *tx) LatestConversation(ctx context.Context, contactID int64) (store.Conversation, error) {
	c, err := oneConversation(ctx, x.t, conversationSelect+`WHERE c.contact_id = $1 ORDER BY c.id DESC LIMIT 1`, contactID)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("latest conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// CreateConversation stores c with Version 1 and SyncedVersion 0 and its
// "created" history entry. CreatedAt is required; Tenant and Channel are
// the contact's (a different non-empty value is an error); UpdatedAt and
// LastActivityAt default to CreatedAt. A second live conversation for the
// contact is refused with ErrConflict, and the transaction stays usable.
func (x *tx) CreateConversation(ctx context.Context, c store.Conversation, actor, reason string) (store.Conversation, error) {
	if c.CreatedAt.IsZero() {
		return store.Conversation{}, errors.New("create conversation: CreatedAt is required")
	}
	if !c.State.Valid() {
		return store.Conversation{}, fmt.Errorf("create conversation in %v: %w", c.State, statemachine.ErrInvalidState)
	}
	var tenant, channel string
	err := x.t.QueryRow(ctx, `SELECT tenant, channel FROM contacts WHERE id = $1`, c.ContactID).Scan(&tenant, &channel)
	if errors.Is(err, pgx.ErrNoRows) {
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
	// ON CONFLICT DO NOTHING on the one-live-conversation index turns a
	// second live conversation into no row (rather than an error, which
	// would abort the transaction). The history entry is written by the
	// same statement, only when the conversation is.
	created, err := oneConversation(ctx, x.t, `
		WITH c AS (
			INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
				not_before, created_at, updated_at, last_activity_at)
			VALUES ($1, $2, $3, $4, 1, 0, $5, $6, $7, $8)
			ON CONFLICT (contact_id) WHERE state <> 1 DO NOTHING
			RETURNING *
		), history AS (
			INSERT INTO conversation_transitions (conversation_id, from_state, to_state, event, actor, reason, at)
			SELECT id, $9, state, 'created', $10, $11, created_at FROM c
		)
		SELECT `+conversationColumns+` FROM c JOIN contacts ct ON ct.id = c.contact_id`,
		tenant, channel, c.ContactID, int16(c.State), nullTS(c.NotBefore),
		ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.LastActivityAt),
		int16(store.NoState), actor, reason)
	if errors.Is(err, store.ErrNotFound) {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d has a live conversation: %w",
			c.ContactID, store.ErrConflict)
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	return created, nil
}

// ApplyTransition moves the conversation from t.From to t.To (bumping
// Version and UpdatedAt when they differ) and appends t to its history. A
// conversation not in t.From is left alone and ErrConflict returned; so is
// bringing an EXPIRED conversation back to life beside a live one. Either
// way the transaction stays usable. A change that leaves the conversation's
// Salesforce record behind makes the transaction notify the listeners at
// commit.
func (x *tx) ApplyTransition(ctx context.Context, t store.Transition) (store.Conversation, error) {
	if !t.From.Valid() || !t.To.Valid() {
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v: %w", t.From, t.To, statemachine.ErrInvalidState)
	}
	if t.At.IsZero() {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: the time is required", t.ConversationID)
	}
	// A wrong From matches no row: no error, so the transaction goes on.
	// Only a revival (EXPIRED to live) can break the one-live-conversation
	// index, and a statement error aborts a PostgreSQL transaction: that
	// statement runs under a savepoint, rolled back on error.
	q := querier(x.t)
	var sp pgx.Tx
	if t.From == statemachine.Expired && t.To.Live() {
		var err error
		if sp, err = x.t.Begin(ctx); err != nil {
			return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: savepoint: %w", t.ConversationID, err)
		}
		q = sp
	}
	c, err := oneConversation(ctx, q, `
		WITH c AS (
			UPDATE conversations SET
				state      = $2,
				version    = version + CASE WHEN state <> $2 THEN 1 ELSE 0 END,
				updated_at = CASE WHEN state <> $2 THEN $3 ELSE updated_at END
			WHERE id = $1 AND state = $4
			RETURNING *
		), history AS (
			INSERT INTO conversation_transitions (conversation_id, from_state, to_state, event, actor, reason, at)
			SELECT id, $4, $2, $5, $6, $7, $3 FROM c
		)
		SELECT `+conversationColumns+` FROM c JOIN contacts ct ON ct.id = c.contact_id`,
		t.ConversationID, int16(t.To), ts(t.At), int16(t.From), t.Event, t.Actor, t.Reason)
	if sp != nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			if rerr := sp.Rollback(ctx); rerr != nil {
				return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w (and rolling back to the savepoint: %w)",
					t.ConversationID, err, rerr)
			}
		} else if cerr := sp.Commit(ctx); cerr != nil {
			return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: release savepoint: %w", t.ConversationID, cerr)
		}
	}
	switch {
	case sqlState(err) == codeUniqueViolation:
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: the contact has another live conversation: %w",
			t.ConversationID, store.ErrConflict)
	case errors.Is(err, store.ErrNotFound):
		cur, gerr := getConversation(ctx, x.t, t.ConversationID)
		if gerr != nil {
			return store.Conversation{}, fmt.Errorf("apply transition: %w", gerr)
		}
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v on conversation %d, which is %v: %w",
			t.From, t.To, t.ConversationID, cur.State, store.ErrConflict)
	case err != nil:
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w", t.ConversationID, err)
	}
	if c.SyncedVersion > 0 && c.SyncedVersion < c.Version {
		x.outboxWork = true // the Salesforce record is to be brought up to date
	}
	return c, nil
}

// TouchConversation sets the conversation's LastActivityAt.
func (x *tx) TouchConversation(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("touch conversation %d: the time is required", id)
	}
	tag, err := x.t.Exec(ctx, `UPDATE conversations SET last_activity_at = $2 WHERE id = $1`, id, ts(at))
	if err != nil {
		return fmt.Errorf("touch conversation %d: %w", id, err)
	}
	return mustAffect(tag, fmt.Sprintf("touch conversation %d", id))
}

const messageColumns = `id, tenant, channel, conversation_id, contact_id, platform_id, direction,
	kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
	push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
	delivery_status, delivery_status_at, sent_id, send_attempts, send_error`

func scanMessage(row pgx.Row) (store.Message, error) {
	var m store.Message
	var direction, status string
	var state int16
	var sent, received, pushed, delivered pgtype.Timestamptz
	err := row.Scan(&m.ID, &m.Tenant, &m.Channel, &m.ConversationID, &m.ContactID, &m.PlatformID, &direction,
		&m.Kind, &m.Body, &m.MediaURL, &m.MediaType, &m.ReplyTo, &m.Sender, &sent, &received, &state,
		&status, &m.PushReason, &m.Attempts, &m.LastError, &pushed, &m.SalesforceID,
		&m.DeliveryStatus, &delivered, &m.SentID, &m.SendAttempts, &m.SendError)
	m.Direction, m.PushStatus = store.Direction(direction), store.PushStatus(status)
	m.StateAtReceipt = statemachine.State(state)
	m.SentAt, m.ReceivedAt, m.PushedAt = fromTS(sent), fromTS(received), fromTS(pushed)
	m.DeliveryStatusAt = fromTS(delivered)
	return m, err
}

// listMessages runs a message query returning many rows.
func listMessages(ctx context.Context, q querier, query string, args ...any) ([]store.Message, error) {
	rows, err := q.Query(ctx, query, args...)
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
// when (Tenant, Channel, PlatformID) exists already. Tenant, Channel,
// PlatformID and ReceivedAt are required. When another transaction is
// storing the same message, the insert waits for it to end: then it either
// finds that message (committed) or stores m (rolled back). A pending
// message stored lowers its conversation's pending_since to its
// ReceivedAt if need be (locking the conversation's row until the
// transaction ends, even when it does not change it, so that a settlement
// recomputing pending_since at the same time does not miss it), and makes
// the transaction notify the listeners at commit.
func (x *tx) InsertMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	if m.Tenant == "" || m.Channel == "" || m.PlatformID == "" {
		return store.Message{}, false, errors.New("insert message: tenant, channel and platform id are required")
	}
	if m.ReceivedAt.IsZero() {
		return store.Message{}, false, fmt.Errorf("insert message %s: ReceivedAt is required", m.PlatformID)
	}
	stored, err := scanMessage(x.t.QueryRow(ctx, `
		WITH m AS (
			INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
				kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
				push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
				delivery_status, delivery_status_at, sent_id, send_attempts, send_error, send_after)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
				$22, $23, $24, $25, $26, $27)
			ON CONFLICT ON CONSTRAINT messages_platform_key DO NOTHING
			RETURNING `+messageColumns+`
		), outbox AS (
			UPDATE conversations c SET pending_since = LEAST(c.pending_since, m.received_at)
			FROM m WHERE c.id = m.conversation_id AND m.push_status = 'pending'
		)
		SELECT `+messageColumns+` FROM m`,
		m.Tenant, m.Channel, m.ConversationID, m.ContactID, m.PlatformID, string(m.Direction),
		m.Kind, m.Body, m.MediaURL, m.MediaType, m.ReplyTo, m.Sender, nullTS(m.SentAt), ts(m.ReceivedAt),
		int16(m.StateAtReceipt), string(m.PushStatus), m.PushReason, m.Attempts, m.LastError,
		nullTS(m.PushedAt), m.SalesforceID, m.DeliveryStatus, nullTS(m.DeliveryStatusAt),
		m.SentID, m.SendAttempts, m.SendError, sendAfter(m)))
	if err == nil {
		if stored.PushStatus == store.Pending {
			x.outboxWork = true
		}
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Message{}, false, fmt.Errorf("insert message %s: %w", m.PlatformID, err)
	}
	// Stored already: this statement's snapshot, taken after the insert
	// waited for the other transaction, sees the stored message.
	stored, err = scanMessage(x.t.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE tenant = $1 AND channel = $2 AND platform_id = $3`, m.Tenant, m.Channel, m.PlatformID))
	if err != nil {
		return store.Message{}, false, fmt.Errorf("insert message %s: read the stored one: %w", m.PlatformID, err)
	}
	return stored, false, nil
}

// sendAfter is when a message to send is first due: when it was stored.
func sendAfter(m store.Message) pgtype.Timestamptz {
	if m.DeliveryStatus != store.DeliverySending {
		return pgtype.Timestamptz{}
	}
	if !m.SendAfter.IsZero() {
		return nullTS(m.SendAfter)
	}
	return nullTS(m.ReceivedAt)
}
