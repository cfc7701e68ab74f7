package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Reply sends text to the conversation's contact through the channel's
// platform and stores it as an outbound message of the conversation, sent
// by actor, with the push decision taken as for an inbound message (the
// conversation's state and the org's exclusions in force). It is refused
// when the conversation is EXPIRED (ErrExpired), the contact is blocked for
// outbound (ErrContactBlocked) or told the platform it blocked the business
// or stopped following it (ErrUnreachable), or the channel can not send
// (ErrSendUnsupported). A platform's failure is ErrPlatform, and nothing is
// stored then.
func (m *Manager) Reply(ctx context.Context, actor, tenant string, conversationID int64, text string) (store.Message, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return store.Message{}, err
	}
	if err := checkText("text", text, MaxTextLen); err != nil {
		return store.Message{}, err
	}
	var conv store.Conversation
	var c store.Contact
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		if conv, err = conversation(ctx, tx, tenant, conversationID); err != nil {
			return err
		}
		c, err = contact(ctx, tx, tenant, conv.ContactID)
		return err
	})
	if err != nil {
		return store.Message{}, err
	}
	ch := t.channel(conv.Channel)
	if err := canSend(conv, c, ch); err != nil {
		return store.Message{}, err
	}
	sender := ch.Adapter.(platform.Sender)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.NativeTimeout)
	platformID, err := sender.Send(sctx, c.ExternalID, text)
	cancel()
	if errors.Is(err, platform.ErrRecipientBlocked) {
		return store.Message{}, m.recipientBlocked(ctx, c, err)
	}
	if err != nil {
		return store.Message{}, &Error{Kind: ErrPlatform, Cause: err,
			Msg: fmt.Sprintf("the platform did not take the message: %v", err)}
	}
	// Sent: record it, whatever happened to the conversation meanwhile.
	var msg store.Message
	now := m.now()
	err = m.withTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		cur, err := tx.GetConversation(ctx, conv.ID)
		if err != nil {
			return fmt.Errorf("read conversation %d: %w", conv.ID, err)
		}
		ex, err := m.exclusionsIn(ctx, tx, config.OrgKey(t.OrgID))
		if err != nil {
			return err
		}
		msg = store.Message{
			Tenant: tenant, Channel: conv.Channel, ConversationID: conv.ID, ContactID: c.ID,
			PlatformID: platformID, Direction: store.Outbound, Kind: platform.Text, Body: text,
			Sender: actor, SentAt: now, ReceivedAt: now, StateAtReceipt: cur.State,
		}
		msg.PushStatus, msg.PushReason = ingest.PushDecision(cur.State, ex.States, t.OrgID)
		stored, _, err := tx.InsertMessage(ctx, msg)
		if err != nil {
			return fmt.Errorf("store the reply: %w", err)
		}
		msg = stored
		return tx.TouchConversation(ctx, conv.ID, now)
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("the platform took message %s, but it could not be stored: %w", platformID, err)
	}
	if msg.PushStatus == store.Pending {
		m.changed()
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("conversation", conv.ID).Int64("message", msg.ID).
		Str("by", actor).Str("push_status", string(msg.PushStatus)).Msg("reply sent")
	return msg, nil
}

// canSend says why a message can not be sent to c in conv on ch, if so.
func canSend(conv store.Conversation, c store.Contact, ch Channel) error {
	switch {
	case conv.State == statemachine.Expired:
		return fail(ErrExpired, "conversation %d is EXPIRED, which is terminal: no reply can be sent in it", conv.ID)
	case c.BlockedOutbound && c.Block.By == ingest.OptOutBy:
		return fail(ErrContactBlocked, "contact %d opted out (%s): nothing can be sent to it until it is unblocked", c.ID, c.Block.Note)
	case c.BlockedOutbound:
		return fail(ErrContactBlocked, "contact %d is blocked for outbound messages: nothing can be sent to it until it is unblocked", c.ID)
	case c.UnreachableOnPlatform():
		return fail(ErrUnreachable, "contact %d can not be reached: the platform reported %q at %s", c.ID, c.PlatformStatus,
			c.PlatformStatusAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if ch.Adapter == nil {
		return fail(ErrSendUnsupported, "channel %s is not configured any more: no reply can be sent on it", conv.Channel)
	}
	if _, ok := ch.Adapter.(platform.Sender); !ok {
		return fail(ErrSendUnsupported, "channel %s (%s) can not send messages", conv.Channel, ch.Adapter.Platform())
	}
	return nil
}

// recipientBlocked records on the contact that the platform refused a send
// because the user blocked the business (Twilio's 21610 after STOP, say),
// so that later sends are refused at once, and returns the ErrUnreachable
// the caller gets.
func (m *Manager) recipientBlocked(ctx context.Context, c store.Contact, cause error) error {
	now := m.now()
	err := m.withTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		_, err := tx.SetContactPlatformStatus(ctx, c.ID, "blocked", now)
		return err
	})
	if err != nil {
		return fmt.Errorf("record that contact %d blocked the business: %w", c.ID, err)
	}
	m.logger(ctx).Info().Str("tenant", c.Tenant).Int64("contact", c.ID).Msg("the platform says the contact blocked the business")
	return &Error{Kind: ErrUnreachable, Cause: cause,
		Msg: fmt.Sprintf("contact %d can not be reached: the platform refused the message because the user blocked the business (%v)", c.ID, cause)}
}
