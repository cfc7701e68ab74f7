package integration_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// The tests of this file are the users' descriptions of blocking (the
// seeds), each run through the API of the running binary.

// lastTransition returns the conversation's latest history entry.
func lastTransition(t *testing.T, conv apiConversation) apiTransition {
	t.Helper()
	if len(conv.History) == 0 {
		t.Fatalf("conversation %d has no history", conv.ID)
	}
	return conv.History[len(conv.History)-1]
}

// historyOf writes a history compactly: "OPEN->BLOCKED set_state by alice (spam)".
func historyOf(h []apiTransition) string {
	parts := make([]string, len(h))
	for i, tr := range h {
		from := "-"
		if tr.FromName != "" {
			from = tr.FromName
		}
		parts[i] = fmt.Sprintf("%s->%s %s by %s (%s)", from, tr.ToName, tr.Event, tr.Actor, tr.Reason)
	}
	return strings.Join(parts, ", ")
}

// TestBlockFromConversationAndFromContactsListWithNote blocks one contact
// from the help desk (change_state 4 on its conversation, with a reason)
// and another from the contacts page (PUT .../block with a note): both
// conversations are BLOCKED with a history entry naming who and why, both
// contacts are blocked both ways, and the blocked list shows each note,
// who blocked and when. A blocked contact's next message is recorded on
// its conversation and opens no new one; setting BLOCKED again changes
// nothing.
func TestBlockFromConversationAndFromContactsListWithNote(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann, ben, cal = "31600001001", "31600001002", "31600001003"
	for _, m := range []struct{ from, name, id string }{{ann, "Ann", "wamid.BC1"}, {ben, "Ben", "wamid.BC2"}, {cal, "Cal", "wamid.BC3"}} {
		e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, m.from, m.name, m.id, "hello from "+m.name, time.Now()))
	}
	since := time.Now()

	// From the help desk: change_state 4 on Ann's conversation.
	annConv := alice.conversationOf("wa", ann)
	if annConv.StateName != "OPEN" {
		t.Fatalf("Ann's conversation is %s before the block, want OPEN", annConv.StateName)
	}
	got := alice.mustChangeState(annConv.ID, 4, "spam from the help desk")
	if got.ID != annConv.ID || got.State != 4 || got.StateName != "BLOCKED" || got.Changed == nil || !*got.Changed {
		t.Errorf("change_state 4: answer id %d state %d %q changed %v; want conversation %d, 4 BLOCKED, changed true",
			got.ID, got.State, got.StateName, got.Changed, annConv.ID)
	}
	again := alice.mustChangeState(annConv.ID, "BLOCKED", "")
	if again.State != 4 || again.Changed == nil || *again.Changed {
		t.Errorf("change_state BLOCKED again: state %d changed %v; want 4 and changed false (a no-op)", again.State, again.Changed)
	}
	annConv = alice.conversation(annConv.ID)
	tr := lastTransition(t, annConv)
	if tr.From == nil || *tr.From != 0 || tr.To != 4 || tr.ToName != "BLOCKED" || tr.Event != "set_state" || tr.Actor != "alice" || tr.Reason != "spam from the help desk" || !recent(tr.At, since) {
		t.Errorf("Ann's last history entry %+v, want OPEN->BLOCKED set_state by alice with the reason, just now", tr)
	}
	var setStates int
	for _, h := range annConv.History {
		if h.Event == "set_state" {
			setStates++
		}
	}
	if setStates != 1 {
		t.Errorf("Ann's history %s: %d set_state entries, want 1 (setting the same state again is a no-op)", historyOf(annConv.History), setStates)
	}

	// From the contacts page: PUT .../block with a note, directions left
	// to their default (both).
	benConv := alice.conversationOf("wa", ben)
	ans := alice.block(benConv.ContactID, map[string]any{"note": "harassing the agents"})
	if b := ans.Contact.Blocked; b == nil || !b.Inbound || !b.Outbound || b.Note != "harassing the agents" || b.By != "alice" || !recent(b.At, since) {
		t.Errorf("PUT block: contact's block %+v, want both directions, the note, by alice, just now", b)
	}
	benConv = alice.conversation(benConv.ID)
	if benConv.StateName != "BLOCKED" || benConv.State != 4 {
		t.Errorf("Ben's conversation is %d %s after the block, want 4 BLOCKED", benConv.State, benConv.StateName)
	}
	if tr := lastTransition(t, benConv); tr.ToName != "BLOCKED" || tr.Event != "block" || tr.Actor != "alice" {
		t.Errorf("Ben's last history entry %+v, want ->BLOCKED block by alice", tr)
	}

	// The blocked list.
	blocked := alice.contacts("blocked=true")
	for _, w := range []struct{ ext, note string }{{ann, "spam from the help desk"}, {ben, "harassing the agents"}} {
		c, ok := contactByExternalID(blocked, w.ext)
		if !ok {
			t.Errorf("contact %s is not in GET contacts?blocked=true: %+v", w.ext, blocked)
			continue
		}
		if b := c.Blocked; b == nil || !b.Inbound || !b.Outbound || b.Note != w.note || b.By != "alice" || !recent(b.At, since) {
			t.Errorf("blocked list: %s's block %+v, want both directions, note %q, by alice, just now", w.ext, b, w.note)
		}
	}
	if _, ok := contactByExternalID(blocked, cal); ok || len(blocked) != 2 {
		t.Errorf("GET contacts?blocked=true lists %d contacts (%+v), want Ann and Ben only", len(blocked), blocked)
	}

	// A blocked contact's message is recorded on its conversation, which
	// stays BLOCKED; no conversation is created.
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.BC4", "still here", time.Now())); a.Stored != 1 {
		t.Fatalf("Ann's message while blocked: answer %+v, want 1 stored", a)
	}
	annConv = alice.conversation(annConv.ID)
	if m := requireMessage(t, annConv, "wamid.BC4"); m.StateAtReceipt != 4 || m.Body != "still here" || m.Direction != "inbound" {
		t.Errorf("Ann's message while blocked: %+v, want an inbound message with state_at_receipt 4", m)
	}
	if annConv.StateName != "BLOCKED" {
		t.Errorf("Ann's conversation is %s after her message, want BLOCKED", annConv.StateName)
	}
	if convs := alice.conversations(fmt.Sprintf("contact=%d", annConv.ContactID)); len(convs) != 1 {
		t.Errorf("Ann has %d conversations, want 1 (a blocked contact's message opens none): %+v", len(convs), convs)
	}
}

