package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
)

// Outbound is a message the connector sent to a contact, to be recorded.
type Outbound struct {
	ContactID int64
	// ConversationID is the conversation it belongs to; 0 for the
	// contact's latest conversation.
	ConversationID int64
	// PlatformID is the id the platform gave the sent message.
	PlatformID string
	Text       string
	// Sender names who sent it: an API caller's token name, "opt-out".
	Sender string
}

// ErrNoConversation is returned by RecordOutbound for a contact without a
// conversation to record the message in.
var ErrNoConversation = errors.New("the contact has no conversation")

// RecordOutbound stores a message sent to a contact of ch, in its own
// transaction: a text message, outbound, with the conversation's state as
// StateAtReceipt and the push decision taken with the org's exclusions in
// force now (ExcludedNow), as for an inbound message; the conversation's
// activity is touched. A message the platform id of which is stored
// already is returned as it is, with inserted false.
func (in *Ingester) RecordOutbound(ctx context.Context, ch Channel, o Outbound) (m store.Message, inserted bool, err error) {
	now := in.now()
	err = in.Store.WithTx(ctx, func(tx store.Tx) error {
		var conv store.Conversation
		var err error
		if o.ConversationID != 0 {
			conv, err = tx.GetConversation(ctx, o.ConversationID)
		} else {
			conv, err = tx.LatestConversation(ctx, o.ContactID)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("contact %d: %w", o.ContactID, ErrNoConversation)
			}
		}
		if err != nil {
			return err
		}
		excluded, _, err := ch.ExcludedNow(ctx, tx)
		if err != nil {
			return err
		}
		m = store.Message{
			Tenant: ch.Tenant, Channel: ch.ID, ConversationID: conv.ID, ContactID: o.ContactID,
			PlatformID: o.PlatformID, Direction: store.Outbound, Kind: platform.Text, Body: o.Text,
			Sender: o.Sender, SentAt: now, ReceivedAt: now, StateAtReceipt: conv.State,
		}
		m.PushStatus, m.PushReason = PushDecision(conv.State, excluded, ch.OrgID)
		m, inserted, err = tx.InsertMessage(ctx, m)
		if err != nil || !inserted {
			return err
		}
		return tx.TouchConversation(ctx, conv.ID, now)
	})
	if err != nil {
		return store.Message{}, false, fmt.Errorf("record outbound message %s: %w", o.PlatformID, err)
	}
	return m, inserted, nil
}
