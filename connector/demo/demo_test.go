package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// TestDemoShowsTheProduct runs the README's first command's job end to
// end, and checks each line of the walk through the flows against the
// store and the stand-in, then the summary's numbers and checks.
func TestDemoShowsTheProduct(t *testing.T) {
	var progress bytes.Buffer
	ctx := context.Background()
	d, err := Start(ctx, Options{Dir: t.TempDir(), Contacts: 4, MessagesPerContact: 3, Logger: zerolog.Nop(), Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	defer func() {
		if err := d.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	sum := d.Summary
	var out bytes.Buffer
	sum.Print(&out)
	t.Logf("%s%s", progress.String(), out.String())

	c := &claims{t: t, st: d.Store(), sf: d.Standin}
	steps := map[string]Step{}
	for _, s := range sum.Steps {
		steps[s.Key] = s
		if !strings.Contains(progress.String(), "• "+s.Line+"\n") {
			t.Errorf("step %s was not printed as one line: %q", s.Key, s.Line)
		}
	}
	want := []string{"spam", "block-inbound", "block-both", "exclude-blocked", "spam-excluded", "include-blocked", "unblock-all",
		"close", "reopen", "opt-out", "web-block", "delete-all", "block-bot", "replay"}
	if got := keys(sum.Steps); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}

	// The spammer's conversation: 2 pushed while OPEN, blocked by the
	// agent, 2 held back while BLOCKED was excluded, 1 pushed as BLOCKED
	// once it was included again, then unblocked.
	spam := steps["spam"]
	conv := spam.Conversations[0]
	for _, m := range c.messages(spam.Messages...) {
		c.pushedAs(m, "OPEN")
	}
	c.history(conv, "OPEN", "BLOCKED", adminName, spamNote)
	c.noOutbound(conv)
	held := c.messages(steps["spam-excluded"].Messages...)
	for _, m := range held {
		if m.ConversationID != conv || m.PushStatus != store.Excluded || m.StateAtReceipt != statemachine.Blocked ||
			!strings.Contains(m.PushReason, "BLOCKED is excluded") {
			t.Errorf("held-back spam %d: conversation %d, %s in %s (%q)", m.ID, m.ConversationID, m.PushStatus, m.StateAtReceipt, m.PushReason)
		}
		c.noRecord(m)
	}
	if convs, err := c.st.ListConversations(ctx, store.ConversationFilter{Tenant: tenantID, ContactID: spam.Contact}); err != nil || len(convs) != 1 {
		t.Errorf("the spammer has %d conversations (%v), want 1: a blocked contact's messages open none", len(convs), err)
	}
	for _, m := range c.messages(steps["include-blocked"].Messages...) {
		c.pushedAs(m, "BLOCKED")
	}
	c.history(conv, "BLOCKED", "OPEN", adminName, "")
	c.state(conv, statemachine.Open)
	if ct := c.contact(spam.Contact); ct.BlockedInbound || ct.BlockedOutbound {
		t.Errorf("the spammer is still blocked after unblock-all: %+v", ct)
	}
	c.excludedHistory(ingest.OrgScope(sum.OrgID), "AUTO_BOT,BLOCKED", "AUTO_BOT")

	// Closed, then reopened by the customer; the other stays CLOSED. The
	// records show the states.
	closed := steps["close"].Conversations
	c.history(closed[0], "OPEN", "CLOSED", adminName, closeReason)
	c.history(closed[0], "CLOSED", "OPEN", "system", "")
	c.state(closed[0], statemachine.Open)
	c.state(closed[1], statemachine.Closed)
	c.recordState(closed[0], "OPEN")
	c.recordState(closed[1], "CLOSED")
	for _, m := range c.messages(steps["reopen"].Messages...) {
		c.pushedAs(m, "OPEN")
	}

	// The opt-out: the contact's own, no block; the conversation stays
	// OPEN and the keyword is pushed; no reply went out.
	oo := steps["opt-out"]
	if ct := c.contact(oo.Contact); ct.BlockedInbound || ct.BlockedOutbound || ct.OptOut.Keyword != optOutKeyword || ct.OptOut.At.IsZero() {
		t.Errorf("opted-out contact %d: %+v", oo.Contact, ct)
	}
	c.state(oo.Conversations[0], statemachine.Open)
	c.noOutbound(oo.Conversations[0])
	for _, m := range c.messages(oo.Messages...) {
		if m.Body != optOutKeyword {
			t.Errorf("opt-out message %d is %q", m.ID, m.Body)
		}
		c.pushedAs(m, "OPEN")
	}

	// The web visitor: blocked with the connector's own native block, a
	// message refused at the door, the BLOCKED conversation deleted from
	// the store while its records stay in Salesforce.
	web := steps["web-block"]
	if ct := c.contact(web.Contact); !ct.BlockedInbound || !ct.BlockedOutbound || ct.Native.Status != store.NativeApplied || ct.Block.Note != abuseReason {
		t.Errorf("blocked web visitor %d: %+v", web.Contact, ct)
	}
	if sum.Answers.Refused != 1 {
		t.Errorf("%d messages refused at the door, want 1", sum.Answers.Refused)
	}
	del := steps["delete-all"]
	if _, err := c.st.GetConversation(ctx, del.Conversations[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted conversation %d: %v", del.Conversations[0], err)
	}
	key := fmt.Sprintf("%s:%s:%d", tenantID, webChannel, del.Conversations[0])
	if c.record("Chat_Conversation__c", "Conversation_Key__c", key) == nil {
		t.Errorf("the deleted conversation's record %s left Salesforce", key)
	}
	kept := 0
	for _, r := range c.sf.Records("Chat_Message__c") {
		if r.Fields["Chat_Conversation__c"] == c.record("Chat_Conversation__c", "Conversation_Key__c", key).ID {
			kept++
		}
	}
	if sum.Deleted.Pushed == 0 || kept != sum.Deleted.Pushed || sum.Deleted.Messages != 2 {
		t.Errorf("delete-all: %+v, %d message records kept", sum.Deleted, kept)
	}

	// change_state BLOCKED on the bot conversation blocks the contact.
	bot := steps["block-bot"]
	c.state(bot.Conversations[0], statemachine.Blocked)
	c.history(bot.Conversations[0], "AUTO_BOT", "BLOCKED", adminName, abuseReason)
	if ct := c.contact(bot.Contact); !ct.BlockedInbound || !ct.BlockedOutbound {
		t.Errorf("bot contact %d after change_state BLOCKED: %+v", bot.Contact, ct)
	}

	// The dead message, replayed once the rule was lifted.
	for _, m := range c.messages(steps["replay"].Messages...) {
		if !strings.Contains(m.Body, rejectMarker) || m.PushStatus != store.Pushed || c.msgRecord(m) == nil {
			t.Errorf("replayed message %d: %q %s", m.ID, m.Body, m.PushStatus)
		}
	}

	// The summary: its checks hold, and its numbers are the store's and
	// the stand-in's.
	if !sum.OK() {
		t.Errorf("checks failed:\n%s", out.String())
	}
	stats, err := c.st.Stats(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages[store.Pushed] != sum.Stored[store.Pushed] || stats.Messages[store.Excluded] != sum.Excluded["AUTO_BOT"]+sum.Excluded["BLOCKED"] ||
		sum.Excluded["AUTO_BOT"] != 6 || sum.Excluded["BLOCKED"] != 2 || sum.Replayed != 1 || len(sum.Dead) != 0 {
		t.Errorf("store %+v, summary %+v %+v", stats, sum.Stored, sum.Excluded)
	}
	for _, st := range allStates {
		if got := stats.Conversations[st]; got != total(sum.Conversations[st.String()]) {
			t.Errorf("%s: %d in the store, %d in the summary", st, got, total(sum.Conversations[st.String()]))
		}
	}
	for _, st := range []statemachine.State{statemachine.Open, statemachine.AutoBot, statemachine.Closed, statemachine.Blocked} {
		if stats.Conversations[st] == 0 {
			t.Errorf("no %s conversation at the end of the demo", st)
		}
	}
	if sum.ConversationRecords != len(c.sf.Records("Chat_Conversation__c")) || sum.NotInSalesforce[botChannel] == 0 {
		t.Errorf("conversation records %d, without a record %v", sum.ConversationRecords, sum.NotInSalesforce)
	}
	// The demo's WhatsApp channel has no access token: its photos' items
	// fail, saying why.
	if n := sum.Media[store.MediaFailed]; n == 0 || n != total(sum.Media) ||
		sum.MediaReasons["failed: not downloaded: whatsapp: media: the channel receives only (no access token configured)"] != n {
		t.Errorf("media items %v, reasons %v: want every one failed for want of the token", sum.Media, sum.MediaReasons)
	}
	for _, want := range []string{"held back (excluded)  8", "Cancel_Via_Desk", "conversation records  ", "have no record", "media items  "} {
		if !strings.Contains(out.String()+progress.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "FAILED") {
		t.Errorf("a check failed:\n%s", out.String())
	}
}

func keys(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Key
	}
	return out
}

// claims checks what the demo's lines say against the store and the
// stand-in.
type claims struct {
	t  *testing.T
	st store.Store
	sf *standin.Server
}

// messages reads messages by id, from their conversations.
func (c *claims) messages(ids ...int64) []store.Message {
	c.t.Helper()
	if len(ids) == 0 {
		c.t.Fatal("a step names no message")
	}
	var out []store.Message
	for _, id := range ids {
		found := false
		convs, err := c.st.ListConversations(context.Background(), store.ConversationFilter{Tenant: tenantID, Limit: 1000})
		if err != nil {
			c.t.Fatal(err)
		}
		for _, cv := range convs {
			msgs, err := c.st.ListMessages(context.Background(), cv.ID)
			if err != nil {
				c.t.Fatal(err)
			}
			if i := slices.IndexFunc(msgs, func(m store.Message) bool { return m.ID == id }); i >= 0 {
				out, found = append(out, msgs[i]), true
			}
		}
		if !found {
			c.t.Fatalf("no message %d in the store", id)
		}
	}
	return out
}

func (c *claims) contact(id int64) store.Contact {
	c.t.Helper()
	ct, err := c.st.GetContact(context.Background(), id)
	if err != nil {
		c.t.Fatalf("contact %d: %v", id, err)
	}
	return ct
}

func (c *claims) state(conv int64, want statemachine.State) {
	c.t.Helper()
	cv, err := c.st.GetConversation(context.Background(), conv)
	if err != nil || cv.State != want {
		c.t.Errorf("conversation %d is %s (%v), want %s", conv, cv.State, err, want)
	}
}

// history checks that the conversation went from one state to another by
// actor, with reason when it is not empty.
func (c *claims) history(conv int64, from, to, actor, reason string) {
	c.t.Helper()
	h, err := c.st.History(context.Background(), conv)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, tr := range h {
		if tr.From.String() == from && tr.To.String() == to && tr.Actor == actor && (reason == "" || tr.Reason == reason) {
			return
		}
	}
	c.t.Errorf("conversation %d's history has no %s → %s by %s (%q): %+v", conv, from, to, actor, reason, h)
}

func (c *claims) noOutbound(conv int64) {
	c.t.Helper()
	msgs, err := c.st.ListMessages(context.Background(), conv)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Direction == store.Outbound {
			c.t.Errorf("conversation %d has an outbound message %d: a reply was sent", conv, m.ID)
		}
	}
}

func (c *claims) record(object, field, key string) *standin.Record {
	for _, r := range c.sf.Records(object) {
		if r.Fields[field] == key {
			return &r
		}
	}
	return nil
}

func (c *claims) msgRecord(m store.Message) *standin.Record {
	return c.record("Chat_Message__c", "Message_Key__c", fmt.Sprintf("%s:%s:%s", tenantID, m.Channel, m.PlatformID))
}

// pushedAs checks a message is pushed, with its record in Salesforce
// carrying the state it was received in.
func (c *claims) pushedAs(m store.Message, state string) {
	c.t.Helper()
	r := c.msgRecord(m)
	if m.PushStatus != store.Pushed || m.StateAtReceipt.String() != state || r == nil || r.Fields["Conversation_State__c"] != state {
		c.t.Errorf("message %d: %s in %s, record %+v; want pushed in %s", m.ID, m.PushStatus, m.StateAtReceipt, r, state)
	}
}

func (c *claims) noRecord(m store.Message) {
	c.t.Helper()
	if r := c.msgRecord(m); r != nil {
		c.t.Errorf("held-back message %d reached Salesforce: %+v", m.ID, r)
	}
}

func (c *claims) recordState(conv int64, state string) {
	c.t.Helper()
	cv, err := c.st.GetConversation(context.Background(), conv)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.record("Chat_Conversation__c", "Conversation_Key__c", fmt.Sprintf("%s:%s:%d", tenantID, cv.Channel, conv))
	if r == nil || r.Fields["State__c"] != state {
		c.t.Errorf("conversation %d's record: %+v, want State__c %s", conv, r, state)
	}
}

// excludedHistory checks the org's excluded states were set to each of
// values in turn, by the demo's operator.
func (c *claims) excludedHistory(scope string, values ...string) {
	c.t.Helper()
	h, err := c.st.SettingHistory(context.Background(), scope, ingest.SettingExcludedStates)
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, s := range h {
		if s.UpdatedBy == operatorName {
			got = append(got, s.Value)
		}
	}
	if !slices.Equal(got, values) {
		c.t.Errorf("excluded states set by %s: %v, want %v", operatorName, got, values)
	}
}
