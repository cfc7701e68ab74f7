package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// MessageColumns are a message's columns, for ScanMessage.
const MessageColumns = `id, tenant, channel, conversation_id, contact_id, platform_id, direction,
	kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
	push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
	delivery_status, delivery_status_at, sent_id, send_attempts, send_error`

// ScanMessage scans a row of MessageColumns.
func ScanMessage(sc Scanner) (store.Message, error) {
	var m store.Message
	var direction, status string
	var state int64
	err := sc.Scan(&m.ID, &m.Tenant, &m.Channel, &m.ConversationID, &m.ContactID, &m.PlatformID, &direction,
		&m.Kind, &m.Body, &m.MediaURL, &m.MediaType, &m.ReplyTo, &m.Sender, T(&m.SentAt), T(&m.ReceivedAt), &state,
		&status, &m.PushReason, &m.Attempts, &m.LastError, T(&m.PushedAt), &m.SalesforceID,
		&m.DeliveryStatus, T(&m.DeliveryStatusAt), &m.SentID, &m.SendAttempts, &m.SendError)
	m.Direction, m.PushStatus = store.Direction(direction), store.PushStatus(status)
	m.StateAtReceipt = statemachine.State(state)
	return m, err
}

// PendingColumns are what a push reads of a pending message (see
// store.Work), for ScanPending: on SQLite every column of a result costs
// the driver at every run, and a claim reads up to a thousand messages.
const PendingColumns = `id, tenant, channel, conversation_id, platform_id, direction, kind, body,
	media_url, media_type, sender, sent_at, state_at_receipt, attempts, delivery_status, send_error`

// ScanPending scans a row of PendingColumns, a pending message.
func ScanPending(sc Scanner) (store.Message, error) {
	var m store.Message
	var direction string
	var state int64
	err := sc.Scan(&m.ID, &m.Tenant, &m.Channel, &m.ConversationID, &m.PlatformID, &direction, &m.Kind, &m.Body,
		&m.MediaURL, &m.MediaType, &m.Sender, T(&m.SentAt), &state, &m.Attempts, &m.DeliveryStatus, &m.SendError)
	m.Direction, m.PushStatus = store.Direction(direction), store.Pending
	m.StateAtReceipt = statemachine.State(state)
	return m, err
}

var qMessageExists = Q(`SELECT EXISTS (SELECT 1 FROM messages WHERE tenant = $1 AND channel = $2 AND platform_id = $3)`)

// MessageExists reports whether (tenant, channel, platformID) is stored.
func (x *Tx) MessageExists(ctx context.Context, tenant, channel, platformID string) (bool, error) {
	var ok bool
	if err := x.Row(ctx, qMessageExists, tenant, channel, platformID).Scan(&ok); err != nil {
		return false, fmt.Errorf("message exists: %w", err)
	}
	return ok, nil
}

const insertMessage = `
	INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
		kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
		push_status, push_reason, attempts, last_error, pushed_at, salesforce_id,
		delivery_status, delivery_status_at, sent_id, send_attempts, send_error, send_after)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
		$22, $23, $24, $25, $26, $27)
	ON CONFLICT (tenant, channel, platform_id) DO NOTHING
	RETURNING `

// insertNewMessage is insertMessage of its first 17 columns: a message
// whose later ones (attempts, errors, pushes, deliveries, sends) have
// their defaults, as an inbound message has (see fresh).
const insertNewMessage = `
	INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
		kind, body, media_url, media_type, reply_to, sender, sent_at, received_at, state_at_receipt,
		push_status, push_reason)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (tenant, channel, platform_id) DO NOTHING`

// freshColumns is how many of insertMessage's arguments insertNewMessage
// takes.
const freshColumns = 17

