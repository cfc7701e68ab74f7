package manage

import (
	"context"
	"fmt"

	"github.com/chatsync/sfconnector/connector/store"
)

// EventRefused is the history event of a change asked from outside the
// connector (an agent in Salesforce) that the state machine or the
// tenant's settings refused.
const EventRefused = "refused"

// RecordRefusal appends to a conversation's history a change that was
// asked and refused, with who asked and why it was refused; the
// conversation's state does not change. It returns the conversation as it
// is.
func (m *Manager) RecordRefusal(ctx context.Context, actor, tenant string, id int64, reason string) (store.Conversation, error) {
	if _, err := m.tenant(tenant); err != nil {
		return store.Conversation{}, err
	}
	var out store.Conversation
	now := m.now()
	err := m.withTx(ctx, func(tx store.Tx) error {
		conv, err := conversation(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		out, err = tx.ApplyTransition(ctx, store.Transition{ConversationID: id, From: conv.State, To: conv.State,
			Event: EventRefused, Actor: actor, Reason: reason, At: now})
		if err != nil {
			return fmt.Errorf("record a refused change of conversation %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return store.Conversation{}, err
	}
	m.logger(ctx).Warn().Str("tenant", tenant).Int64("conversation", id).Str("by", actor).Str("reason", reason).
		Msg("conversation change refused")
	return out, nil
}
