package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// conversationColumns read a conversation "c" joined with its contact "ct".
const conversationColumns = `c.id, c.tenant, c.channel, c.contact_id, ct.external_id,
	c.state, c.created_at, c.updated_at, c.last_activity_at, c.version, c.synced_version, c.not_before, c.synced_hash`

// conversationSelect reads conversations "c" joined with their contact
// "ct"; a WHERE clause follows.
const conversationSelect = `SELECT ` + conversationColumns + `
	FROM conversations c JOIN contacts ct ON ct.id = c.contact_id `

// scanConversation scans a row of conversationSelect.
func scanConversation(sc Scanner) (store.Conversation, error) {
	var c store.Conversation
	var state int64
	err := sc.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ContactID, &c.ContactExternalID,
		&state, T(&c.CreatedAt), T(&c.UpdatedAt), T(&c.LastActivityAt), &c.Version, &c.SyncedVersion, T(&c.NotBefore), &c.SyncedHash)
	c.State = statemachine.State(state)
	return c, err
}

var (
	qGetConversation    = Q(conversationSelect + `WHERE c.id = $1`)
	qLiveConversation   = Q(conversationSelect + `WHERE c.contact_id = $1 AND c.state <> $2`)
	qLatestConversation = Q(conversationSelect + `WHERE c.contact_id = $1 ORDER BY c.id DESC LIMIT 1`)
	qConversationsByID  = Q(conversationSelect + `WHERE c.id {IN $1}`)
	qContactConvs       = Q(conversationSelect + `WHERE c.contact_id = $1 ORDER BY c.id`)
)

func getConversation(ctx context.Context, c Conn, id int64) (store.Conversation, error) {
	cv, err := One(ctx, c, scanConversation, qGetConversation, id)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("get conversation %d: %w", id, err)
	}
	return cv, nil
}

// Conversation returns one conversation as the transaction sees it, or
// ErrNotFound.
func (x *Tx) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	return getConversation(ctx, x.Conn, id)
}

// GetConversation returns one conversation, or ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id int64) (store.Conversation, error) {
	return getConversation(ctx, s.r, id)
}