var (
	// qInsertMessage is SQLite's: it stores what it is given, and a plain
	// insert (its id from LastInsertId) skips reading a result row.
	qInsertMessage = Q(strings.TrimSuffix(insertMessage, "RETURNING "))
	// qInsertNewMessage is qInsertMessage for a fresh message: on SQLite
	// every argument costs the driver at every run, and ten of them are
	// the columns' defaults.
	qInsertNewMessage = Q(insertNewMessage)
	// qInsertMessagePG returns the message as stored (PostgreSQL's strings
	// are cleaned on their way, see Dialect.Args) and, in the same
	// statement, lowers the conversation's pending_since for a pending
	// message, as qLowerPendingSince does.
	qInsertMessagePG = Q(`WITH m AS (` + insertMessage + MessageColumns + `
		), outbox AS (
			UPDATE conversations c SET pending_since = LEAST(c.pending_since, m.received_at)
			FROM m WHERE c.id = m.conversation_id AND m.push_status = 'pending'
		)
		SELECT ` + MessageColumns + ` FROM m`)
	// qAddMessagePG is AddMessage on PostgreSQL in one statement: the
	// message as qInsertMessagePG stores it, and, when it is inserted, its
	// conversation's activity set to its received_at (and pending_since
	// lowered for a pending message). The last column counts the
	// conversations written (1).
	qAddMessagePG = Q(`WITH m AS (` + insertMessage + MessageColumns + `
		), conv AS (
			UPDATE conversations c SET
				pending_since = CASE WHEN m.push_status = 'pending' THEN LEAST(c.pending_since, m.received_at)
					ELSE c.pending_since END,
				last_activity_at = m.received_at
			FROM m WHERE c.id = m.conversation_id
			RETURNING c.id
		)
		SELECT ` + MessageColumns + `, (SELECT count(*) FROM conv) FROM m`)
	qMessageByKey = Q(`SELECT ` + MessageColumns + ` FROM messages WHERE tenant = $1 AND channel = $2 AND platform_id = $3`)
	// qLowerPendingSince lowers the conversation's pending_since to $2 if
	// need be. It writes the row in any case: on PostgreSQL the row stays
	// locked until the transaction ends, so that a settlement recomputing
	// pending_since at the same moment waits for the message's transaction
	// and counts the message.
	qLowerPendingSince = Q(`
		UPDATE conversations SET pending_since = CASE WHEN pending_since IS NULL OR pending_since > $2
			THEN $2 ELSE pending_since END
		WHERE id = $1`)
	// qMarkConversation (SQLite) lowers the conversation's pending_since
	// to $2 if need be, and sets its last_activity_at to $3; a NULL leaves
	// either as it is.
	qMarkConversation = Q(`
		UPDATE conversations SET
			pending_since = CASE WHEN $2 IS NOT NULL AND (pending_since IS NULL OR pending_since > $2)
				THEN $2 ELSE pending_since END,
			last_activity_at = COALESCE($3, last_activity_at)
		WHERE id = $1`)
)

// InsertMessage stores m, or returns the stored message with inserted false
// when (Tenant, Channel, PlatformID) exists already. Tenant, Channel,
// PlatformID and ReceivedAt are required. On PostgreSQL, when another
// transaction is storing the same message, the insert waits for it to end:
// then it either finds that message (committed) or stores m (rolled back).
// A pending message stored lowers its conversation's pending_since to its
// ReceivedAt if need be, and is outbox work.
func (x *Tx) InsertMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	return x.insertMessage(ctx, m, false)
}

// AddMessage is InsertMessage, then, when m is inserted, TouchConversation
// at m.ReceivedAt. On SQLite the conversation's outbox mark and its
// activity are one statement; on PostgreSQL the insert is that statement
// too.
func (x *Tx) AddMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	return x.insertMessage(ctx, m, true)
}

