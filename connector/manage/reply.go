package manage

import (
	"context"
	"fmt"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Reply stores text as an outbound message of the conversation, sent by
// actor, with the push decision taken as for an inbound message (the
// conversation's state and the org's exclusions in force), in delivery
// status "sending"; then it makes the first attempt to send it (Send). The
// message is stored before the platform sees it: a crash leaves it
// "sending", and RetrySends sends it. It is refused, and nothing stored,
// when the conversation is EXPIRED (ErrExpired), the contact is blocked for
// outbound (ErrContactBlocked) or told the platform it blocked the business
// or stopped following it (ErrUnreachable), or the channel can not send
// (ErrSendUnsupported). When the platform refuses the first attempt for
// good the message stays, "failed" with the reason, and the error is
// ErrPlatform (ErrUnreachable when the user blocked the business); a
// transient failure returns the message, still "sending", to be retried.
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
	var msg store.Message
	err = m.withTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Conversation(ctx, conv.ID)
		if err != nil {
			return fmt.Errorf("read conversation %d: %w", conv.ID, err)
		}
		ex, err := m.exclusionsIn(ctx, tx, config.OrgKey(t.OrgID))
		if err != nil {
			return err
		}
		msg, err = m.queue(ctx, tx, cur, t.OrgID, ex.States, actor, text)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("store the reply: %w", err)
	}
	if msg.PushStatus == store.Pending {
		m.wake()
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("conversation", conv.ID).Int64("message", msg.ID).
		Str("by", actor).Str("push_status", string(msg.PushStatus)).Msg("reply stored; sending it")
	return m.Send(ctx, msg)
}

// refusal says why nothing can be sent to c, opted out or blocked for
// outbound.
func refusal(c store.Contact) string {
	if c.OptedOut() {
		return fmt.Sprintf("contact %d opted out (opt-out keyword %s): nothing can be sent to it until the opt-out is lifted",
			c.ID, c.OptOut.Keyword)
	}
	return fmt.Sprintf("contact %d is blocked for outbound messages: nothing can be sent to it until it is unblocked", c.ID)
}

// sendRefused says why msg, stored to be sent, must not be sent to c as
// things stand: c opted out (but for the opt-out's own last reply) or
// was blocked for outbound after msg was stored.
func sendRefused(c store.Contact, msg store.Message) (string, bool) {
	if c.BlockedOutbound || (c.OptedOut() && msg.Sender != ingest.OptOutBy) {
		return refusal(c), true
	}
	return "", false
}

// canSend says why a message can not be sent to c in conv on ch, if so.
func canSend(conv store.Conversation, c store.Contact, ch Channel) error {
	switch {
	case conv.State == statemachine.Expired:
		return fail(ErrExpired, "conversation %d is EXPIRED, which is terminal: no reply can be sent in it", conv.ID)
	case c.OptedOut(), c.BlockedOutbound:
		return fail(ErrContactBlocked, "%s", refusal(c))
	case c.UnreachableOnPlatform():
		return fail(ErrUnreachable, "contact %d can not be reached: the platform reported %q at %s", c.ID, c.PlatformStatus,
			c.PlatformStatusAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if ch.Adapter == nil {
		return fail(ErrSendUnsupported, "channel %s is not configured any more: no reply can be sent on it", conv.Channel)
	}
	if why := CannotSend(ch); why != "" {
		return fail(ErrSendUnsupported, "channel %s (%s) %s", conv.Channel, ch.Adapter.Platform(), why)
	}
	return nil
}

// CannotSend says why no reply can be sent on ch ("receives only (no
// access token configured): it can not send messages"); empty when one
// can.
func CannotSend(ch Channel) string {
	switch {
	case ch.Adapter == nil:
		return "is not configured any more: no reply can be sent on it"
	case platform.MissingCredential(ch.Adapter) != "":
		return "receives only (" + platform.MissingCredential(ch.Adapter) + "): it can not send messages"
	}
	if _, ok := platform.SenderOf(ch.Adapter); !ok {
		return "can not send messages"
	}
	return ""
}
