// Package ingest turns the events of one verified webhook delivery into
// stored contacts, conversations and messages, in one transaction: the
// conversation state machine runs here, and the push decision is taken and
// recorded on each message as it arrives.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Channel is what ingestion needs to know of the channel a delivery came in on.
type Channel struct {
	Tenant string
	ID     string
	// HasBot makes new conversations start in AUTO_BOT.
	HasBot bool
	// OrgID is the tenant's Salesforce org, for the push reason.
	OrgID string
	// Excluded are the states the org excludes from pushing now.
	Excluded statemachine.Set
}

// Result counts what a delivery did.
type Result struct {
	// Stored messages, of which Pending are queued for Salesforce and
	// Excluded are not.
	Stored   int `json:"stored"`
	Pending  int `json:"pending"`
	Excluded int `json:"excluded"`
	// Duplicates were stored already (a platform retry).
	Duplicates int `json:"duplicates"`
	// ContactEvents are what the platform said about contacts (follow,
	// unfollow, the user blocked or unblocked the business), recorded on
	// the contact.
	ContactEvents int `json:"contact_events"`
	// Other events: receipts and event types not handled, accepted and not
	// turned into messages.
	Other int `json:"other"`
	// Conversations lists the conversations touched, for logs.
	Conversations []int64 `json:"-"`
}