// insertMessage inserts m; touch also sets its conversation's
// LastActivityAt to m.ReceivedAt when m is inserted.
func (x *Tx) insertMessage(ctx context.Context, m store.Message, touch bool) (store.Message, bool, error) {
	if m.Tenant == "" || m.Channel == "" || m.PlatformID == "" {
		return store.Message{}, false, errors.New("insert message: tenant, channel and platform id are required")
	}
	if m.ReceivedAt.IsZero() {
		return store.Message{}, false, fmt.Errorf("insert message %s: ReceivedAt is required", m.PlatformID)
	}
	d := x.D
	args := []any{m.Tenant, m.Channel, m.ConversationID, m.ContactID, m.PlatformID, string(m.Direction),
		m.Kind, m.Body, m.MediaURL, m.MediaType, m.ReplyTo, m.Sender, d.Time(m.SentAt), d.Time(m.ReceivedAt),
		int64(m.StateAtReceipt), string(m.PushStatus), m.PushReason, m.Attempts, m.LastError,
		d.Time(m.PushedAt), m.SalesforceID, m.DeliveryStatus, d.Time(m.DeliveryStatusAt),
		m.SentID, m.SendAttempts, m.SendError, d.Time(sendAfter(m))}
	var stored store.Message
	var err error
	if d.Style == SQLite {
		// What was written is m with its id, its times as stored.
		stored = m
		stored.SentAt, stored.ReceivedAt, stored.PushedAt = AsTime(m.SentAt), AsTime(m.ReceivedAt), AsTime(m.PushedAt)
		stored.DeliveryStatusAt, stored.SendAfter = AsTime(m.DeliveryStatusAt), time.Time{} // SendAfter is not read back
		q := qInsertMessage
		if fresh(m) {
			q, args = qInsertNewMessage, args[:freshColumns]
		}
		err = insertReturningID(ctx, x.Conn, q, &stored.ID, args)
	} else if touch {
		var touched int64
		stored, err = ScanMessage(extraColumns{x.Row(ctx, qAddMessagePG, args...), []any{&touched}})
		if err == nil && touched != 1 {
			err = fmt.Errorf("touch conversation %d: %w", stored.ConversationID, store.ErrNotFound)
		}
	} else {
		stored, err = ScanMessage(x.Row(ctx, qInsertMessagePG, args...))
	}
	if errors.Is(err, sql.ErrNoRows) {
		// Stored already: on PostgreSQL this statement's snapshot, taken
		// after the insert waited for the other transaction, sees it.
		stored, err = ScanMessage(x.Row(ctx, qMessageByKey, m.Tenant, m.Channel, m.PlatformID))
		if err != nil {
			return store.Message{}, false, fmt.Errorf("insert message %s: read the stored one: %w", m.PlatformID, err)
		}
		return stored, false, nil
	}
	if err != nil {
		return store.Message{}, false, fmt.Errorf("insert message %s: %w", m.PlatformID, err)
	}
	if d.Style == SQLite && (stored.PushStatus == store.Pending || touch) {
		var pendingSince, activity any // NULL: unchanged
		if stored.PushStatus == store.Pending {
			pendingSince = d.Time(stored.ReceivedAt)
		}
		if touch {
			activity = d.Time(stored.ReceivedAt)
		}
		what := fmt.Sprintf("insert message %s: record its conversation's outbox and activity", m.PlatformID)
		if err := x.MustAffect(ctx, what, qMarkConversation, stored.ConversationID, pendingSince, activity); err != nil {
			return store.Message{}, false, err
		}
	}
	x.OutboxWork = x.OutboxWork || stored.PushStatus == store.Pending
	return stored, true, nil
}

// extraColumns scans a row of more columns than its reader asks for: the
// last ones into dest.
type extraColumns struct {
	Scanner
	dest []any
}

func (e extraColumns) Scan(dest ...any) error { return e.Scanner.Scan(append(dest, e.dest...)...) }

// sendAfter is when a message to send is first due: when it was stored,
// unless the sender set it past its own first attempt.
func sendAfter(m store.Message) time.Time {
	switch {
	case m.DeliveryStatus != store.DeliverySending:
		return time.Time{}
	case !m.SendAfter.IsZero():
		return m.SendAfter
	}
	return m.ReceivedAt
}

// repushColumn, in an UPDATE changing an outbound message's status, puts
// a message already pushed back in the outbox: its record is written
// again with the new status. Pending, excluded and dead messages keep
// their push status.
const repushColumn = `push_status = CASE WHEN push_status = 'pushed' THEN 'pending' ELSE push_status END`

// qSetDeliveryStatus records a receipt unless the message holds one as of
// a later time; the same status and time change nothing. A message with no
// status has no time (0, NULL).
var qSetDeliveryStatus = Q(`
	UPDATE messages SET delivery_status = $4, delivery_status_at = $5, ` + repushColumn + `
	WHERE tenant = $1 AND channel = $2 AND (platform_id = $3 OR sent_id = $3) AND direction = 'outbound'
	  AND (delivery_status = '' OR COALESCE(delivery_status_at, $5) <= $5)
	  AND NOT (delivery_status = $4 AND delivery_status_at = $5)
	RETURNING conversation_id, received_at, push_status`)

