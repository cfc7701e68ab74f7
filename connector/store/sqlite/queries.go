package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// defaultLimit is the page size of ListDead and IdleConversations when the
// caller gives none.
const defaultLimit = 100

// GetConversation returns one conversation, or ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id int64) (store.Conversation, error) {
	return getConversation(ctx, s.r, id)
}

// ListMessages lists a conversation's messages in ID order.
func (s *Store) ListMessages(ctx context.Context, conversationID int64) ([]store.Message, error) {
	ms, err := listMessages(ctx, s.r, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %d: %w", conversationID, err)
	}
	return ms, nil
}

// History lists a conversation's transitions in order.
func (s *Store) History(ctx context.Context, conversationID int64) ([]store.Transition, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, conversation_id, from_state, to_state, event, actor, reason, at
		FROM conversation_transitions WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
	}
	defer rows.Close()
	out := []store.Transition{}
	for rows.Next() {
		var t store.Transition
		var from, to, at int64
		if err := rows.Scan(&t.ID, &t.ConversationID, &from, &to, &t.Event, &t.Actor, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
		}
		t.From, t.To, t.At = statemachine.State(from), statemachine.State(to), fromMicros(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
	}
	return out, nil
}

// IdleConversations lists the channel's conversations in one of q.States
// whose LastActivityAt is strictly before q.Before, oldest activity first,
// at most q.Limit (default 100).
func (s *Store) IdleConversations(ctx context.Context, q store.IdleQuery) ([]store.Conversation, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	states, err := json.Marshal(q.States.States())
	if err != nil {
		return nil, fmt.Errorf("idle conversations: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, conversationSelect+`
		WHERE c.tenant = ? AND c.channel = ?
		  AND c.state IN (SELECT value FROM json_each(?))
		  AND c.last_activity_at < ?
		ORDER BY c.last_activity_at, c.id
		LIMIT ?`, q.Tenant, q.Channel, string(states), micros(q.Before), limit)
	if err != nil {
		return nil, fmt.Errorf("idle conversations: %w", err)
	}
	defer rows.Close()
	out := []store.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("idle conversations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("idle conversations: %w", err)
	}
	return out, nil
}

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
	// One read transaction: both counts see the same snapshot.
	t, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer func() { _ = t.Rollback() }() // read only: nothing to commit

	err = countInto(ctx, t, `SELECT push_status, COUNT(*) FROM messages
		WHERE ?1 = '' OR tenant = ?1 GROUP BY push_status`, tenant,
		st.Messages, func(v string) store.PushStatus { return store.PushStatus(v) })
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: messages: %w", err)
	}
	err = countInto(ctx, t, `SELECT state, COUNT(*) FROM conversations
		WHERE ?1 = '' OR tenant = ?1 GROUP BY state`, tenant,
		st.Conversations, func(v int64) statemachine.State { return statemachine.State(v) })
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: conversations: %w", err)
	}
	return st, nil
}

// countInto runs a "key, COUNT(*)" query and stores the counts in into.
func countInto[K comparable, V any](ctx context.Context, q querier, query, tenant string, into map[K]int, key func(V) K) error {
	rows, err := q.QueryContext(ctx, query, tenant)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v V
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			return err
		}
		into[key(v)] = n
	}
	return rows.Err()
}