// LiveConversation returns the contact's non-EXPIRED conversation.
func (x *Tx) LiveConversation(ctx context.Context, contactID int64) (store.Conversation, error) {
	c, err := One(ctx, x.Conn, scanConversation, qLiveConversation, contactID, int64(statemachine.Expired))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("live conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// LatestConversation returns the contact's most recent conversation.
func (x *Tx) LatestConversation(ctx context.Context, contactID int64) (store.Conversation, error) {
	c, err := One(ctx, x.Conn, scanConversation, qLatestConversation, contactID)
	if err != nil {
		return store.Conversation{}, fmt.Errorf("latest conversation of contact %d: %w", contactID, err)
	}
	return c, nil
}

// conversationsByID reads the conversations of ids.
func conversationsByID(ctx context.Context, c Conn, ids []int64) (map[int64]store.Conversation, error) {
	cs, err := List(ctx, c, scanConversation, qConversationsByID, c.D.List(ids))
	if err != nil {
		return nil, fmt.Errorf("read claimed conversations: %w", err)
	}
	out := make(map[int64]store.Conversation, len(cs))
	for _, cv := range cs {
		out[cv.ID] = cv
	}
	return out, nil
}

var (
	qContactChannel = Q(`SELECT tenant, channel FROM contacts WHERE id = $1`)
	// qCreateConversation inserts a conversation unless the contact has a
	// live one: ON CONFLICT DO NOTHING on the one-live-conversation index
	// turns it into no row, rather than an error that would abort a
	// PostgreSQL transaction.
	qCreateConversation = Q(`
		INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
			not_before, created_at, updated_at, last_activity_at)
		VALUES ($1, $2, $3, $4, 1, 0, $5, $6, $7, $8)
		ON CONFLICT (contact_id) WHERE state <> 1 DO NOTHING
		RETURNING id`)
	qInsertTransition = Q(`
		INSERT INTO conversation_transitions (conversation_id, from_state, to_state, event, actor, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	// qCreateConversationPG does on PostgreSQL, in one statement, what
	// qContactChannel, qCreateConversation, qInsertTransition and a read
	// do on SQLite: the conversation takes its contact's ($3) tenant and
	// channel, which must be $1 and $2 unless they are empty, and the
	// history entry is written only when the conversation is. No row: the
	// contact is missing, on another tenant or channel, or has a live
	// conversation.
	qCreateConversationPG = Q(`
		WITH c AS (
			INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
				not_before, created_at, updated_at, last_activity_at)
			SELECT ct.tenant, ct.channel, ct.id, $4, 1, 0, $5, $6, $7, $8 FROM contacts ct
			WHERE ct.id = $3 AND ($1 = '' OR ct.tenant = $1) AND ($2 = '' OR ct.channel = $2)
			ON CONFLICT (contact_id) WHERE state <> 1 DO NOTHING
			RETURNING *
		), history AS (
			INSERT INTO conversation_transitions (conversation_id, from_state, to_state, event, actor, reason, at)
			SELECT id, $9, state, 'created', $10, $11, created_at FROM c
		)
		SELECT ` + conversationColumns + ` FROM c JOIN contacts ct ON ct.id = c.contact_id`)
)

// CreateConversation stores c with Version 1 and SyncedVersion 0 and its
// "created" history entry. CreatedAt is required; Tenant and Channel are
// the contact's (a different non-empty value is an error); UpdatedAt and
// LastActivityAt default to CreatedAt. A second live conversation for the
// contact is refused with ErrConflict, and the transaction stays usable.
func (x *Tx) CreateConversation(ctx context.Context, c store.Conversation, actor, reason string) (store.Conversation, error) {
	if c.CreatedAt.IsZero() {
		return store.Conversation{}, errors.New("create conversation: CreatedAt is required")
	}
	if !c.State.Valid() {
		return store.Conversation{}, fmt.Errorf("create conversation in %v: %w", c.State, statemachine.ErrInvalidState)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.LastActivityAt.IsZero() {
		c.LastActivityAt = c.CreatedAt
	}
	d := x.D
	args := []any{c.Tenant, c.Channel, c.ContactID, int64(c.State),
		d.Time(c.NotBefore), d.Time(c.CreatedAt), d.Time(c.UpdatedAt), d.Time(c.LastActivityAt)}
	if d.Style == Postgres {
		created, err := One(ctx, x.Conn, scanConversation, qCreateConversationPG,
			append(args, int64(store.NoState), actor, reason)...)
		if err == nil {
			return created, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Conversation{}, fmt.Errorf("create conversation: %w", err)
		}
		// Nothing written: the contact's read below tells why.
	}
	tenant, channel, err := x.contactChannel(ctx, c)
	if err != nil {
		return store.Conversation{}, err
	}
	if d.Style == Postgres {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d has a live conversation: %w",
			c.ContactID, store.ErrConflict)
	}
	args[0], args[1] = tenant, channel
	ids, err := Column[int64](ctx, x.Conn, qCreateConversation, args...)
	if err == nil && len(ids) == 0 {
		return store.Conversation{}, fmt.Errorf("create conversation: contact %d has a live conversation: %w",
			c.ContactID, store.ErrConflict)
	}
	if err == nil {
		_, err = x.Exec(ctx, qInsertTransition, ids[0], int64(store.NoState), int64(c.State),
			"created", actor, reason, d.Time(c.CreatedAt))
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("create conversation: %w", err)
	}
	return x.Conversation(ctx, ids[0])
}

// contactChannel returns the tenant and channel of c's contact, which a
// conversation takes: an error when the contact is missing, or on another
// tenant or channel than c's non-empty ones.
func (x *Tx) contactChannel(ctx context.Context, c store.Conversation) (tenant, channel string, err error) {
	_, err = One(ctx, x.Conn, func(sc Scanner) (struct{}, error) {
		return struct{}{}, sc.Scan(&tenant, &channel)
	}, qContactChannel, c.ContactID)
	if err != nil {
		return "", "", fmt.Errorf("create conversation: contact %d: %w", c.ContactID, err)
	}
	if (c.Tenant != "" && c.Tenant != tenant) || (c.Channel != "" && c.Channel != channel) {
		return "", "", fmt.Errorf("create conversation: contact %d is on %s/%s, not %s/%s",
			c.ContactID, tenant, channel, c.Tenant, c.Channel)
	}
	return tenant, channel, nil
}

var qApplyTransition = Q(`
	UPDATE conversations SET
		state      = $2,
		version    = version + CASE WHEN state <> $2 THEN 1 ELSE 0 END,
		updated_at = CASE WHEN state <> $2 THEN $3 ELSE updated_at END
	WHERE id = $1 AND state = $4`)

// qApplyTransitionPG does on PostgreSQL, in one statement, what
// qApplyTransition, qInsertTransition and a read do on SQLite.
var qApplyTransitionPG = Q(`
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
	SELECT ` + conversationColumns + ` FROM c JOIN contacts ct ON ct.id = c.contact_id`)

// ApplyTransition moves the conversation from t.From to t.To (bumping
// Version and UpdatedAt when they differ) and appends t to its history. A
// conversation not in t.From is left alone and ErrConflict returned; so is
// bringing an EXPIRED conversation back to life beside a live one. Either
// way the transaction stays usable. A change that leaves the
// conversation's Salesforce record behind is outbox work.
func (x *Tx) ApplyTransition(ctx context.Context, t store.Transition) (store.Conversation, error) {
	if !t.From.Valid() || !t.To.Valid() {
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v: %w", t.From, t.To, statemachine.ErrInvalidState)
	}
	if t.At.IsZero() {
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: the time is required", t.ConversationID)
	}
	// Only a revival (EXPIRED to live) can break the one-live-conversation
	// index, and a statement error aborts a PostgreSQL transaction: that
	// statement runs under a savepoint, rolled back on error.
	args := []any{t.ConversationID, int64(t.To), x.D.Time(t.At), int64(t.From)}
	var n int64
	var c store.Conversation
	apply := func() (err error) {
		if x.D.Style == Postgres {
			c, err = One(ctx, x.Conn, scanConversation, qApplyTransitionPG, append(args, t.Event, t.Actor, t.Reason)...)
			if err == nil {
				n = 1
			} else if errors.Is(err, store.ErrNotFound) {
				n, err = 0, nil
			}
			return err
		}
		n, err = x.Affected(ctx, qApplyTransition, args...)
		return err
	}
	var err error
	if t.From == statemachine.Expired && t.To.Live() {
		err = x.Savepoint(ctx, apply)
	} else {
		err = apply()
	}
	switch {
	case err != nil && x.D.IsUnique(err):
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: the contact has another live conversation: %w",
			t.ConversationID, store.ErrConflict)
	case err != nil:
		return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: %w", t.ConversationID, err)
	case n == 0:
		c, err := x.Conversation(ctx, t.ConversationID)
		if err != nil {
			return store.Conversation{}, fmt.Errorf("apply transition: %w", err)
		}
		return store.Conversation{}, fmt.Errorf("apply transition %v -> %v on conversation %d, which is %v: %w",
			t.From, t.To, t.ConversationID, c.State, store.ErrConflict)
	}
	if x.D.Style == SQLite {
		_, err = x.Exec(ctx, qInsertTransition, t.ConversationID, int64(t.From), int64(t.To), t.Event, t.Actor, t.Reason, x.D.Time(t.At))
		if err != nil {
			return store.Conversation{}, fmt.Errorf("apply transition on conversation %d: append history: %w", t.ConversationID, err)
		}
		c, err = x.Conversation(ctx, t.ConversationID)
	}
	if err == nil && c.SyncedVersion > 0 && c.SyncedVersion < c.Version {
		x.OutboxWork = true // the Salesforce record is to be brought up to date
	}
	return c, err
}

var (
	qSavepoint   = Q(`SAVEPOINT item`)
	qRollbackTo  = Q(`ROLLBACK TO SAVEPOINT item`)
	qReleaseItem = Q(`RELEASE SAVEPOINT item`)
)

// Savepoint runs fn inside a savepoint: when fn fails, what it did is
// rolled back and the transaction goes on. fn's error is returned as is.
func (x *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := x.Exec(ctx, qSavepoint); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	ferr := fn()
	if ferr != nil {
		if _, err := x.Exec(ctx, qRollbackTo); err != nil {
			return fmt.Errorf("%w (and rolling back to the savepoint: %w)", ferr, err)
		}
	}
	if _, err := x.Exec(ctx, qReleaseItem); err != nil {
		return errors.Join(ferr, fmt.Errorf("release savepoint: %w", err))
	}
	return ferr
}

var qTouch = Q(`UPDATE conversations SET last_activity_at = $2 WHERE id = $1`)

// TouchConversation sets the conversation's LastActivityAt.
func (x *Tx) TouchConversation(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("touch conversation %d: the time is required", id)
	}
	return x.MustAffect(ctx, fmt.Sprintf("touch conversation %d", id), qTouch, id, x.D.Time(at))
}

// ContactConversations lists the contact's conversations, oldest first.
func (x *Tx) ContactConversations(ctx context.Context, contactID int64) ([]store.Conversation, error) {
	cs, err := List(ctx, x.Conn, scanConversation, qContactConvs, contactID)
	if err != nil {
		return nil, fmt.Errorf("conversations of contact %d: %w", contactID, err)
	}
	return cs, nil
}

var (
	qLockConversations   = Q(`SELECT id FROM conversations WHERE id {IN $1} ORDER BY id{| FOR UPDATE}`)
	qDeleteConvMessages  = Q(`DELETE FROM messages WHERE conversation_id {IN $1}`)
	qDeleteConversations = Q(`DELETE FROM conversations WHERE id {IN $1}`)
)

// DeleteConversations removes the conversations and, with them, their
// messages and history (ON DELETE CASCADE). Their outbox is on their rows
// (pending_since and the lease): it goes too, and a worker holding a lease
// on one of them finds it lost when it settles. On PostgreSQL the
// conversations' rows are locked first, in id order, as a settlement locks
// its conversation before its messages.
func (x *Tx) DeleteConversations(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list := x.D.List(ids)
	if x.D.Style == Postgres {
		if _, err := Column[int64](ctx, x.Conn, qLockConversations, list); err != nil {
			return 0, fmt.Errorf("delete conversations: lock them: %w", err)
		}
	}
	n, err := x.Affected(ctx, qDeleteConvMessages, list)
	if err != nil {
		return 0, fmt.Errorf("delete conversations: messages: %w", err)
	}
	if _, err := x.Exec(ctx, qDeleteConversations, list); err != nil {
		return 0, fmt.Errorf("delete conversations: %w", err)
	}
	return int(n), nil
}

var qHistory = Q(`SELECT id, conversation_id, from_state, to_state, event, actor, reason, at
	FROM conversation_transitions WHERE conversation_id = $1 ORDER BY id`)

// History lists a conversation's transitions in order.
func (s *Store) History(ctx context.Context, conversationID int64) ([]store.Transition, error) {
	ts, err := List(ctx, s.r, func(sc Scanner) (store.Transition, error) {
		var t store.Transition
		var from, to int64
		err := sc.Scan(&t.ID, &t.ConversationID, &from, &to, &t.Event, &t.Actor, &t.Reason, T(&t.At))
		t.From, t.To = statemachine.State(from), statemachine.State(to)
		return t, err
	}, qHistory, conversationID)
	if err != nil {
		return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
	}
	return ts, nil
}

var qIdle = Q(conversationSelect + `
	WHERE c.tenant = $1 AND c.channel = $2 AND c.state {IN $3} AND c.last_activity_at < $4
	ORDER BY c.last_activity_at, c.id
	LIMIT $5`)

// IdleConversations lists the channel's conversations in one of q.States
// whose LastActivityAt is strictly before q.Before, oldest activity first,
// at most q.Limit (default 100).
func (s *Store) IdleConversations(ctx context.Context, q store.IdleQuery) ([]store.Conversation, error) {
	cs, err := List(ctx, s.r, scanConversation, qIdle,
		q.Tenant, q.Channel, s.d.List(states(q.States)), s.d.Time(q.Before), orDefault(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("idle conversations: %w", err)
	}
	return cs, nil
}

// states lists the states of set as numbers (never nil).
func states(set statemachine.Set) []int64 {
	out := []int64{}
	for _, st := range set.States() {
		out = append(out, int64(st))
	}
	return out
}

// ListConversations lists a tenant's conversations by ascending ID.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	if f.Tenant == "" {
		return nil, errors.New("list conversations: the tenant is required")
	}
	var p Params
	where := []string{"c.tenant = " + p.Add(f.Tenant), "c.id > " + p.Add(f.AfterID)}
	if st := states(f.States); len(st) > 0 {
		where = append(where, "c.state {IN "+p.Add(s.d.List(st))+"}")
	}
	if f.Channel != "" {
		where = append(where, "c.channel = "+p.Add(f.Channel))
	}
	if f.ContactID != 0 {
		where = append(where, "c.contact_id = "+p.Add(f.ContactID))
	}
	if !f.UpdatedSince.IsZero() {
		where = append(where, "c.updated_at >= "+p.Add(s.d.Time(f.UpdatedSince)))
	}
	q := Q(conversationSelect + `WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY c.id LIMIT ` + p.Add(store.PageSize(f.Limit, DefaultLimit)))
	cs, err := List(ctx, s.r, scanConversation, q, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations of tenant %s: %w", f.Tenant, err)
	}
	return cs, nil
}

// qStats counts both in one statement, hence from one snapshot.
var qStats = Q(`
	SELECT 'message', push_status, COUNT(*) FROM messages
	WHERE $1 = '' OR tenant = $1 GROUP BY push_status
	UNION ALL
	SELECT 'conversation', CAST(state AS TEXT), COUNT(*) FROM conversations
	WHERE $1 = '' OR tenant = $1 GROUP BY state`)

// Stats counts a tenant's (every tenant's when empty) messages by push
// status and conversations by state. Every status and state is present in
// the maps, with 0 when there is none.
func (s *Store) Stats(ctx context.Context, tenant string) (store.Stats, error) {
	st := store.Stats{
		Messages:      map[store.PushStatus]int{store.Pending: 0, store.Pushed: 0, store.Excluded: 0, store.Dead: 0},
		Conversations: map[statemachine.State]int{},
	}
	for _, state := range statemachine.All {
		st.Conversations[state] = 0
	}
	type count struct {
		kind, key string
		n         int
	}
	counts, err := List(ctx, s.r, func(sc Scanner) (count, error) {
		var c count
		return c, sc.Scan(&c.kind, &c.key, &c.n)
	}, qStats, tenant)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	for _, c := range counts {
		if c.kind == "message" {
			st.Messages[store.PushStatus(c.key)] = c.n
			continue
		}
		state, err := strconv.Atoi(c.key)
		if err != nil {
			return store.Stats{}, fmt.Errorf("stats: state %q: %w", c.key, err)
		}
		st.Conversations[statemachine.State(state)] = c.n
	}
	return st, nil
}
