package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// defaultLimit is the page size of ListDead and IdleConversations when the
// caller gives none.
const defaultLimit = 100

// GetConversation returns one conversation, or ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id int64) (store.Conversation, error) {
	return getConversation(ctx, s.pool, id)
}

// ListMessages lists a conversation's messages in ID order.
func (s *Store) ListMessages(ctx context.Context, conversationID int64) ([]store.Message, error) {
	ms, err := listMessages(ctx, s.pool, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = $1 ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %d: %w", conversationID, err)
	}
	return ms, nil
}

// History lists a conversation's transitions in order.
func (s *Store) History(ctx context.Context, conversationID int64) ([]store.Transition, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, conversation_id, from_state, to_state, event, actor, reason, at
		FROM conversation_transitions WHERE conversation_id = $1 ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
	}
	defer rows.Close()
	out := []store.Transition{}
	for rows.Next() {
		var t store.Transition
		var from, to int16
		var at pgtype.Timestamptz
		if err := rows.Scan(&t.ID, &t.ConversationID, &from, &to, &t.Event, &t.Actor, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("history of conversation %d: %w", conversationID, err)
		}
		t.From, t.To, t.At = statemachine.State(from), statemachine.State(to), fromTS(at)
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
	states := []int16{}
	for _, st := range q.States.States() {
		states = append(states, int16(st))
	}
	rows, err := s.pool.Query(ctx, conversationSelect+`
		WHERE c.tenant = $1 AND c.channel = $2
		  AND c.state = ANY ($3::smallint[])
		  AND c.last_activity_at < $4
		ORDER BY c.last_activity_at, c.id
		LIMIT $5`, q.Tenant, q.Channel, states, nullTS(q.Before), limit)
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
// the maps, with 0 when there is none. Both counts come from one statement,
// hence from one snapshot.
func (s *Store) Stats(ctx context.Context, tenant string) (store.Stats, error) {
	st := store.Stats{
		Messages:      map[store.PushStatus]int{store.Pending: 0, store.Pushed: 0, store.Excluded: 0, store.Dead: 0},
		Conversations: map[statemachine.State]int{},
	}
	for _, state := range statemachine.All {
		st.Conversations[state] = 0
	}
	rows, err := s.pool.Query(ctx, `
		SELECT 'message', push_status, COUNT(*) FROM messages
		WHERE $1 = '' OR tenant = $1 GROUP BY push_status
		UNION ALL
		SELECT 'conversation', state::text, COUNT(*) FROM conversations
		WHERE $1 = '' OR tenant = $1 GROUP BY state`, tenant)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, key string
		var n int
		if err := rows.Scan(&kind, &key, &n); err != nil {
			return store.Stats{}, fmt.Errorf("stats: %w", err)
		}
		if kind == "message" {
			st.Messages[store.PushStatus(key)] = n
			continue
		}
		state, err := strconv.Atoi(key)
		if err != nil {
			return store.Stats{}, fmt.Errorf("stats: state %q: %w", key, err)
		}
		st.Conversations[statemachine.State(state)] = n
	}
	if err := rows.Err(); err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