// SetDeliveryStatus records a receipt on an outbound message, as of at,
// unless the message holds one as of a later time. On a tie the status
// given wins; the status and time already stored change nothing. An empty
// status or a zero at is an error. On PostgreSQL the UPDATE locks the
// message's row: of two receipts for one message, the second waits and
// then compares with what the first committed.
func (x *Tx) SetDeliveryStatus(ctx context.Context, tenant, channel, platformID, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set delivery status of message %s: the status is required", platformID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set delivery status of message %s: the time is required", platformID)
	}
	changed, err := x.repush(ctx, qSetDeliveryStatus, tenant, channel, platformID, status, x.D.Time(at))
	if err != nil {
		return false, fmt.Errorf("set delivery status of message %s: %w", platformID, err)
	}
	return changed, nil
}

// repush runs q, an UPDATE of messages' statuses setting repushColumn and
// returning their conversation_id, received_at and push_status, and lowers
// the pending_since of the conversations of the messages it made pending
// (outbox work). It reports whether q changed a message.
func (x *Tx) repush(ctx context.Context, q *Query, args ...any) (bool, error) {
	changed, err := List(ctx, x.Conn, func(sc Scanner) (store.Message, error) {
		var m store.Message
		var status string
		err := sc.Scan(&m.ConversationID, T(&m.ReceivedAt), &status)
		m.PushStatus = store.PushStatus(status)
		return m, err
	}, q, args...)
	if err != nil {
		return false, err
	}
	for _, m := range changed {
		if m.PushStatus != store.Pending {
			continue
		}
		if _, err := x.Exec(ctx, qLowerPendingSince, m.ConversationID, x.D.Time(m.ReceivedAt)); err != nil {
			return false, fmt.Errorf("record the outbox's oldest message: %w", err)
		}
		x.OutboxWork = true
	}
	return len(changed) > 0, nil
}

// qClaimSends leases the messages to send; PostgreSQL skips the rows
// another replica's claim holds.
var qClaimSends = Q(`
	UPDATE messages SET send_after = $2
	WHERE id IN (SELECT id FROM messages WHERE delivery_status = 'sending' AND send_after <= $1
		ORDER BY send_after, id LIMIT $3{| FOR UPDATE SKIP LOCKED})
	RETURNING ` + MessageColumns)

