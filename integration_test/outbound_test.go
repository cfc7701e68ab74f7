package integration_test

import (
	"context"
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
