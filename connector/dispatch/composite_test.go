package dispatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/statemachine"
)

// messageStatus returns each message's push status by its platform id.
func (e *env) messageStatus() map[string]store.Message {
	e.t.Helper()
	cs, err := e.st.ListConversations(context.Background(), store.ConversationFilter{Tenant: "acme", Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]store.Message{}
	for _, c := range cs {
		ms, err := e.st.ListMessages(context.Background(), c.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, m := range ms {
			out[m.PlatformID] = m
		}
	}
	return out
}

// One Composite call with a collection that fails as a whole and a record
// that fails: exactly their messages are settled as failed, every other
// record as Salesforce answered.
func TestCompositeSettlesEachRecordAsAnswered(t *testing.T) {
	e := newEnv(t)
	e.d.cfg.BatchSize = 2
	e.sf.recordErr["b"] = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
	// Collections, in order: conversations [u1 u2] [u3], messages [a b]
	// [x p] [q]: the fourth fails as a whole, permanently.
	e.sf.collectionErr = func(k int, _ string) error {
		if k == 3 {
			return &sfclient.APIError{HTTPStatus: 400, Code: "INVALID_FIELD", Message: "No such column 'Sender__c'"}
		}
		return nil
	}
	e.send("u1", "a", "b")
	e.send("u2", "x")
	e.send("u3", "p", "q")
	if n := e.round(); n != 3 {
		t.Fatalf("settled %d conversations, want 3", n)
	}
	if len(e.sf.composites) != 1 {
		t.Fatalf("%d Composite calls, want 1: %v", len(e.sf.composites), e.sf.composites)
	}
	if got := fmt.Sprint(e.sf.composites[0]); got != "[2 1 2 2 1]" {
		t.Fatalf("collection sizes %s, want [2 1 2 2 1]", got)
	}
	ms := e.messageStatus()
	want := map[string]store.PushStatus{"u1-a": store.Pushed, "u1-b": store.Dead, "u2-x": store.Dead, "u3-p": store.Dead, "u3-q": store.Pushed}
	for id, st := range want {
		if ms[id].PushStatus != st {
			t.Errorf("%s: %s (%s), want %s", id, ms[id].PushStatus, ms[id].LastError, st)
		}
	}
	if !strings.Contains(ms["u2-x"].LastError, "INVALID_FIELD") || !strings.Contains(ms["u1-b"].LastError, "FIELD_CUSTOM_VALIDATION_EXCEPTION") {
		t.Errorf("errors: x %q, b %q", ms["u2-x"].LastError, ms["u1-b"].LastError)
	}
	if ms["u1-a"].SalesforceID == "" {
		t.Errorf("pushed message without its Salesforce id: %+v", ms["u1-a"])
	}
}

// A collection that fails transiently holds its conversations back, and
// their records are sent again later, in order.
func TestCompositeTransientCollectionIsRetried(t *testing.T) {
	e := newEnv(t)
	failing := true
	e.sf.collectionErr = func(_ int, object string) error {
		if failing && object == "Chat_Message__c" {
			return &sfclient.APIError{HTTPStatus: 503, Code: "SERVER_UNAVAILABLE", Message: "busy"}
		}
		return nil
	}
	e.send("u1", "a", "b")
	e.round()
	if s := e.stats(); s[store.Pending] != 2 || s[store.Dead] != 0 {
		t.Fatalf("after a transient collection failure: %v", s)
	}
	failing = false
	e.now = e.now.Add(e.d.cfg.BackoffMax)
	e.round()
	if s := e.stats(); s[store.Pushed] != 2 {
		t.Fatalf("after the retry: %v", s)
	}
	keys := e.sf.messageKeys()
	if got := strings.Join(keys[len(keys)-2:], ","); got != "acme:wa:u1-a,acme:wa:u1-b" {
		t.Errorf("retried in %s", got)
	}
}

// A conversation record is written when it changes, and only then.
func TestConversationRecordOnlyWhenChanged(t *testing.T) {
	e := newEnv(t)
	convCalls := func() int {
		n := 0
		for _, c := range e.sf.calls {
			if c.object == "Chat_Conversation__c" {
				n++
			}
		}
		return n
	}
	e.send("u1", "a")
	e.round()
	if convCalls() != 1 {
		t.Fatalf("new conversation: %d conversation upserts, want 1", convCalls())
	}
	for _, b := range []string{"b", "c", "d"} {
		e.send("u1", b)
		e.round()
	}
	if convCalls() != 1 {
		t.Fatalf("unchanged conversation was written again: %d conversation upserts", convCalls())
	}
	if s := e.stats(); s[store.Pushed] != 4 {
		t.Fatalf("stats %v", s)
	}
	// A state change is always written, alone or with the next message.
	e.changeState("u1", statemachine.Open, statemachine.Closed)
	e.round()
	if convCalls() != 2 {
		t.Fatalf("state change alone: %d conversation upserts, want 2", convCalls())
	}
	e.send("u1", "e") // reopens it: CLOSED -> OPEN
	e.round()
	if convCalls() != 3 {
		t.Fatalf("reopened conversation: %d conversation upserts, want 3", convCalls())
	}
	if last := e.sf.calls[len(e.sf.calls)-2]; last.object != "Chat_Conversation__c" {
		t.Fatalf("the record must precede its message: %+v", e.sf.calls[len(e.sf.calls)-2:])
	}
	e.round()
	// Back and forth between two rounds: the record in Salesforce already
	// says what the conversation is, so nothing is written.
	e.changeState("u1", statemachine.Open, statemachine.Closed)
	e.changeState("u1", statemachine.Closed, statemachine.Open)
	e.round()
	if convCalls() != 3 {
		t.Fatalf("a record equal to the one written was written again: %d upserts", convCalls())
	}
	if ws, err := e.st.Claim(context.Background(), store.ClaimParams{Owner: "x", Now: e.now, LeaseTTL: time.Minute}); err != nil || len(ws) != 0 {
		t.Fatalf("work left after an unchanged record: %v %v", ws, err)
	}
}

// With the last message time mapped, the record changes with every message
// and is written every time.
func TestLastMessageTimeMappedIsWrittenEachTime(t *testing.T) {
	e := newEnv(t)
	org, _ := e.d.orgs.Org("acme")
	org.Mapping.Conversation.LastMessageAt = "Last_Message_At__c"
	for i, b := range []string{"a", "b", "c"} {
		e.now = e.now.Add(time.Minute)
		e.send("u1", b)
		e.round()
		n := 0
		for _, c := range e.sf.calls {
			if c.object == "Chat_Conversation__c" {
				n++
			}
		}
		if n != i+1 {
			t.Fatalf("after message %d: %d conversation upserts", i+1, n)
		}
	}
}

// A record the connector wrote and someone deleted in Salesforce is
// written again: the message that found its parent missing is retried.
func TestMissingParentIsWrittenAgain(t *testing.T) {
	e := newEnv(t)
	e.send("u1", "a")
	e.round()
	e.sf.recordErr["b"] = "INVALID_FIELD"
	e.sf.recordMsg = map[string]string{"b": "Foreign key external ID: acme:wa:1 not found for field Conversation_Key__c in entity Chat_Conversation__c"}
	e.send("u1", "b")
	e.round()
	if ms := e.messageStatus(); ms["u1-b"].PushStatus != store.Pending {
		t.Fatalf("b = %+v, want pending for a retry", ms["u1-b"])
	}
	delete(e.sf.recordErr, "b")
	before := len(e.sf.calls)
	e.now = e.now.Add(e.d.cfg.BackoffMax)
	e.round()
	calls := e.sf.calls[before:]
	if len(calls) != 2 || calls[0].object != "Chat_Conversation__c" {
		t.Fatalf("the conversation record must be written again before b: %+v", calls)
	}
	if s := e.stats(); s[store.Pushed] != 2 {
		t.Fatalf("stats %v", s)
	}
}

// Records fill Composite calls: 1,000 records a call, five collections of
// at most 200, conversation records before their messages; the tail of a
// round that would make a call less than half full waits for the next
// round instead.
func TestCallsAreFilled(t *testing.T) {
	e := newEnv(t)
	e.d.cfg.BatchSize = 200
	evs := 600
	for i := range evs {
		e.send(fmt.Sprint("u", i), "m")
	}
	if n := e.round(); n != evs {
		t.Fatalf("settled %d, want %d", n, evs)
	}
	// 600 conversation records and 600 messages: 1,200 records. The first
	// call carries the records and 400 messages; 200 messages wait.
	if got := fmt.Sprint(e.sf.composites); got != "[[200 200 200 200 200]]" {
		t.Fatalf("first round's collection sizes %s", got)
	}
	if e.sf.calls[2].object != "Chat_Conversation__c" || e.sf.calls[3].object != "Chat_Message__c" {
		t.Fatalf("conversation records must come first")
	}
	if s := e.stats(); s[store.Pushed] != 400 || s[store.Pending] != 200 {
		t.Fatalf("after the first round: %v", s)
	}
	// 150 new conversations meanwhile: the next round fills its call with
	// their records, theirs and the waiting messages.
	for i := range 150 {
		e.send(fmt.Sprint("v", i), "m")
	}
	e.round()
	if got := fmt.Sprint(e.sf.composites[1:]); got != "[[150 200 150]]" {
		t.Fatalf("second round's collection sizes %s", got)
	}
	if s := e.stats(); s[store.Pushed] != 750 || s[store.Pending] != 0 {
		t.Fatalf("after the second round: %v", s)
	}
}

// changeState moves the contact's live conversation from -> to.
func (e *env) changeState(contact string, from, to statemachine.State) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.WithTx(ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: contact}, "", e.now)
		if err != nil {
			return err
		}
		live, err := tx.LiveConversation(ctx, c.ID)
		if err != nil {
			return err
		}
		_, err = tx.ApplyTransition(ctx, store.Transition{ConversationID: live.ID, From: from, To: to, Event: "set_state", Actor: "agent", At: e.now})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// The last message time a round writes is its messages' latest sent
// time; a round without messages (a state change) writes none.
func TestLatestSent(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	msgs := []store.Message{{SentAt: t0.Add(time.Minute)}, {SentAt: t0.Add(3 * time.Minute)}, {SentAt: t0}}
	if got := latestSent(msgs); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("latestSent = %s, want the latest", got)
	}
	if got := latestSent(nil); !got.IsZero() {
		t.Errorf("latestSent of no message = %s, want zero", got)
	}
	rec := conversationRecord(config.ConversationMapping{ExternalID: "K", State: "S", LastMessageAt: "L"}, store.Conversation{}, time.Time{})
	if _, ok := rec["L"]; ok {
		t.Errorf("a round without messages writes the last message time: %v", rec)
	}
}
