package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
)

// TestReplySurvivesAKillDuringItsSend kills the connector while the
// platform holds a reply's send unanswered: the reply's record is in the
// store, "sending", and after the restart the connector sends it again,
// records it "sent" with the platform's id, and pushes it to Salesforce.
// The Graph API has no idempotency key: it got the message twice.
func TestReplySurvivesAKillDuringItsSend(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann, text = "31600001901", "your parcel left the warehouse"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.K1", "where is my parcel?", time.Now()))
	conv := alice.conversationOf("wa", ann)

	held, release := g.holdSends()
	defer release()
	answered := make(chan apiResult, 1)
	go func() {
		// The answer never comes: the connector is killed meanwhile.
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/tenants/acme/conversations/%d/messages", e.base(), conv.ID),
			strings.NewReader(`{"text": "`+text+`"}`))
		req.Header.Set("Authorization", "Bearer "+alice.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err == nil {
			resp.Body.Close()
			answered <- apiResult{Status: resp.StatusCode}
		}
		close(answered)
	}()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the reply's send did not reach the Graph API")
	}
	e.stop(syscall.SIGKILL)
	if r, ok := <-answered; ok {
		t.Fatalf("the reply was answered %d before the kill", r.Status)
	}

	// The record is there, sending, before anything else runs.
	st := e.openStore()
	msgs, err := st.ListMessages(context.Background(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	var reply store.Message
	for _, m := range msgs {
		if m.Direction == store.Outbound && m.Body == text {
			reply = m
		}
	}
	if reply.ID == 0 || reply.DeliveryStatus != store.DeliverySending || reply.SentID != "" || reply.PushStatus != store.Pending {
		t.Fatalf("after the kill the reply's record is %+v, want it stored, sending, pending for Salesforce", reply)
	}

	release()
	e.start()
	waitFor(t, time.Minute, "the reply sent after the restart", func() (bool, string) {
		m := requireMessage(t, alice.conversation(conv.ID), reply.PlatformID)
		return m.DeliveryStatus == "sent" && m.SentID != "", fmt.Sprintf("%+v", m)
	})
	rec := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", reply.PlatformID))
	if got := field(rec, "Body__c"); got != text {
		t.Errorf("the reply's record has Body__c %q, want %q", got, text)
	}
	if sends := g.callsTo(http.MethodPost, "messages"); len(sends) != 2 {
		t.Errorf("the Graph API got %d sends, want 2 (the one cut off by the kill, and the retry): %s", len(sends), g.allCalls())
	}
}

// TestReplyDeliveryStatusReachesSalesforce: a reply's record shows its
// status, "sent", and each receipt that changes it (delivered, then read)
// updates the same record; an older receipt changes nothing.
func TestReplyDeliveryStatusReachesSalesforce(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{waChannel("wa", defaultPhoneNumberID, false, g)}}}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")

	const ann = "31600001902"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.S1", "is it shipped?", time.Now()))
	conv := alice.conversationOf("wa", ann)
	r := alice.reply(conv.ID, "it is on its way")
	if r.Status != http.StatusCreated {
		t.Fatalf("reply: %s, want 201", r)
	}
	var sent struct {
		Message apiMessage `json:"message"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil {
		t.Fatalf("reply answer %s: %v", r.Body, err)
	}
	if sent.Message.DeliveryStatus != "sent" || sent.Message.SentID == "" {
		t.Fatalf("reply answered %+v, want it sent with the platform's id", sent.Message)
	}
	key := msgKey("acme", "wa", sent.Message.PlatformID)
	waitForField(t, acme.SF, msgObject, "Message_Key__c", key, "Delivery_Status__c", "sent")

	ts := time.Now()
	for i, status := range []string{"delivered", "read"} {
		a := e.postWhatsApp("acme", "wa", whatsapp.StatusDelivery(defaultPhoneNumberID,
			whatsapp.Status{ID: sent.Message.SentID, Recipient: ann, Status: status, Time: ts.Add(time.Duration(i+1) * time.Second)}))
		if a.Receipts != 1 {
			t.Fatalf("%s receipt: answer %+v, want 1 receipt", status, a)
		}
		waitForField(t, acme.SF, msgObject, "Message_Key__c", key, "Delivery_Status__c", status)
	}
	waitFor(t, time.Minute, "the read reply pushed", func() (bool, string) {
		m := requireMessage(t, alice.conversation(conv.ID), sent.Message.PlatformID)
		return m.DeliveryStatus == "read" && m.PushStatus == string(store.Pushed), fmt.Sprintf("%+v", m)
	})
	// An older receipt is not recorded: the reply stays read, in the store
	// and in Salesforce, where it is one record.
	e.postWhatsApp("acme", "wa", whatsapp.StatusDelivery(defaultPhoneNumberID,
		whatsapp.Status{ID: sent.Message.SentID, Recipient: ann, Status: "delivered", Time: ts}))
	m := requireMessage(t, alice.conversation(conv.ID), sent.Message.PlatformID)
	if m.DeliveryStatus != "read" || m.PushStatus != string(store.Pushed) {
		t.Errorf("after an older receipt the reply is %+v, want read and pushed", m)
	}
	rec := messageRecords(t, acme.SF)[key]
	if got := field(rec, "Delivery_Status__c"); got != "read" {
		t.Errorf("the reply's record has Delivery_Status__c %q, want read", got)
	}
	n := 0
	for _, r := range acme.SF.Records(msgObject) {
		if field(r, "Message_Key__c") == key {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the reply has %d records, want 1", n)
	}
	if got := field(messageRecords(t, acme.SF)[msgKey("acme", "wa", "wamid.S1")], "Delivery_Status__c"); got != "" {
		t.Errorf("the inbound message's record has Delivery_Status__c %q, want none", got)
	}
}
