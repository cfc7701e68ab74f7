package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// ConversationDetail is one conversation with its history and messages.
type ConversationDetail struct {
	Conversation store.Conversation
	History      []store.Transition
	Messages     []store.Message
}

// Conversation returns one of the tenant's conversations with its history
// and its messages.
func (m *Manager) Conversation(ctx context.Context, tenant string, id int64) (ConversationDetail, error) {
	if _, err := m.tenant(tenant); err != nil {
		return ConversationDetail{}, err
	}
	c, err := m.cfg.Store.GetConversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Tenant != tenant {
		return ConversationDetail{}, fail(ErrNotFound, "tenant %s has no conversation %d", tenant, id)
	}
	if err != nil {
		return ConversationDetail{}, fmt.Errorf("read conversation %d: %w", id, err)
	}
	h, err := m.cfg.Store.History(ctx, id)
	if err != nil {
		return ConversationDetail{}, fmt.Errorf("read the history of conversation %d: %w", id, err)
	}
	msgs, err := m.cfg.Store.ListMessages(ctx, id)
	if err != nil {
		return ConversationDetail{}, fmt.Errorf("read the messages of conversation %d: %w", id, err)
	}
	return ConversationDetail{Conversation: c, History: h, Messages: msgs}, nil
}

// Conversations lists the tenant's conversations (f.Tenant is set to
// tenant).
func (m *Manager) Conversations(ctx context.Context, tenant string, f store.ConversationFilter) ([]store.Conversation, error) {
	if _, err := m.tenant(tenant); err != nil {
		return nil, err
	}
	f.Tenant = tenant
	cs, err := m.cfg.Store.ListConversations(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return cs, nil
}

// StateChange is the outcome of ChangeState.
type StateChange struct {
	Conversation store.Conversation
	// Changed is false when the conversation was in the state already.
	Changed bool
}

// ChangeState sets a conversation's state for actor, recording reason in
// its history. Setting the state it has is a no-op; an EXPIRED
// conversation is ErrExpired. Setting BLOCKED blocks the contact locally,
// inbound and outbound (ErrBlockingDisabled when the tenant switched
// blocking off); the platform is not asked (Block does that). Moving a
// BLOCKED conversation to another live state lifts the contact's block in
// both directions, and a native block the platform applied with it.
func (m *Manager) ChangeState(ctx context.Context, actor, tenant string, id int64, to statemachine.State, reason string) (StateChange, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return StateChange{}, err
	}
	if !to.Valid() {
		return StateChange{}, invalid("state", CodeInvalidState, "%d is not a state: valid states are %s", int(to), statemachine.ValidStates())
	}
	if err := checkReason("reason", reason); err != nil {
		return StateChange{}, err
	}
	var out StateChange
	var call nativeCall
	var from statemachine.State
	now := m.now()
	err = m.withTx(ctx, func(tx store.Tx) error {
		out, call = StateChange{}, nativeCall{}
		conv, err := conversation(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		// Lock the contact first, as Block does, then read the
		// conversation as it is now.
		c, err := contact(ctx, tx, tenant, conv.ContactID)
		if err != nil {
			return err
		}
		if conv, err = conversation(ctx, tx, tenant, id); err != nil {
			return err
		}
		ch := t.channel(conv.Channel)
		tr, err := statemachine.Next(conv.State, statemachine.Event{Kind: statemachine.SetState, To: to, HasBot: ch.HasBot})
		if errors.Is(err, statemachine.ErrTerminal) {
			return fail(ErrExpired, "conversation %d is EXPIRED, which is terminal: its state can not be changed", id)
		}
		if err != nil {
			return invalid("state", CodeInvalidState, "%v", err)
		}
		out.Conversation, from = conv, conv.State
		if !tr.Changed {
			return nil
		}
		if tr.BlockContact {
			if err := m.requireBlocking(ctx, tx, t); err != nil {
				return err
			}
		}
		conv, err = tx.ApplyTransition(ctx, store.Transition{ConversationID: id, From: tr.From, To: tr.To,
			Event: statemachine.SetState.String(), Actor: actor, Reason: reason, At: now})
		if err != nil {
			return fmt.Errorf("change the state of conversation %d: %w", id, err)
		}
		if conv, err = touch(ctx, tx, conv, now); err != nil {
			return err
		}
		out = StateChange{Conversation: conv, Changed: true}
		switch {
		case tr.BlockContact:
			if err := tx.SetContactBlock(ctx, c.ID, store.Block{Inbound: true, Outbound: true, Note: reason, By: actor}, now); err != nil {
				return fmt.Errorf("block contact %d: %w", c.ID, err)
			}
		case tr.UnblockContact:
			if c.BlockedInbound || c.BlockedOutbound {
				if err := tx.SetContactBlock(ctx, c.ID, store.Block{}, now); err != nil {
					return fmt.Errorf("unblock contact %d: %w", c.ID, err)
				}
			}
			if call, err = m.planNativeUnblock(ctx, tx, c, ch, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return StateChange{}, err
	}
	if out.Changed {
		m.wake()
		m.logger(ctx).Info().Str("tenant", tenant).Int64("conversation", id).Str("from", from.String()).
			Str("to", to.String()).Str("by", actor).Msg("conversation state changed")
	}
	if call.want != "" {
		if _, err := m.callNative(ctx, call); err != nil {
			return out, err
		}
	}
	return out, nil
}

// requireBlocking refuses when blocking is switched off for the tenant.
func (m *Manager) requireBlocking(ctx context.Context, tx store.Tx, t *Tenant) error {
	on, _, err := m.blockingIn(ctx, tx, t)
	if err != nil {
		return err
	}
	if !on {
		return fail(ErrBlockingDisabled, "blocking is disabled for tenant %s; an admin can enable it with PUT /api/v1/tenants/%s/settings", t.ID, t.ID)
	}
	return nil
}