// ClaimSends leases the outbound messages due to be sent (store.Tx).
func (x *Tx) ClaimSends(ctx context.Context, now, until time.Time, limit int) ([]store.Message, error) {
	out, err := List(ctx, x.Conn, ScanMessage, qClaimSends, x.D.Time(now), x.D.Time(until), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages to send: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Message) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

const settledSend = ` WHERE id = $1 AND delivery_status = 'sending' RETURNING conversation_id, received_at, push_status`

var (
	qSendSent = Q(`UPDATE messages SET delivery_status = 'sent', delivery_status_at = $2, sent_id = $3, ` + repushColumn + `,
		send_attempts = send_attempts + 1, send_error = '', send_after = $4` + settledSend)
	qSendRetry = Q(`UPDATE messages SET send_attempts = send_attempts + 1, send_error = $2, send_after = $3` + settledSend)
	qSendFail  = Q(`UPDATE messages SET delivery_status = 'failed', delivery_status_at = $2, ` + repushColumn + `,
		send_attempts = send_attempts + 1, send_error = $3, send_after = $4` + settledSend)
)

// SettleSend records the outcome of one send (store.Tx).
func (x *Tx) SettleSend(ctx context.Context, id int64, o store.SendOutcome) (bool, error) {
	var changed bool
	var err error
	d, none := x.D, x.D.Time(time.Time{})
	switch {
	case o.Error == "":
		changed, err = x.repush(ctx, qSendSent, id, d.Time(o.At), o.SentID, none)
	case !o.RetryAt.IsZero():
		changed, err = x.repush(ctx, qSendRetry, id, o.Error, d.Time(o.RetryAt))
	default:
		changed, err = x.repush(ctx, qSendFail, id, d.Time(o.At), o.Error, none)
	}
	if err != nil {
		return false, fmt.Errorf("settle the send of message %d: %w", id, err)
	}
	return changed, nil
}

var qListMessages = Q(`SELECT ` + MessageColumns + ` FROM messages WHERE conversation_id = $1 ORDER BY id`)

// ListMessages lists a conversation's messages in ID order.
func (s *Store) ListMessages(ctx context.Context, conversationID int64) ([]store.Message, error) {
	ms, err := List(ctx, s.r, ScanMessage, qListMessages, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %d: %w", conversationID, err)
	}
	return ms, nil
}

var qListDead = Q(`SELECT ` + MessageColumns + ` FROM messages
	WHERE push_status = 'dead' AND ($1 = '' OR tenant = $1) AND id > $2
	ORDER BY id LIMIT $3`)

// ListDead lists dead messages in ID order, at most f.Limit (default 100).
func (s *Store) ListDead(ctx context.Context, f store.DeadFilter) ([]store.Message, error) {
	ms, err := List(ctx, s.r, ScanMessage, qListDead, f.Tenant, f.AfterID, orDefault(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("list dead messages: %w", err)
	}
	return ms, nil
}

const replayMessages = `UPDATE messages SET push_status = 'pending', attempts = 0, last_error = ''
	WHERE tenant = $1 AND push_status = 'dead'`

var (
	qReplayAll = Q(replayMessages + ` RETURNING id`)
	qReplayIDs = Q(replayMessages + ` AND id {IN $2} RETURNING id`)
	// qTenantMessages and qTenantMedia return which of the ids $2 are
	// messages, or media items, of $1.
	qTenantMessages = Q(`SELECT id FROM messages WHERE tenant = $1 AND id {IN $2}`)
	qTenantMedia    = Q(`SELECT id FROM media WHERE tenant = $1 AND id {IN $2}`)
	// qReplayed makes the conversations of the replayed messages $2 ready
	// at $1 (a later hold is cut short) and sets their pending_since again.
	qReplayed = Q(`
		UPDATE conversations SET
			not_before    = CASE WHEN not_before > $1 THEN $1 ELSE not_before END,
			pending_since = (SELECT MIN(m.received_at) FROM messages m
			                 WHERE m.conversation_id = conversations.id AND m.push_status = 'pending')
		WHERE id IN (SELECT conversation_id FROM messages WHERE id {IN $2})`)
)

// Replay puts the tenant's dead messages of ids (every one of them when ids
// is empty) back in their outboxes: pending, no attempts, no error, and
// their conversations ready at now with their pending_since set again (and
// PostgreSQL's listeners notified). tenant and now are required. It returns
// the replayed ids in order.
func (s *Store) Replay(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error) {
	if tenant == "" {
		return nil, errors.New("replay: tenant is required")
	}
	if now.IsZero() {
		return nil, errors.New("replay: the time is required")
	}
	var replayed []int64
	err := s.update(ctx, func(x *Tx) error {
		var err error
		if len(ids) == 0 {
			replayed, err = Column[int64](ctx, x.Conn, qReplayAll, tenant)
		} else {
			if err := checkIDsOf(ctx, x, qTenantMessages, "message", tenant, ids); err != nil {
				return err
			}
			replayed, err = Column[int64](ctx, x.Conn, qReplayIDs, tenant, x.D.List(ids))
		}
		if err != nil || len(replayed) == 0 {
			return err
		}
		x.OutboxWork = true
		_, err = x.Exec(ctx, qReplayed, x.D.Time(now), x.D.List(replayed))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	slices.Sort(replayed)
	return replayed, nil
}

// checkIDsOf returns an error wrapping store.ErrNotFound, naming them,
// when some of ids are not what q finds of tenant (a message, a media
// item: what).
func checkIDsOf(ctx context.Context, x *Tx, q *Query, what, tenant string, ids []int64) error {
	found, err := Column[int64](ctx, x.Conn, q, tenant, x.D.List(ids))
	if err != nil {
		return err
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(found, id) && !slices.Contains(missing, strconv.FormatInt(id, 10)) {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("tenant %s has no %s %s: nothing replayed: %w", tenant, what, strings.Join(missing, ", "), store.ErrNotFound)
}

// fresh reports whether m's columns after its first freshColumns have
// their defaults: no attempt, error, push, delivery status or send.
func fresh(m store.Message) bool {
	return m.Attempts == 0 && m.LastError == "" && m.PushedAt.IsZero() && m.SalesforceID == "" &&
		m.DeliveryStatus == "" && m.DeliveryStatusAt.IsZero() && m.SentID == "" && m.SendAttempts == 0 &&
		m.SendError == "" && sendAfter(m).IsZero()
}

// insertReturningID runs q (qInsertMessage or qInsertNewMessage) and sets
// *id to the new row's id, or returns sql.ErrNoRows when the message was
// stored already (as the RETURNING form would).
func insertReturningID(ctx context.Context, c Conn, q *Query, id *int64, args []any) error {
	res, err := c.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	*id, err = res.LastInsertId()
	return err
}
