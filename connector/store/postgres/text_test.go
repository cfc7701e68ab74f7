package postgres

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// TestTextParametersAreCleaned: a NUL or invalid UTF-8 that reaches the
// driver despite the boundaries is stored cleaned, never failing the
// transaction (PostgreSQL refuses both in a text value).
func TestTextParametersAreCleaned(t *testing.T) {
	s, _ := migrated(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	var c store.Contact
	var m store.Message
	err := s.WithTx(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.UpsertContact(ctx, store.ContactKey{Tenant: "t1", Channel: "web", ExternalID: "v\x00-1\xff"}, "Ann\x00", now)
		if err != nil {
			return err
		}
		conv, err := tx.CreateConversation(ctx, store.Conversation{Tenant: "t1", Channel: "web", ContactID: c.ID, State: statemachine.Open, CreatedAt: now}, "sys\x00tem", "test")
		if err != nil {
			return err
		}
		m, _, err = tx.InsertMessage(ctx, store.Message{
			Tenant: "t1", Channel: "web", ConversationID: conv.ID, ContactID: c.ID, PlatformID: "m\x00-1",
			Direction: store.Inbound, Kind: "text", Body: "hi\x00 \xc3(", ReplyTo: "m\x000", Sender: "v\x00",
			SentAt: now, ReceivedAt: now, StateAtReceipt: statemachine.Open, PushStatus: store.Pending,
		})
		if err != nil {
			return err
		}
		if err := tx.SetTags(ctx, c.ID, []string{"vip\x00"}); err != nil {
			return err
		}
		_, err = tx.AddNote(ctx, store.Note{ContactID: c.ID, Text: "no\x00te", Author: "a\x00", CreatedAt: now})
		return err
	})
	if err != nil {
		t.Fatalf("storing text with NUL and invalid UTF-8: %v", err)
	}
	got, err := s.GetContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExternalID != "v-1\uFFFD" || got.DisplayName != "Ann" || len(got.Tags) != 1 || got.Tags[0] != "vip" {
		t.Errorf("contact stored as %q %q %q", got.ExternalID, got.DisplayName, got.Tags)
	}
	ms, err := s.ListMessages(ctx, m.ConversationID)
	if err != nil || len(ms) != 1 {
		t.Fatalf("ListMessages = %v, %v", ms, err)
	}
	if ms[0].PlatformID != "m-1" || ms[0].Body != "hi \uFFFD(" || ms[0].ReplyTo != "m0" || ms[0].Sender != "v" {
		t.Errorf("message stored as %q %q %q %q", ms[0].PlatformID, ms[0].Body, ms[0].ReplyTo, ms[0].Sender)
	}
	notes, err := s.Notes(ctx, c.ID)
	if err != nil || len(notes) != 1 || notes[0].Text != "note" {
		t.Errorf("Notes = %+v, %v", notes, err)
	}

	// A delivery under the name as given before: the contact is known
	// under it (stored cleaned), and found.
	err = s.WithTx(ctx, func(tx store.Tx) error {
		in, err := tx.Inbound(ctx, store.ContactKey{Tenant: "t1", Channel: "web", ExternalID: "v\x00-1\xff"}, "Ann\x00", now, "m\x00-1")
		if err == nil && (in.Contact.ID != c.ID || !in.Stored || !in.HasLive) {
			t.Errorf("Inbound of the contact's next delivery = %+v", in)
		}
		return err
	})
	if err != nil {
		t.Errorf("Inbound of the contact's next delivery: %v", err)
	}
}
