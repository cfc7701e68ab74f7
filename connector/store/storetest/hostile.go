package storetest

import (
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// testHostileText stores what hostile deliveries hand the store once the
// webhooks normalised them (platform.Normalize): text that held NUL
// characters and invalid UTF-8, ids of the longest accepted length made of
// multi-byte characters, a 1 MiB text, and reads back exactly the same on
// every driver.
func testHostileText(e env) {
	longID := strings.Repeat("é", platform.MaxIDBytes/2) + "x" // 255 bytes, 128 characters
	body := strings.Repeat("1 MiB of text 😀 ", 1<<20/20) + "\x00end \xff\xfe"
	events := platform.Normalize([]platform.Event{
		{Kind: platform.KindMessage, ID: "web\x00-1\xff", Contact: "visitor\x00-1", ContactName: "Ann\x00 \xc3(",
			Message: &platform.Message{Kind: platform.Text, Text: "hi\x00 there \xc3(", ReplyTo: "web-0\x00", MediaRef: "https://x/\x00a", MediaType: "image/\xff"}},
		{Kind: platform.KindMessage, ID: longID, Contact: longID, Message: &platform.Message{Kind: platform.Text, Text: body}},
	}, []byte("{}"))
	want := []struct{ id, contact, name, text, replyTo, media, mediaType string }{
		{"web-1\uFFFD", "visitor-1", "Ann \uFFFD(", "hi there \uFFFD(", "web-0", "https://x/a", "image/\uFFFD"},
		{longID, longID, "", strings.Repeat("1 MiB of text 😀 ", 1<<20/20) + "end \uFFFD", "", "", ""},
	}
	for i, ev := range events {
		if ev.Kind != platform.KindMessage {
			e.t.Fatalf("event %d normalised to %s (%s), want a message", i, ev.Kind, ev.Reason)
		}
		w := want[i]
		var c store.Contact
		var m store.Message
		e.tx(func(tx store.Tx) error {
			var err error
			c, err = tx.UpsertContact(e.ctx, store.ContactKey{Tenant: "t1", Channel: "web", ExternalID: ev.Contact}, ev.ContactName, t0)
			if err != nil {
				return err
			}
			conv, err := tx.CreateConversation(e.ctx, store.Conversation{
				Tenant: "t1", Channel: "web", ContactID: c.ID, State: statemachine.Open, CreatedAt: t0,
			}, "system", "test")
			if err != nil {
				return err
			}
			m, _, err = tx.InsertMessage(e.ctx, store.Message{
				Tenant: "t1", Channel: "web", ConversationID: conv.ID, ContactID: c.ID,
				PlatformID: ev.ID, Direction: store.Inbound, Kind: ev.Message.Kind, Body: ev.Message.Text,
				MediaURL: ev.Message.MediaRef, MediaType: ev.Message.MediaType, ReplyTo: ev.Message.ReplyTo,
				Sender: ev.Contact, SentAt: t0, ReceivedAt: t0, StateAtReceipt: statemachine.Open, PushStatus: store.Pending,
			})
			return err
		})
		got, err := e.s.GetContact(e.ctx, c.ID)
		if err != nil {
			e.t.Fatalf("GetContact: %v", err)
		}
		if got.ExternalID != w.contact || got.DisplayName != w.name {
			e.t.Errorf("event %d: contact stored as %q %q, want %q %q", i, got.ExternalID, got.DisplayName, w.contact, w.name)
		}
		ms := e.messages(m.ConversationID)
		if len(ms) != 1 {
			e.t.Fatalf("event %d: %d messages stored, want 1", i, len(ms))
		}
		sm := ms[0]
		if sm.PlatformID != w.id || sm.Sender != w.contact || sm.Body != w.text || sm.ReplyTo != w.replyTo ||
			sm.MediaURL != w.media || sm.MediaType != w.mediaType {
			e.t.Errorf("event %d: stored id %q sender %q reply-to %q media %q %q body of %d bytes; want %q %q %q %q %q and %d bytes (equal: %v)",
				i, sm.PlatformID, sm.Sender, sm.ReplyTo, sm.MediaURL, sm.MediaType, len(sm.Body),
				w.id, w.contact, w.replyTo, w.media, w.mediaType, len(w.text), sm.Body == w.text)
		}
		var exists bool
		e.tx(func(tx store.Tx) error {
			var err error
			exists, err = tx.MessageExists(e.ctx, "t1", "web", w.id)
			return err
		})
		if !exists {
			e.t.Errorf("event %d: MessageExists(%q) = false after storing it", i, w.id)
		}
	}
}