// TestInboundOnlyBlockStillAllowsReplies blocks a contact for inbound
// only: the conversation becomes BLOCKED, the contact's messages are
// recorded on it, and an agent can still reply (201, sent through the
// Graph API).
func TestInboundOnlyBlockStillAllowsReplies(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann = "31600001101"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.IN1", "hello", time.Now()))
	conv := alice.conversationOf("wa", ann)

	ans := alice.block(conv.ContactID, map[string]any{"inbound": true, "outbound": false, "note": "only stop them writing"})
	if b := ans.Contact.Blocked; b == nil || !b.Inbound || b.Outbound || b.Note != "only stop them writing" {
		t.Fatalf("inbound-only block: contact's block %+v, want inbound only with the note", b)
	}
	if c := alice.conversation(conv.ID); c.StateName != "BLOCKED" {
		t.Errorf("conversation is %s after the inbound block, want BLOCKED", c.StateName)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.IN2", "are you there?", time.Now())); a.Stored != 1 {
		t.Fatalf("message while blocked for inbound: answer %+v, want 1 stored", a)
	}
	if m := requireMessage(t, alice.conversation(conv.ID), "wamid.IN2"); m.StateAtReceipt != 4 {
		t.Errorf("message while blocked for inbound has state_at_receipt %d, want 4", m.StateAtReceipt)
	}

	r := alice.reply(conv.ID, "we can still reach you")
	if r.Status != http.StatusCreated {
		t.Fatalf("reply to a contact blocked for inbound only: %s, want 201", r)
	}
	var sent struct {
		Message apiMessage `json:"message"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil {
		t.Fatalf("reply answer %s: %v", r.Body, err)
	}
	sends := g.callsTo(http.MethodPost, "messages")
	if len(sends) != 1 {
		t.Fatalf("the Graph API got %d sends, want 1: %s", len(sends), g.allCalls())
	}
	var req struct {
		To   string `json:"to"`
		Text struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	if err := json.Unmarshal(sends[0].Body, &req); err != nil || req.To != ann || req.Text.Body != "we can still reach you" || sends[0].Path != "/"+defaultPhoneNumberID+"/messages" {
		t.Errorf("the Graph API got %s %s, want a text to %s on /%s/messages", sends[0].Path, sends[0].Body, ann, defaultPhoneNumberID)
	}
	m := sent.Message
	if m.Direction != "outbound" || m.Body != "we can still reach you" || m.SentID != "wamid.OUT1" || m.DeliveryStatus != "sent" || m.Sender != "alice" {
		t.Errorf("the reply's message %+v, want outbound, the text, sent as wamid.OUT1, sender alice", m)
	}
	if got := requireMessage(t, alice.conversation(conv.ID), m.PlatformID); got.Direction != "outbound" || got.SentID != "wamid.OUT1" {
		t.Errorf("the conversation's reply %+v, want it outbound", got)
	}
}

// TestOutboundOnlyBlockRefusesRepliesAndKeepsInbound blocks a contact for
// outbound only: a reply is refused with 409 contact_blocked and nothing
// is sent, the conversation's state is unchanged, the contact's messages
// are still pushed, and no native block is asked of the platform.
func TestOutboundOnlyBlockRefusesRepliesAndKeepsInbound(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann = "31600001201"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.OB1", "hello", time.Now()))
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.OB1"))
	conv := alice.conversation(alice.conversationOf("wa", ann).ID)

	ans := alice.block(conv.ContactID, map[string]any{"inbound": false, "outbound": true, "note": "asked not to be contacted"})
	if b := ans.Contact.Blocked; b == nil || b.Inbound || !b.Outbound || b.Note != "asked not to be contacted" {
		t.Fatalf("outbound-only block: contact's block %+v, want outbound only with the note", b)
	}
	after := alice.conversation(conv.ID)
	if after.StateName != "OPEN" || len(after.History) != len(conv.History) {
		t.Errorf("conversation after the outbound block: %s with history %s, want OPEN and no new entry", after.StateName, historyOf(after.History))
	}

	r := alice.reply(conv.ID, "a marketing message")
	if r.Status != http.StatusConflict || r.errorCode() != "contact_blocked" || r.errorMessage() == "" {
		t.Errorf("reply to a contact blocked for outbound: %s, want 409 contact_blocked with a message", r)
	}
	if sends := g.callsTo(http.MethodPost, "messages"); len(sends) != 0 {
		t.Errorf("the refused reply reached the Graph API: %s", g.allCalls())
	}

	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.OB2", "still a question", time.Now())); a.Pending != 1 {
		t.Fatalf("inbound message while blocked for outbound: answer %+v, want 1 pending", a)
	}
	rec := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.OB2"))
	if got := field(rec, "Conversation_State__c"); got != "OPEN" {
		t.Errorf("the inbound message's Conversation_State__c = %q, want OPEN", got)
	}
	final := alice.conversation(conv.ID)
	if final.StateName != "OPEN" {
		t.Errorf("conversation is %s after the inbound message, want OPEN", final.StateName)
	}
	if m := requireMessage(t, final, "wamid.OB2"); m.StateAtReceipt != 0 {
		t.Errorf("the inbound message's state_at_receipt is %d, want 0", m.StateAtReceipt)
	}
	if calls := g.callsTo(http.MethodPost, "block_users"); len(calls) != 0 {
		t.Errorf("an outbound-only block asked the platform for a native block: %s", g.allCalls())
	}
}

// TestMessagesDuringBlockAreRecordedNotPushedNorReprocessed blocks a
// contact on a bot channel and one on a channel without a bot, for an org
// that excludes BLOCKED: their messages during the block are recorded
// (visible with push status excluded) and not pushed; after the unblock
// the conversations are AUTO_BOT and OPEN again, the messages of the block
// are never pushed, and the first new message is handled normally.
func TestMessagesDuringBlockAreRecordedNotPushedNorReprocessed(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme, Excluded: []string{"BLOCKED"},
		Channels: []channelSpec{waChannel("bot", "1065551301", true, g), waChannel("wa", "1065551302", false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	cases := []struct {
		channel, phone, contact, live string
	}{
		{"bot", "1065551301", "31600001301", "AUTO_BOT"},
		{"wa", "1065551302", "31600001302", "OPEN"},
	}
	id := func(channel string, n int) string { return fmt.Sprintf("wamid.%s.D%d", channel, n) }
	convs := map[string]apiConversation{}
	for _, c := range cases {
		e.postWhatsApp("acme", c.channel, whatsapp.TextDelivery(c.phone, c.contact, "", id(c.channel, 1), "first", time.Now()))
		waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", c.channel, id(c.channel, 1)))
		conv := alice.conversationOf(c.channel, c.contact)
		if conv.StateName != c.live {
			t.Fatalf("%s: the first conversation is %s, want %s", c.channel, conv.StateName, c.live)
		}
		alice.block(conv.ContactID, map[string]any{"note": "spam"})
		waitForField(t, acme.SF, convObject, "Conversation_Key__c", convKey("acme", c.channel, conv.ID), "State__c", "BLOCKED")
		for n := 2; n <= 3; n++ {
			if a := e.postWhatsApp("acme", c.channel, whatsapp.TextDelivery(c.phone, c.contact, "", id(c.channel, n), "during the block", time.Now())); a.Stored != 1 || a.Excluded != 1 {
				t.Fatalf("%s: message %d during the block: answer %+v, want 1 stored and excluded", c.channel, n, a)
			}
		}
		conv = alice.conversation(conv.ID)
		for n := 2; n <= 3; n++ {
			m := requireMessage(t, conv, id(c.channel, n))
			if m.StateAtReceipt != 4 || m.PushStatus != "excluded" || m.Body != "during the block" {
				t.Errorf("%s: message %d during the block: %+v, want it recorded with state_at_receipt 4 and push_status excluded", c.channel, n, m)
			}
		}
		convs[c.channel] = conv
	}

	for _, c := range cases {
		conv := convs[c.channel]
		alice.unblock(conv.ContactID)
		got := alice.conversation(conv.ID)
		if got.StateName != c.live {
			t.Errorf("%s: conversation is %s after the unblock, want %s", c.channel, got.StateName, c.live)
		}
		if tr := lastTransition(t, got); tr.FromName != "BLOCKED" || tr.ToName != c.live || tr.Event != "unblock" {
			t.Errorf("%s: last history entry %+v, want BLOCKED->%s unblock", c.channel, tr, c.live)
		}
		if ct := alice.contact(conv.ContactID); ct.Blocked != nil {
			t.Errorf("%s: contact still blocked after the unblock: %+v", c.channel, ct.Blocked)
		}
	}

	// The first new message after the unblock is handled normally: it goes
	// to the same conversation, in its live state, and is pushed.
	for _, c := range cases {
		conv := convs[c.channel]
		if a := e.postWhatsApp("acme", c.channel, whatsapp.TextDelivery(c.phone, c.contact, "", id(c.channel, 4), "after the unblock", time.Now())); a.Pending != 1 {
			t.Fatalf("%s: the first message after the unblock: answer %+v, want 1 pending", c.channel, a)
		}
		rec := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", c.channel, id(c.channel, 4)))
		if got := field(rec, "Conversation_State__c"); got != c.live {
			t.Errorf("%s: the message after the unblock has Conversation_State__c %q, want %s", c.channel, got, c.live)
		}
		parent := conversationRecords(t, acme.SF)[convKey("acme", c.channel, conv.ID)]
		if parent.ID == "" || field(rec, "Chat_Conversation__c") != parent.ID {
			t.Errorf("%s: the message after the unblock is under %q, want the conversation's record %q", c.channel, field(rec, "Chat_Conversation__c"), parent.ID)
		}
		waitForField(t, acme.SF, convObject, "Conversation_Key__c", convKey("acme", c.channel, conv.ID), "State__c", c.live)
	}

	// Let the timers run a few rounds: nothing of the block is pushed or
	// reprocessed.
	waitForTimerRounds(t, e, 2)
	msgs := messageRecords(t, acme.SF)
	for _, c := range cases {
		for n := 2; n <= 3; n++ {
			if _, ok := msgs[msgKey("acme", c.channel, id(c.channel, n))]; ok {
				t.Errorf("%s: message %d of the block reached Salesforce after the unblock", c.channel, n)
			}
		}
		conv := alice.conversation(convs[c.channel].ID)
		for n := 2; n <= 3; n++ {
			if m := requireMessage(t, conv, id(c.channel, n)); m.PushStatus != "excluded" || m.StateAtReceipt != 4 {
				t.Errorf("%s: message %d of the block is now %+v, want it still excluded with state_at_receipt 4", c.channel, n, m)
			}
		}
		if m := requireMessage(t, conv, id(c.channel, 4)); m.PushStatus != "pushed" {
			t.Errorf("%s: the message after the unblock has push_status %q, want pushed", c.channel, m.PushStatus)
		}
		if conv.StateName != c.live {
			t.Errorf("%s: conversation is %s, want %s", c.channel, conv.StateName, c.live)
		}
	}
	if len(msgs) != 4 {
		t.Errorf("%d message records in Salesforce, want 4 (the first and the post-unblock message of each channel)", len(msgs))
	}
}

// TestBlockedListShowsNoteWhoWhenAndNativeStatus blocks contacts in
// several ways and reads the blocked list: every blocked contact (inbound,
// outbound or both) with its note, who blocked it, when, and its native
// status (applied on WhatsApp and the web chat, unsupported on Telegram,
// none for an outbound-only block); the others are in blocked=false; the
// list pages and filters by channel; an unblocked contact leaves it.
func TestBlockedListShowsNoteWhoWhenAndNativeStatus(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g), {ID: "web", Platform: "webchat"}, {ID: "tg", Platform: "telegram"}}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")
	root := e.newCaller("acme", "root", "admin")

	const ann, ben, cal, dan, vis = "31600001401", "31600001402", "31600001403", "31600001404", "v-1401"
	for _, c := range []string{ann, ben, cal, dan} {
		e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, c, "", "wamid.L"+c, "hi", time.Now()))
	}
	web, err := json.Marshal(webchat.Delivery{Events: []webchat.Event{{ID: "evt-1401", Type: "message",
		Visitor: webchat.Visitor{ID: vis, Name: "Vi"}, Timestamp: time.Now().Format(time.RFC3339), Message: &webchat.Message{Text: "test"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.postWebChat("acme", "web", web)
	tg := telegram.TextUpdate(901401, telegram.User{ID: 7000001401, FirstName: "Tom"}, 1, "hi", time.Now())
	if resp, err := e.sender().Post(t.Context(), "acme", "tg", tg, telegram.SecretHeader, telegram.Sign(telegramSecret, tg)); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("telegram delivery: %d (%v) %s", resp.Status, err, resp.Body)
	}
	since := time.Now()

	contactID := map[string]int64{}
	for _, c := range []string{ann, ben, cal, dan} {
		contactID[c] = alice.conversationOf("wa", c).ContactID
	}
	contactID[vis] = alice.conversationOf("web", vis).ContactID
	tgConvs := alice.conversations("channel=tg")
	if len(tgConvs) != 1 {
		t.Fatalf("the telegram channel has %d conversations, want 1", len(tgConvs))
	}
	tom := tgConvs[0].Contact
	contactID[tom] = tgConvs[0].ContactID

	type want struct {
		by, note          string
		inbound, outbound bool
		native            string
	}
	wants := map[string]want{
		ann: {"alice", "spam", true, true, "applied"},
		ben: {"root", "abusive", true, false, "applied"},
		cal: {"alice", "asked for no marketing", false, true, ""},
		// The web chat is the connector's own channel: its native block is
		// the connector's refusal, applied at once. Telegram has none.
		vis: {"alice", "test account", true, true, "applied"},
		tom: {"root", "bot abuse", true, true, "unsupported"},
	}
	alice.block(contactID[ann], map[string]any{"note": "spam"})
	root.block(contactID[ben], map[string]any{"inbound": true, "outbound": false, "note": "abusive"})
	alice.block(contactID[cal], map[string]any{"inbound": false, "outbound": true, "note": "asked for no marketing"})
	alice.block(contactID[vis], map[string]any{"inbound": true, "outbound": true, "note": "test account"})
	root.block(contactID[tom], map[string]any{"note": "bot abuse"})

	list := alice.contacts("blocked=true")
	var ids []int64
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if len(list) != len(wants) {
		t.Errorf("GET contacts?blocked=true lists %d contacts, want %d: %+v", len(list), len(wants), list)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("the blocked list's ids %v are not ascending", ids)
	}
	for ext, w := range wants {
		c, ok := contactByExternalID(list, ext)
		if !ok {
			t.Errorf("contact %s is not in the blocked list", ext)
			continue
		}
		b := c.Blocked
		if b == nil || b.By != w.by || b.Note != w.note || b.Inbound != w.inbound || b.Outbound != w.outbound || !recent(b.At, since) {
			t.Errorf("blocked list: %s's block %+v, want by %s, note %q, inbound %v, outbound %v, just now", ext, b, w.by, w.note, w.inbound, w.outbound)
		}
		switch got := c.nativeStatus(); {
		case w.native != "" && got != w.native:
			t.Errorf("blocked list: %s's native status %q, want %q", ext, got, w.native)
		case w.native == "" && got == "applied":
			t.Errorf("blocked list: %s (outbound only) has native status applied; no native block was asked", ext)
		}
	}
	if _, ok := contactByExternalID(list, dan); ok {
		t.Errorf("the contact that was not blocked is in the blocked list")
	}
	others := alice.contacts("blocked=false")
	if c, ok := contactByExternalID(others, dan); !ok || c.Blocked != nil {
		t.Errorf("GET contacts?blocked=false: Dan is %+v (found %v), want him there, unblocked", c, ok)
	}
	for ext := range wants {
		if _, ok := contactByExternalID(others, ext); ok {
			t.Errorf("GET contacts?blocked=false lists the blocked contact %s", ext)
		}
	}

	// Paging one at a time gives the same list; the channel filter keeps
	// the web chat's one.
	var paged []int64
	for _, c := range alice.contacts("blocked=true&limit=1") {
		paged = append(paged, c.ID)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("the blocked list paged one at a time is %v, want %v", paged, ids)
	}
	var first struct {
		Contacts  []apiContact `json:"contacts"`
		NextAfter int64        `json:"next_after"`
	}
	alice.must(http.MethodGet, "/contacts?blocked=true&limit=1", nil, http.StatusOK, &first)
	if len(first.Contacts) != 1 || first.NextAfter == 0 {
		t.Errorf("GET contacts?blocked=true&limit=1: %d contacts, next_after %d; want 1 and a next_after", len(first.Contacts), first.NextAfter)
	}
	if web := alice.contacts("blocked=true&channel=web"); len(web) != 1 || web[0].ExternalID != vis {
		t.Errorf("GET contacts?blocked=true&channel=web: %+v, want the visitor only", web)
	}

	alice.unblock(contactID[ann])
	if _, ok := contactByExternalID(alice.contacts("blocked=true"), ann); ok {
		t.Errorf("Ann is still in the blocked list after the unblock")
	}
	if c, ok := contactByExternalID(alice.contacts("blocked=false"), ann); !ok || c.Blocked != nil {
		t.Errorf("Ann after the unblock: %+v (in blocked=false: %v), want her unblocked there", c, ok)
	}
}

// TestUnblockAllAndDeleteAll unblocks all of one contact's blocked
// conversations, and deletes all of another's (admin only: an agent gets
// 403 and nothing is removed): delete-all reports the conversations and
// messages it removed, they are gone from the API and the store, the
// contact's expired conversation stays, and the contact stays blocked.
func TestUnblockAllAndDeleteAll(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")
	root := e.newCaller("acme", "root", "admin")
	st := e.openStore()

	send := func(from, id, text string) {
		t.Helper()
		if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, from, "", id, text, time.Now())); a.Stored != 1 {
			t.Fatalf("%s: answer %+v, want 1 stored", id, a)
		}
	}
	// setUp gives the contact an EXPIRED conversation and a BLOCKED one
	// holding the messages msgs, and returns both.
	setUp := func(contact string, msgs ...string) (expired, blocked apiConversation) {
		t.Helper()
		send(contact, "wamid."+contact+".1", "before")
		expired = alice.conversationOf("wa", contact)
		if c := alice.mustChangeState(expired.ID, 1, "done"); c.StateName != "EXPIRED" {
			t.Fatalf("%s: change_state 1 gave %s, want EXPIRED", contact, c.StateName)
		}
		if r := alice.changeState(expired.ID, 0, ""); r.Status != http.StatusConflict || r.errorCode() != "conversation_expired" {
			t.Errorf("change_state of an EXPIRED conversation: %s, want 409 conversation_expired", r)
		}
		send(contact, msgs[0], "new one")
		blocked = alice.conversationOf("wa", contact)
		if blocked.ID == expired.ID {
			t.Fatalf("%s: the message after the expiry went to the expired conversation", contact)
		}
		alice.block(blocked.ContactID, map[string]any{"note": "spam"})
		for _, id := range msgs[1:] {
			send(contact, id, "during the block")
		}
		blocked = alice.conversation(blocked.ID)
		if blocked.StateName != "BLOCKED" || len(blocked.Messages) != len(msgs) {
			t.Fatalf("%s: conversation %d is %s with %d messages, want BLOCKED with %d", contact, blocked.ID, blocked.StateName, len(blocked.Messages), len(msgs))
		}
		return expired, blocked
	}

	// Unblock all.
	const ann, ben = "31600001501", "31600001502"
	annExpired, annBlocked := setUp(ann, "wamid.U2", "wamid.U3")
	var un struct {
		Unblocked *[]int64 `json:"unblocked_conversations"`
	}
	alice.must(http.MethodPost, fmt.Sprintf("/contacts/%d/blocked-conversations/unblock-all", annBlocked.ContactID), nil, http.StatusOK, &un)
	if un.Unblocked == nil || !slices.Equal(*un.Unblocked, []int64{annBlocked.ID}) {
		t.Errorf("unblock-all: unblocked_conversations %v, want [%d]", un.Unblocked, annBlocked.ID)
	}
	if c := alice.conversation(annBlocked.ID); c.StateName != "OPEN" || len(c.Messages) != 2 {
		t.Errorf("after unblock-all, the blocked conversation is %s with %d messages, want OPEN with 2", c.StateName, len(c.Messages))
	}
	if c := alice.conversation(annExpired.ID); c.StateName != "EXPIRED" {
		t.Errorf("after unblock-all, the expired conversation is %s, want it EXPIRED", c.StateName)
	}
	if c := alice.contact(annBlocked.ContactID); c.Blocked != nil {
		t.Errorf("after unblock-all, Ann is still blocked: %+v", c.Blocked)
	}
	un.Unblocked = nil
	alice.must(http.MethodPost, fmt.Sprintf("/contacts/%d/blocked-conversations/unblock-all", annBlocked.ContactID), nil, http.StatusOK, &un)
	if un.Unblocked == nil || len(*un.Unblocked) != 0 {
		t.Errorf("unblock-all again: unblocked_conversations %v, want []", un.Unblocked)
	}

	// Delete all: refused to an agent, done for an admin.
	benExpired, benBlocked := setUp(ben, "wamid.X2", "wamid.X3", "wamid.X4")
	deleteAll := fmt.Sprintf("/contacts/%d/blocked-conversations/delete-all", benBlocked.ContactID)
	r := alice.do(http.MethodPost, deleteAll, nil)
	if r.Status != http.StatusForbidden || r.errorCode() != "forbidden" {
		t.Errorf("delete-all by an agent: %s, want 403 forbidden", r)
	}
	if c := alice.conversation(benBlocked.ID); len(c.Messages) != 3 {
		t.Fatalf("after the agent's refused delete-all, the conversation has %d messages, want 3", len(c.Messages))
	}
	var del struct {
		Deleted  *[]int64 `json:"deleted_conversations"`
		Messages *int     `json:"deleted_messages"`
	}
	root.must(http.MethodPost, deleteAll, nil, http.StatusOK, &del)
	if del.Deleted == nil || !slices.Equal(*del.Deleted, []int64{benBlocked.ID}) || del.Messages == nil || *del.Messages != 3 {
		t.Errorf("delete-all by an admin: %+v %v, want deleted_conversations [%d] and deleted_messages 3", del.Deleted, del.Messages, benBlocked.ID)
	}
	if r := alice.do(http.MethodGet, fmt.Sprintf("/conversations/%d", benBlocked.ID), nil); r.Status != http.StatusNotFound {
		t.Errorf("GET the deleted conversation: %s, want 404", r)
	}
	if msgs := messagesOf(t, st, benBlocked.ID); len(msgs) != 0 {
		t.Errorf("the store still holds %d messages of the deleted conversation", len(msgs))
	}
	for _, id := range []string{"wamid.X2", "wamid.X3", "wamid.X4"} {
		for _, m := range messagesOf(t, st, benExpired.ID) {
			if m.PlatformID == id {
				t.Errorf("message %s of the deleted conversation is now on the expired one", id)
			}
		}
	}
	if c := alice.conversation(benExpired.ID); c.StateName != "EXPIRED" || len(c.Messages) != 1 {
		t.Errorf("Ben's expired conversation is %s with %d messages, want it kept, EXPIRED with 1", c.StateName, len(c.Messages))
	}
	if c := alice.contact(benBlocked.ContactID); c.Blocked == nil || !c.Blocked.Inbound || !c.Blocked.Outbound {
		t.Errorf("after delete-all, Ben's block is %+v, want the contact still blocked", c.Blocked)
	}
	for _, c := range alice.conversations(fmt.Sprintf("contact=%d", benBlocked.ContactID)) {
		if c.ID == benBlocked.ID {
			t.Errorf("the deleted conversation is still listed")
		}
	}
	del.Deleted, del.Messages = nil, nil
	root.must(http.MethodPost, deleteAll, nil, http.StatusOK, &del)
	if del.Deleted == nil || len(*del.Deleted) != 0 || del.Messages == nil || *del.Messages != 0 {
		t.Errorf("delete-all again: %v %v, want [] and 0", del.Deleted, del.Messages)
	}
	// Ann's conversations were not touched by Ben's delete-all.
	if n := len(messagesOf(t, st, annBlocked.ID)); n != 2 {
		t.Errorf("Ann's conversation has %d messages after Ben's delete-all, want 2", n)
	}
}

// TestBlockingDisabledPerTenant lets an admin switch blocking off for a
// tenant (agents may read the setting but not change it): block requests,
// from the contacts page and by change_state 4, get 403
// blocking_disabled and change nothing. A tenant whose configuration
// switches blocking off starts that way. Switching it on again lets
// blocks through.
func TestBlockingDisabledPerTenant(t *testing.T) {
	t.Parallel()
	orgA := newOrg(t, "00D000000000161EAA", nil)
	orgB := newOrg(t, "00D000000000162EAA", nil)
	g := newGraphStandin(t)
	off := false
	e := newEnv(t, envOptions{Tenants: []tenantSpec{
		{ID: "acme", Org: orgA, Channels: []channelSpec{waChannel("wa", "1065551601", false, g)}},
		{ID: "globex", Org: orgB, BlockingEnabled: &off, Channels: []channelSpec{waChannel("wa", "1065551602", false, g)}},
	}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")
	root := e.newCaller("acme", "root", "admin")
	gina := e.newCaller("globex", "gina", "agent")
	gadmin := e.newCaller("globex", "gadmin", "admin")

	var s struct {
		BlockingEnabled *bool `json:"blocking_enabled"`
	}
	alice.must(http.MethodGet, "/settings", nil, http.StatusOK, &s)
	if s.BlockingEnabled == nil || !*s.BlockingEnabled {
		t.Errorf("acme's settings before the change: blocking_enabled %v, want true (the default)", s.BlockingEnabled)
	}
	if r := alice.do(http.MethodPut, "/settings", map[string]any{"blocking_enabled": false}); r.Status != http.StatusForbidden || r.errorCode() != "forbidden" {
		t.Errorf("PUT settings by an agent: %s, want 403 forbidden", r)
	}
	s.BlockingEnabled = nil
	root.must(http.MethodPut, "/settings", map[string]any{"blocking_enabled": false}, http.StatusOK, &s)
	if s.BlockingEnabled == nil || *s.BlockingEnabled {
		t.Errorf("PUT settings blocking_enabled false: answer %v, want false", s.BlockingEnabled)
	}
	s.BlockingEnabled = nil
	alice.must(http.MethodGet, "/settings", nil, http.StatusOK, &s)
	if s.BlockingEnabled == nil || *s.BlockingEnabled {
		t.Errorf("acme's settings after the change, read by an agent: %v, want false", s.BlockingEnabled)
	}

	const ann, gus = "31600001601", "31600001602"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery("1065551601", ann, "Ann", "wamid.BD1", "hi", time.Now()))
	e.postWhatsApp("globex", "wa", whatsapp.TextDelivery("1065551602", gus, "Gus", "wamid.BD2", "hi", time.Now()))
	annConv := alice.conversationOf("wa", ann)
	gusConv := gina.conversationOf("wa", gus)

	refused := func(who string, r apiResult, tenant string) {
		t.Helper()
		if r.Status != http.StatusForbidden || r.errorCode() != "blocking_disabled" || !strings.Contains(r.errorMessage(), tenant) {
			t.Errorf("%s with blocking disabled: %s, want 403 blocking_disabled with a message naming %s", who, r, tenant)
		}
	}
	refused("acme PUT block", alice.do(http.MethodPut, fmt.Sprintf("/contacts/%d/block", annConv.ContactID), map[string]any{"note": "spam"}), "acme")
	refused("acme change_state 4", alice.changeState(annConv.ID, 4, "spam"), "acme")
	refused("acme PUT block by an admin", root.do(http.MethodPut, fmt.Sprintf("/contacts/%d/block", annConv.ContactID), map[string]any{}), "acme")
	refused("globex PUT block (off in the configuration)", gina.do(http.MethodPut, fmt.Sprintf("/contacts/%d/block", gusConv.ContactID), map[string]any{"note": "spam"}), "globex")
	if c := alice.contact(annConv.ContactID); c.Blocked != nil {
		t.Errorf("a refused block changed Ann's contact: %+v", c.Blocked)
	}
	if c := alice.conversation(annConv.ID); c.StateName != "OPEN" {
		t.Errorf("a refused block changed Ann's conversation to %s", c.StateName)
	}
	if c := gina.contact(gusConv.ContactID); c.Blocked != nil {
		t.Errorf("a refused block changed Gus's contact: %+v", c.Blocked)
	}
	if calls := g.callsTo(http.MethodPost, "block_users"); len(calls) != 0 {
		t.Errorf("a refused block reached the platform: %s", g.allCalls())
	}
	s.BlockingEnabled = nil
	gina.must(http.MethodGet, "/settings", nil, http.StatusOK, &s)
	if s.BlockingEnabled == nil || *s.BlockingEnabled {
		t.Errorf("globex's settings: blocking_enabled %v, want false (from the configuration)", s.BlockingEnabled)
	}

	// Switched on again, blocks go through.
	root.must(http.MethodPut, "/settings", map[string]any{"blocking_enabled": true}, http.StatusOK, nil)
	if c := alice.mustChangeState(annConv.ID, 4, "spam"); c.StateName != "BLOCKED" {
		t.Errorf("change_state 4 with blocking enabled again: %s, want BLOCKED", c.StateName)
	}
	gadmin.must(http.MethodPut, "/settings", map[string]any{"blocking_enabled": true}, http.StatusOK, nil)
	if a := gina.block(gusConv.ContactID, map[string]any{"note": "spam"}); a.Contact.Blocked == nil {
		t.Errorf("globex block with blocking enabled: the contact is not blocked")
	}
	// The switch is per tenant: acme's setting did not change globex's.
	s.BlockingEnabled = nil
	alice.must(http.MethodGet, "/settings", nil, http.StatusOK, &s)
	if s.BlockingEnabled == nil || !*s.BlockingEnabled {
		t.Errorf("acme's settings at the end: %v, want true", s.BlockingEnabled)
	}
}

// TestGoTalloExcludeBlockedForOrgThenChangeStateAndBack is the GoTallo
// flow: the support team excludes BLOCKED for the org (given in its
// 18-character form); an agent sets the conversation to state 4; the
// contact's next message is stored but does not reach Salesforce; state 0
// again, and the next message does; the conversation's record mirrors each
// state change.
func TestGoTalloExcludeBlockedForOrgThenChangeStateAndBack(t *testing.T) {
	t.Parallel()
	const orgID = "00D000000000177EAA"
	acme := newOrg(t, orgID, nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	type excluded struct {
		OrgID  string `json:"org_id"`
		States []struct {
			State int    `json:"state"`
			Name  string `json:"name"`
		} `json:"excluded_states"`
		Source    string `json:"source"`
		UpdatedBy string `json:"updated_by"`
	}
	names := func(x excluded) string {
		var n []string
		for _, s := range x.States {
			n = append(n, fmt.Sprintf("%d %s", s.State, s.Name))
		}
		return strings.Join(n, ", ")
	}
	readExcluded := func(method, id string, body any) excluded {
		t.Helper()
		r := e.call(operatorToken, method, "/api/v1/orgs/"+id+"/excluded-states", body)
		if r.Status != http.StatusOK {
			t.Fatalf("%s excluded-states of %s: %s, want 200", method, id, r)
		}
		var x excluded
		if err := json.Unmarshal(r.Body, &x); err != nil {
			t.Fatalf("excluded-states answer %s: %v", r.Body, err)
		}
		return x
	}
	before := readExcluded(http.MethodGet, orgID, nil)
	if names(before) != "2 AUTO_BOT" || before.Source != "default" {
		t.Errorf("excluded states before the change: [%s] from %q, want [2 AUTO_BOT] from default", names(before), before.Source)
	}
	put := readExcluded(http.MethodPut, orgID, map[string]any{"excluded_states": []any{"AUTO_BOT", 4}})
	if put.OrgID != orgID[:15] || names(put) != "2 AUTO_BOT, 4 BLOCKED" || put.Source != "api" || put.UpdatedBy == "" {
		t.Errorf("PUT excluded-states: org %q [%s] from %q by %q; want org %s, [2 AUTO_BOT, 4 BLOCKED], from api, by someone", put.OrgID, names(put), put.Source, put.UpdatedBy, orgID[:15])
	}
	if got := readExcluded(http.MethodGet, orgID[:15], nil); names(got) != "2 AUTO_BOT, 4 BLOCKED" || got.Source != "api" {
		t.Errorf("GET excluded-states by the 15-character id: [%s] from %q, want the new setting from api", names(got), got.Source)
	}
	if r := e.call(operatorToken, http.MethodPut, "/api/v1/orgs/00X123/excluded-states", map[string]any{"excluded_states": []any{4}}); r.Status != http.StatusBadRequest || r.errorCode() != "invalid_org_id" {
		t.Errorf("PUT excluded-states of 00X123: %s, want 400 invalid_org_id", r)
	}
	if r := e.call(operatorToken, http.MethodPut, "/api/v1/orgs/"+orgID+"/excluded-states", map[string]any{"excluded_states": []any{"NOPE"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.errorMessage(), "BLOCKED") {
		t.Errorf("PUT excluded-states [NOPE]: %s, want 400 listing the valid states", r)
	}

	const ann = "31600001701"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.G1", "hello", time.Now()))
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.G1"))
	conv := alice.conversationOf("wa", ann)
	key := convKey("acme", "wa", conv.ID)

	if c := alice.mustChangeState(conv.ID, 4, ""); c.State != 4 || c.StateName != "BLOCKED" {
		t.Fatalf("change_state 4: %d %s, want 4 BLOCKED", c.State, c.StateName)
	}
	rec := waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "BLOCKED")
	if got := field(rec, "Blocked__c"); got != "true" {
		t.Errorf("conversation record after state 4: Blocked__c = %q, want true", got)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.G2", "spam spam", time.Now())); a.Stored != 1 || a.Excluded != 1 {
		t.Errorf("message in state 4 with BLOCKED excluded: answer %+v, want 1 stored and excluded", a)
	}
	if m := requireMessage(t, alice.conversation(conv.ID), "wamid.G2"); m.PushStatus != "excluded" || m.StateAtReceipt != 4 || m.Body != "spam spam" {
		t.Errorf("message in state 4: %+v, want it in the chat with push_status excluded and state_at_receipt 4", m)
	}

	if c := alice.mustChangeState(conv.ID, 0, ""); c.State != 0 || c.StateName != "OPEN" {
		t.Fatalf("change_state 0: %d %s, want 0 OPEN", c.State, c.StateName)
	}
	rec = waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "OPEN")
	if got := field(rec, "Blocked__c"); got != "false" {
		t.Errorf("conversation record after state 0: Blocked__c = %q, want false", got)
	}
	if c := alice.contact(conv.ContactID); c.Blocked != nil {
		t.Errorf("after state 0, the contact is still blocked: %+v", c.Blocked)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.G3", "a real question", time.Now())); a.Pending != 1 {
		t.Errorf("message after state 0: answer %+v, want 1 pending", a)
	}
	g3 := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.G3"))
	if field(g3, "Conversation_State__c") != "OPEN" || field(g3, "Chat_Conversation__c") != rec.ID {
		t.Errorf("the message after state 0: state %q under %q, want OPEN under the conversation's record %s", field(g3, "Conversation_State__c"), field(g3, "Chat_Conversation__c"), rec.ID)
	}
	if _, ok := messageRecords(t, acme.SF)[msgKey("acme", "wa", "wamid.G2")]; ok {
		t.Errorf("the message received in state 4 reached Salesforce")
	}
	final := alice.conversation(conv.ID)
	if got := historyOf(final.History); !strings.Contains(got, "OPEN->BLOCKED set_state by alice") || !strings.Contains(got, "BLOCKED->OPEN set_state by alice") {
		t.Errorf("history %s, want OPEN->BLOCKED and BLOCKED->OPEN set_state by alice", got)
	}
	if m := requireMessage(t, final, "wamid.G2"); m.PushStatus != "excluded" {
		t.Errorf("the message of state 4 is now %q, want still excluded", m.PushStatus)
	}
}
