package integration_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// TestClosedConversationReopens lets the idle-close timer close a
// conversation, then sends an inbound message: the same conversation is
// OPEN again, in the store and on its Salesforce record, and the message
// carries the OPEN state.
func TestClosedConversationReopens(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	opts := envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", InactivityTimeout: time.Hour, IdleClose: time.Second}},
	}}}
	e := newEnv(t, opts)
	e.start()

	const ann = "31600000101"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.C1", "first", time.Now()))
	first := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.C1"))
	st := e.openStore()
	conv := onlyConversation(t, st, "acme", "wa", ann)
	key := convKey("acme", "wa", conv.ID)
	closed := waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "CLOSED")
	if c := onlyConversation(t, st, "acme", "wa", ann); c.State != statemachine.Closed {
		t.Fatalf("the record says CLOSED but the store says %s", c.State)
	}

	// The idle-close timer would close the reopened conversation again a
	// second later, racing the check of the record. The connector is
	// therefore restarted with idle close off: the CLOSED state is in the
	// store and survives the restart, and the record's OPEN state can be
	// checked at leisure.
	if code := e.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit code %d, want 0", code)
	}
	e.opts.Tenants[0].Channels[0].IdleClose = 0
	e.writeConfig()
	e.start()

	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.C2", "me again", time.Now())); a.Pending != 1 {
		t.Fatalf("message to the CLOSED conversation: answer %+v, want 1 pending", a)
	}
	second := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.C2"))
	if got := field(second, "Conversation_State__c"); got != "OPEN" {
		t.Errorf("the message's Conversation_State__c = %q, want OPEN", got)
	}
	if field(second, "Chat_Conversation__c") != closed.ID || field(first, "Chat_Conversation__c") != closed.ID {
		t.Errorf("the messages' parents are %q and %q, want both on the conversation record %s",
			field(first, "Chat_Conversation__c"), field(second, "Chat_Conversation__c"), closed.ID)
	}
	waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "OPEN")
	if n := len(acme.SF.Records(convObject)); n != 1 {
		t.Errorf("%d conversation records, want 1", n)
	}

	c := onlyConversation(t, st, "acme", "wa", ann)
	if c.ID != conv.ID || c.State != statemachine.Open {
		t.Errorf("store: conversation %d is %s, want conversation %d OPEN", c.ID, c.State, conv.ID)
	}
	hist, err := st.History(context.Background(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := historyString(hist); !strings.Contains(got, "OPEN->CLOSED idle_close by timer, CLOSED->OPEN inbound by system") {
		t.Errorf("history %s, want an idle close followed by the inbound reopening", got)
	}
}

// historyString writes a conversation's history compactly.
func historyString(h []store.Transition) string {
	parts := make([]string, len(h))
	for i, tr := range h {
		from := "-"
		if tr.From != store.NoState {
			from = tr.From.String()
		}
		parts[i] = fmt.Sprintf("%s->%s %s by %s", from, tr.To, tr.Event, tr.Actor)
	}
	return strings.Join(parts, ", ")
}

// block sets a conversation BLOCKED the way the API's state change does:
// the transition and the contact's local block, in one transaction. The
// state-change API is not built yet, so the test writes to the store
// directly.
func block(t *testing.T, st store.Store, conversationID int64) {
	t.Helper()
	now := time.Now().UTC()
	err := st.WithTx(context.Background(), func(tx store.Tx) error {
		c, err := tx.Conversation(context.Background(), conversationID)
		if err != nil {
			return err
		}
		tr, err := statemachine.Next(c.State, statemachine.Event{Kind: statemachine.SetState, To: statemachine.Blocked})
		if err != nil {
			return err
		}
		if _, err := tx.ApplyTransition(context.Background(), store.Transition{
			ConversationID: c.ID, From: tr.From, To: tr.To, Event: statemachine.SetState.String(),
			Actor: "integration-test", Reason: "spam", At: now,
		}); err != nil {
			return err
		}
		if !tr.BlockContact {
			return fmt.Errorf("setting BLOCKED on a %s conversation does not block the contact", c.State)
		}
		return tx.SetContactBlock(context.Background(), c.ContactID, store.Block{Inbound: true, Outbound: true}, now)
	})
	if err != nil {
		t.Fatalf("block conversation %d: %v", conversationID, err)
	}
}

// TestBlockedConversationNeverReopens blocks a conversation in two
// tenants, one whose org pushes BLOCKED (the default exclusions) and one
// whose org excludes it, then sends more messages: the conversation stays
// BLOCKED in both; the first org receives the messages with the BLOCKED
// state and its record says BLOCKED; the second stores them as excluded
// and receives none.
func TestBlockedConversationNeverReopens(t *testing.T) {
	t.Parallel()
	orgA := newOrg(t, "00D000000000001AAA", nil)
	orgB := newOrg(t, "00D000000000002AAA", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{
		{ID: "alpha", Org: orgA, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", PhoneNumberID: "1065550011"}}},
		{ID: "beta", Org: orgB, Excluded: []string{"AUTO_BOT", "BLOCKED"},
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", PhoneNumberID: "1065550022"}}},
	}})
	e.start()
	st := e.openStore()

	const spammer = "31600000201"
	tenants := []struct {
		id, phone string
		org       *org
	}{{"alpha", "1065550011", orgA}, {"beta", "1065550022", orgB}}

	convIDs := map[string]int64{}
	for _, tn := range tenants {
		e.postWhatsApp(tn.id, "wa", whatsapp.TextDelivery(tn.phone, spammer, "Spam", "wamid.S1", "buy now", time.Now()))
		rec := waitForRecord(t, tn.org.SF, msgObject, "Message_Key__c", msgKey(tn.id, "wa", "wamid.S1"))
		if got := field(rec, "Conversation_State__c"); got != "OPEN" {
			t.Fatalf("%s: the first message's state is %q, want OPEN", tn.id, got)
		}
		conv := onlyConversation(t, st, tn.id, "wa", spammer)
		convIDs[tn.id] = conv.ID
		block(t, st, conv.ID)
	}
	// The state change is mirrored onto both records, whether or not the
	// org pushes BLOCKED messages.
	for _, tn := range tenants {
		key := convKey(tn.id, "wa", convIDs[tn.id])
		rec := waitForField(t, tn.org.SF, convObject, "Conversation_Key__c", key, "State__c", "BLOCKED")
		if got := field(rec, "Blocked__c"); got != "true" {
			t.Errorf("%s: conversation record Blocked__c = %q, want true", tn.id, got)
		}
	}

	for _, tn := range tenants {
		more := whatsapp.Delivery(tn.phone,
			whatsapp.Inbound{From: spammer, ID: "wamid.S2", Time: time.Now(), Text: "buy now!!"},
			whatsapp.Inbound{From: spammer, ID: "wamid.S3", Time: time.Now(), Text: "last chance"},
		)
		a := e.postWhatsApp(tn.id, "wa", more)
		if a.Stored != 2 {
			t.Fatalf("%s: answer %+v, want 2 stored", tn.id, a)
		}
		if tn.id == "alpha" && a.Pending != 2 || tn.id == "beta" && a.Excluded != 2 {
			t.Errorf("%s: answer %+v, want 2 pending for alpha and 2 excluded for beta", tn.id, a)
		}
	}

	// alpha pushes BLOCKED: the new messages arrive, under the same record.
	keyA := convKey("alpha", "wa", convIDs["alpha"])
	for _, id := range []string{"wamid.S2", "wamid.S3"} {
		rec := waitForRecord(t, orgA.SF, msgObject, "Message_Key__c", msgKey("alpha", "wa", id))
		if got := field(rec, "Conversation_State__c"); got != "BLOCKED" {
			t.Errorf("alpha %s: Conversation_State__c = %q, want BLOCKED", id, got)
		}
		parent := conversationRecords(t, orgA.SF)[keyA]
		if field(rec, "Chat_Conversation__c") != parent.ID {
			t.Errorf("alpha %s: parent %q, want the blocked conversation's record %s", id, field(rec, "Chat_Conversation__c"), parent.ID)
		}
	}
	recA := conversationRecords(t, orgA.SF)[keyA]
	if field(recA, "State__c") != "BLOCKED" || field(recA, "Blocked__c") != "true" {
		t.Errorf("alpha: conversation record State__c = %q, Blocked__c = %q; want BLOCKED and true", field(recA, "State__c"), field(recA, "Blocked__c"))
	}
	if n := len(orgA.SF.Records(convObject)); n != 1 {
		t.Errorf("alpha: %d conversation records, want 1", n)
	}

	// beta excludes BLOCKED: a message of another contact, sent afterwards,
	// arrives; the blocked contact's new messages do not.
	e.postWhatsApp("beta", "wa", whatsapp.TextDelivery("1065550022", "31600000202", "Ok", "wamid.OK1", "a real question", time.Now()))
	waitForRecord(t, orgB.SF, msgObject, "Message_Key__c", msgKey("beta", "wa", "wamid.OK1"))
	msgsB := messageRecords(t, orgB.SF)
	for _, id := range []string{"wamid.S2", "wamid.S3"} {
		if _, ok := msgsB[msgKey("beta", "wa", id)]; ok {
			t.Errorf("beta %s reached Salesforce although BLOCKED is excluded", id)
		}
	}
	if len(msgsB) != 2 {
		t.Errorf("beta: %d message records, want 2 (the first message and the other contact's)", len(msgsB))
	}

	for _, tn := range tenants {
		conv := onlyConversation(t, st, tn.id, "wa", spammer)
		if conv.ID != convIDs[tn.id] || conv.State != statemachine.Blocked {
			t.Errorf("%s: conversation %d is %s, want conversation %d still BLOCKED", tn.id, conv.ID, conv.State, convIDs[tn.id])
		}
		want := store.Pushed
		if tn.id == "beta" {
			want = store.Excluded
		}
		msgs := messagesOf(t, st, conv.ID)
		if len(msgs) != 3 {
			t.Fatalf("%s: %d messages on the conversation, want 3", tn.id, len(msgs))
		}
		for _, m := range msgs[1:] {
			if m.StateAtReceipt != statemachine.Blocked || m.PushStatus != want {
				t.Errorf("%s %s: state %s, push status %q; want BLOCKED and %q", tn.id, m.PlatformID, m.StateAtReceipt, m.PushStatus, want)
			}
		}
	}
	if s := e.stats("beta"); s.Messages["excluded"] != 2 || s.Conversations["BLOCKED"] != 1 {
		t.Errorf("beta stats %+v, want 2 excluded messages and 1 BLOCKED conversation", s)
	}
}

// TestExpiredConversationLeadsToANewOne lets the inactivity timer expire a
// conversation; the contact's next message opens a new conversation, with
// a new record and key, and the message goes under it.
func TestExpiredConversationLeadsToANewOne(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", InactivityTimeout: time.Second}},
	}}})
	e.start()
	st := e.openStore()

	const ann = "31600000301"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.E1", "first", time.Now()))
	first := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.E1"))
	old := onlyConversation(t, st, "acme", "wa", ann)
	oldKey := convKey("acme", "wa", old.ID)
	oldRec := waitForField(t, acme.SF, convObject, "Conversation_Key__c", oldKey, "State__c", "EXPIRED")
	if field(first, "Chat_Conversation__c") != oldRec.ID {
		t.Fatalf("the first message's parent is %q, want %s", field(first, "Chat_Conversation__c"), oldRec.ID)
	}

	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.E2", "anyone?", time.Now())); a.Pending != 1 {
		t.Fatalf("message after expiry: answer %+v, want 1 pending", a)
	}
	second := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.E2"))

	convs := contactConversations(t, st, "acme", "wa", ann)
	if len(convs) != 2 || convs[0].ID != old.ID || convs[0].State != statemachine.Expired {
		t.Fatalf("store: conversations %+v, want the expired one and a new one", convs)
	}
	newKey := convKey("acme", "wa", convs[1].ID)
	if newKey == oldKey {
		t.Fatalf("the new conversation has the old key %s", oldKey)
	}
	recs := conversationRecords(t, acme.SF)
	newRec, ok := recs[newKey]
	if !ok {
		t.Fatalf("no conversation record %s; records %v", newKey, recs)
	}
	if newRec.ID == oldRec.ID {
		t.Errorf("the new conversation's record is the old one, %s", oldRec.ID)
	}
	if field(second, "Chat_Conversation__c") != newRec.ID {
		t.Errorf("the new message's parent is %q, want the new record %s", field(second, "Chat_Conversation__c"), newRec.ID)
	}
	if got := field(second, "Conversation_State__c"); got != "OPEN" {
		t.Errorf("the new message's Conversation_State__c = %q, want OPEN", got)
	}
	if got := field(recs[oldKey], "State__c"); got != "EXPIRED" {
		t.Errorf("the old record's State__c = %q, want it to stay EXPIRED", got)
	}
	if len(recs) != 2 {
		t.Errorf("%d conversation records, want 2", len(recs))
	}
}