// Ingester stores deliveries.
type Ingester struct {
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

// Batch is the events of one delivery that belong to one channel.
type Batch struct {
	Channel Channel
	Events  []platform.Event
}

// Ingest stores every message event of a delivery and runs the state
// machine, all in one transaction: when it returns nil the delivery is
// durable and may be acknowledged; when it returns an error nothing of the
// delivery is stored.
func (in *Ingester) Ingest(ctx context.Context, ch Channel, events []platform.Event) (Result, error) {
	return in.IngestBatches(ctx, []Batch{{Channel: ch, Events: events}})
}

// IngestBatches stores a delivery whose events belong to several channels
// (a Meta app's delivery for several of its accounts) in one transaction,
// as Ingest does for one channel.
func (in *Ingester) IngestBatches(ctx context.Context, batches []Batch) (Result, error) {
	var res Result
	now := in.now()
	err := in.Store.WithTx(ctx, func(tx store.Tx) error {
		res = Result{}
		for _, b := range batches {
			for i := range b.Events {
				if err := in.event(ctx, tx, b.Channel, &b.Events[i], now, &res); err != nil {
					return fmt.Errorf("%s/%s event %d (%s): %w", b.Channel.Tenant, b.Channel.ID, i, b.Events[i].ID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

// event stores one event of ch.
func (in *Ingester) event(ctx context.Context, tx store.Tx, ch Channel, ev *platform.Event, now time.Time, res *Result) error {
	switch {
	case ev.Kind == platform.KindMessage && ev.Message != nil:
		return in.message(ctx, tx, ch, ev, now, res)
	case ev.Kind == platform.KindContact && ev.Contact != "" && ev.Status != "":
		return in.contactEvent(ctx, tx, ch, ev, now, res)
	}
	res.Other++
	return nil
}

func (in *Ingester) message(ctx context.Context, tx store.Tx, ch Channel, ev *platform.Event, now time.Time, res *Result) error {
	contact, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: ch.Tenant, Channel: ch.ID, ExternalID: ev.Contact}, ev.ContactName, now)
	if err != nil {
		return err
	}
	dup, err := tx.MessageExists(ctx, ch.Tenant, ch.ID, ev.ID)
	if err != nil {
		return err
	}
	if dup {
		res.Duplicates++
		return nil
	}
	conv, state, err := conversationFor(ctx, tx, ch, contact, now)
	if err != nil {
		return err
	}
	m := store.Message{
		Tenant:         ch.Tenant,
		Channel:        ch.ID,
		ConversationID: conv.ID,
		ContactID:      contact.ID,
		PlatformID:     ev.ID,
		Direction:      store.Inbound,
		Kind:           ev.Message.Kind,
		Body:           ev.Message.Text,
		MediaURL:       ev.Message.MediaRef,
		MediaType:      ev.Message.MediaType,
		ReplyTo:        ev.Message.ReplyTo,
		Sender:         ev.Contact,
		SentAt:         ev.Timestamp,
		ReceivedAt:     now,
		StateAtReceipt: state,
		PushStatus:     store.Pending,
	}
	if m.SentAt.IsZero() {
		m.SentAt = now
	}
	if !statemachine.ShouldPush(state, ch.Excluded) {
		m.PushStatus = store.Excluded
		m.PushReason = fmt.Sprintf("state %s is excluded for org %s", state, ch.OrgID)
	}
	if _, inserted, err := tx.InsertMessage(ctx, m); err != nil {
		return err
	} else if !inserted {
		res.Duplicates++
		return nil
	}
	if err := tx.TouchConversation(ctx, conv.ID, now); err != nil {
		return err
	}
	res.Stored++
	if m.PushStatus == store.Pending {
		res.Pending++
	} else {
		res.Excluded++
	}
	res.Conversations = append(res.Conversations, conv.ID)
	return nil
}

// contactEvent records what the platform said about a contact (creating
// the contact when it is new). A platform's retry of an older event never
// overrides a newer status.
func (in *Ingester) contactEvent(ctx context.Context, tx store.Tx, ch Channel, ev *platform.Event, now time.Time, res *Result) error {
	contact, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: ch.Tenant, Channel: ch.ID, ExternalID: ev.Contact}, ev.ContactName, now)
	if err != nil {
		return err
	}
	at := ev.Timestamp
	if at.IsZero() {
		at = now
	}
	if _, err := tx.SetContactPlatformStatus(ctx, contact.ID, ev.Status, at); err != nil {
		return err
	}
	res.ContactEvents++
	return nil
}

// conversationFor finds or opens the conversation an inbound message of
// contact belongs to, applying the state machine, and returns it with the
// state the push decision is taken with.
func conversationFor(ctx context.Context, tx store.Tx, ch Channel, contact store.Contact, now time.Time) (store.Conversation, statemachine.State, error) {
	conv, err := tx.LiveConversation(ctx, contact.ID)
	switch {
	case err == nil:
		t, err := statemachine.Next(conv.State, statemachine.Event{Kind: statemachine.Inbound, HasBot: ch.HasBot})
		if err != nil {
			return store.Conversation{}, 0, err
		}
		if t.Changed {
			conv, err = tx.ApplyTransition(ctx, store.Transition{
				ConversationID: conv.ID, From: t.From, To: t.To,
				Event: statemachine.Inbound.String(), Actor: "system", Reason: "inbound message", At: now,
			})
			if err != nil {
				return store.Conversation{}, 0, err
			}
		}
		return conv, t.To, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Conversation{}, 0, err
	}

	if contact.BlockedInbound {
		// A contact blocked for inbound never gets a new conversation: the
		// message is recorded on its most recent one, as a BLOCKED message.
		latest, err := tx.LatestConversation(ctx, contact.ID)
		if err == nil {
			return latest, statemachine.Blocked, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Conversation{}, 0, err
		}
		// Blocked before it ever wrote: a BLOCKED conversation records it.
		c, err := tx.CreateConversation(ctx, newConversation(ch, contact, statemachine.Blocked, now), "system", "inbound message from a blocked contact")
		return c, statemachine.Blocked, err
	}
	initial := statemachine.Initial(ch.HasBot)
	c, err := tx.CreateConversation(ctx, newConversation(ch, contact, initial, now), "system", "inbound message")
	return c, initial, err
}

func newConversation(ch Channel, contact store.Contact, s statemachine.State, now time.Time) store.Conversation {
	return store.Conversation{
		Tenant: ch.Tenant, Channel: ch.ID, ContactID: contact.ID, ContactExternalID: contact.ExternalID,
		State: s, CreatedAt: now, UpdatedAt: now, LastActivityAt: now,
	}
}
