package integration_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// wantMessage is what one message record must hold.
type wantMessage struct {
	channel, platformID, contact string
	body, kind                   string
	mediaURL, mediaType          string
}

// TestWhatsAppAndWebChatReachSalesforce posts signed WhatsApp deliveries
// (text, image with caption, reaction, a status receipt, a duplicate of the
// text, one delivery carrying messages of two contacts) and web chat
// messages, and checks the records Salesforce ends up with: one
// conversation record per conversation, one message record per message, the
// fields of the default mapping, the parent lookup, and per conversation
// the creation order of the send order.
func TestWhatsAppAndWebChatReachSalesforce(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}, {ID: "web", Platform: "webchat"}},
		// The optional last message time, mapped, as the default
		// objects' Last_Message_At__c accepts it.
		LastMessageAt: "Last_Message_At__c",
	}}})
	e.start()

	const (
		ann, bob, cat = "31600000001", "31600000002", "31600000003"
		visitor       = "v-1001"
	)
	ts := time.Now().Add(-time.Minute)
	phone := defaultPhoneNumberID

	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(phone, ann, "Ann", "wamid.ANN1", "hello there", ts)); a.Stored != 1 || a.Pending != 1 {
		t.Fatalf("text: answer %+v, want 1 stored and pending", a)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.ImageDelivery(phone, ann, "Ann", "wamid.ANN2", "media-778899", "image/jpeg", "my broken parcel", ts.Add(time.Second))); a.Stored != 1 || a.Pending != 1 {
		t.Fatalf("image: answer %+v, want 1 stored and pending", a)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.ReactionDelivery(phone, ann, "Ann", "wamid.ANN3", "wamid.ANN1", "👍", ts.Add(2*time.Second))); a.Stored != 1 || a.Pending != 1 {
		t.Fatalf("reaction: answer %+v, want 1 stored and pending", a)
	}
	status := whatsapp.StatusDelivery(phone, whatsapp.Status{ID: "wamid.OUTBOUND1", Recipient: ann, Status: "delivered", Time: ts.Add(3 * time.Second)})
	if a := e.postWhatsApp("acme", "wa", status); a.Stored != 0 || a.Receipts != 1 || a.Other != 0 {
		t.Fatalf("status: answer %+v, want nothing stored and 1 receipt", a)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(phone, ann, "Ann", "wamid.ANN1", "hello there", ts)); a.Stored != 0 || a.Duplicates != 1 {
		t.Fatalf("duplicate text: answer %+v, want nothing stored and 1 duplicate", a)
	}
	batch := whatsapp.Delivery(phone,
		whatsapp.Inbound{From: bob, Name: "Bob", ID: "wamid.BOB1", Time: ts, Text: "bob one"},
		whatsapp.Inbound{From: cat, Name: "Cat", ID: "wamid.CAT1", Time: ts, Text: "cat one"},
		whatsapp.Inbound{From: bob, Name: "Bob", ID: "wamid.BOB2", Time: ts, Text: "bob two"},
		whatsapp.Inbound{From: cat, Name: "Cat", ID: "wamid.CAT2", Time: ts, Text: "cat two"},
		whatsapp.Inbound{From: bob, Name: "Bob", ID: "wamid.BOB3", Time: ts, Text: "bob three"},
	)
	if a := e.postWhatsApp("acme", "wa", batch); a.Stored != 5 || a.Pending != 5 {
		t.Fatalf("batch of two contacts: answer %+v, want 5 stored and pending", a)
	}
	web, err := json.Marshal(webchat.Delivery{Events: []webchat.Event{
		{ID: "evt-1", Type: "message", Visitor: webchat.Visitor{ID: visitor, Name: "Vi"},
			Timestamp: ts.Format(time.RFC3339), Message: &webchat.Message{Text: "hi from the site"}},
		{ID: "evt-2", Type: "typing", Visitor: webchat.Visitor{ID: visitor}},
		{ID: "evt-3", Type: "message", Visitor: webchat.Visitor{ID: visitor},
			Message: &webchat.Message{Attachment: &webchat.Attachment{URL: "https://cdn.example.com/u/photo.png", Type: "image/png"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a := e.postWebChat("acme", "web", web); a.Stored != 2 || a.Pending != 2 || a.Other != 1 {
		t.Fatalf("web chat: answer %+v, want 2 stored and pending and 1 other event", a)
	}

	want := []wantMessage{
		{"wa", "wamid.ANN1", ann, "hello there", "text", "", ""},
		{"wa", "wamid.ANN2", ann, "my broken parcel", "image", "media-778899", "image/jpeg"},
		{"wa", "wamid.ANN3", ann, "👍", "reaction", "", ""},
		{"wa", "wamid.BOB1", bob, "bob one", "text", "", ""},
		{"wa", "wamid.CAT1", cat, "cat one", "text", "", ""},
		{"wa", "wamid.BOB2", bob, "bob two", "text", "", ""},
		{"wa", "wamid.CAT2", cat, "cat two", "text", "", ""},
		{"wa", "wamid.BOB3", bob, "bob three", "text", "", ""},
		{"web", "evt-1", visitor, "hi from the site", "text", "", ""},
		{"web", "evt-3", visitor, "", "image", "https://cdn.example.com/u/photo.png", "image/png"},
	}
	waitFor(t, waitTimeout, "every message pushed", func() (bool, string) {
		s := e.stats("acme")
		return s.Messages["pushed"] == len(want), fmt.Sprintf("messages %v", s.Messages)
	})

	st := e.openStore()
	s := e.stats("acme")
	if s.Messages["pushed"] != len(want) || s.Messages["pending"]+s.Messages["excluded"]+s.Messages["dead"] != 0 {
		t.Errorf("stats: messages %v, want %d pushed and nothing else (the duplicate and the status are no messages)", s.Messages, len(want))
	}
	if s.Conversations["OPEN"] != 4 {
		t.Errorf("stats: conversations %v, want 4 OPEN", s.Conversations)
	}

	convs := conversationRecords(t, acme.SF)
	msgs := messageRecords(t, acme.SF)
	if len(msgs) != len(want) {
		t.Errorf("%d message records, want %d: %v", len(msgs), len(want), slices.Sorted(maps.Keys(msgs)))
	}
	for k := range msgs {
		if strings.Contains(k, "OUTBOUND1") {
			t.Errorf("the status receipt became a message record: %s", k)
		}
	}

	// One conversation record per conversation, keyed by the store's id.
	parents := map[string]standin.Record{} // contact -> conversation record
	for _, c := range []struct{ channel, contact string }{{"wa", ann}, {"wa", bob}, {"wa", cat}, {"web", visitor}} {
		conv := onlyConversation(t, st, "acme", c.channel, c.contact)
		key := convKey("acme", c.channel, conv.ID)
		rec, ok := convs[key]
		if !ok {
			t.Errorf("no conversation record %s for %s", key, c.contact)
			continue
		}
		for name, want := range map[string]string{"State__c": "OPEN", "Channel__c": c.channel, "Contact_Id__c": c.contact, "Blocked__c": "false"} {
			if got := field(rec, name); got != want {
				t.Errorf("conversation %s: %s = %q, want %q", key, name, got, want)
			}
		}
		if _, err := time.Parse(time.RFC3339, field(rec, "Last_Message_At__c")); err != nil {
			t.Errorf("conversation %s: Last_Message_At__c %q is not an RFC 3339 time", key, field(rec, "Last_Message_At__c"))
		}
		parents[c.contact] = rec
	}
	if len(convs) != 4 {
		t.Errorf("%d conversation records, want 4", len(convs))
	}

	for _, w := range want {
		key := msgKey("acme", w.channel, w.platformID)
		rec, ok := msgs[key]
		if !ok {
			t.Errorf("no message record %s", key)
			continue
		}
		fields := map[string]string{
			"Body__c": w.body, "Kind__c": w.kind, "Direction__c": string(store.Inbound),
			"Media_Url__c": w.mediaURL, "Media_Type__c": w.mediaType,
			"Conversation_State__c": "OPEN", "Sender__c": w.contact,
		}
		for name, want := range fields {
			if got := field(rec, name); got != want {
				t.Errorf("message %s: %s = %q, want %q", key, name, got, want)
			}
		}
		if parent, ok := parents[w.contact]; ok && field(rec, "Chat_Conversation__c") != parent.ID {
			t.Errorf("message %s: Chat_Conversation__c = %q, want the conversation record %s (%s)",
				key, field(rec, "Chat_Conversation__c"), parent.ID, field(parent, "Conversation_Key__c"))
		}
	}

	// Sent_At__c is the platform's timestamp (WhatsApp sends seconds).
	if got, want := field(msgs[msgKey("acme", "wa", "wamid.ANN1")], "Sent_At__c"), ts.UTC().Truncate(time.Second).Format(time.RFC3339); got != want {
		t.Errorf("wamid.ANN1: Sent_At__c = %q, want %q", got, want)
	}

	// Per conversation, records were created in the order the messages
	// were sent.
	for _, order := range [][]string{
		{"wa:wamid.ANN1", "wa:wamid.ANN2", "wa:wamid.ANN3"},
		{"wa:wamid.BOB1", "wa:wamid.BOB2", "wa:wamid.BOB3"},
		{"wa:wamid.CAT1", "wa:wamid.CAT2"},
		{"web:evt-1", "web:evt-3"},
	} {
		for i := 1; i < len(order); i++ {
			a, b := msgs["acme:"+order[i-1]], msgs["acme:"+order[i]]
			if a.CreatedSeq == 0 || b.CreatedSeq == 0 || a.CreatedSeq >= b.CreatedSeq {
				t.Errorf("%s (created %d) should be created before %s (created %d)", order[i-1], a.CreatedSeq, order[i], b.CreatedSeq)
			}
		}
	}
}

// TestAutoBotConversationsStayOutOfSalesforce checks that the messages of
// a bot channel, whose conversations start in AUTO_BOT (excluded by
// default), are stored as excluded and that nothing of them reaches
// Salesforce, not even the conversation record. A web chat message sent
// afterwards shows that the dispatcher is running.
func TestAutoBotConversationsStayOutOfSalesforce(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "bot", Platform: "whatsapp", Bot: true}, {ID: "web", Platform: "webchat"}},
	}}})
	e.start()

	ts := time.Now()
	phone := defaultPhoneNumberID
	if a := e.postWhatsApp("acme", "bot", whatsapp.TextDelivery(phone, "31611111111", "Dee", "wamid.BOT1", "hi bot", ts)); a.Stored != 1 || a.Excluded != 1 || a.Pending != 0 {
		t.Fatalf("bot message: answer %+v, want 1 stored and excluded", a)
	}
	two := whatsapp.Delivery(phone,
		whatsapp.Inbound{From: "31611111111", ID: "wamid.BOT2", Time: ts, Text: "are you a bot?"},
		whatsapp.Inbound{From: "31622222222", ID: "wamid.BOT3", Time: ts, Text: "hello"},
	)
	if a := e.postWhatsApp("acme", "bot", two); a.Stored != 2 || a.Excluded != 2 || a.Pending != 0 {
		t.Fatalf("bot messages: answer %+v, want 2 stored and excluded", a)
	}

	sentinel, err := json.Marshal(webchat.Delivery{Events: []webchat.Event{{ID: "evt-sentinel", Type: "message",
		Visitor: webchat.Visitor{ID: "v-1"}, Message: &webchat.Message{Text: "sent after the bot messages"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.postWebChat("acme", "web", sentinel)
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "web", "evt-sentinel"))

	if msgs := messageRecords(t, acme.SF); len(msgs) != 1 {
		t.Errorf("%d message records, want only the web chat one: %v", len(msgs), slices.Collect(maps.Keys(msgs)))
	}
	for key, rec := range conversationRecords(t, acme.SF) {
		if field(rec, "Channel__c") != "web" {
			t.Errorf("conversation record %s of channel %q reached Salesforce", key, field(rec, "Channel__c"))
		}
	}

	// The stand-in holds the record before the dispatcher's acknowledgement
	// commits, so the push status is awaited rather than read once.
	waitFor(t, waitTimeout, "the web chat message acknowledged", func() (bool, string) {
		s := e.stats("acme")
		return s.Messages["pushed"] == 1, fmt.Sprintf("messages %v", s.Messages)
	})
	s := e.stats("acme")
	if s.Messages["excluded"] != 3 || s.Messages["pushed"] != 1 || s.Messages["pending"] != 0 {
		t.Errorf("stats: messages %v, want 3 excluded and 1 pushed", s.Messages)
	}
	if s.Conversations["AUTO_BOT"] != 2 || s.Conversations["OPEN"] != 1 {
		t.Errorf("stats: conversations %v, want 2 AUTO_BOT and 1 OPEN", s.Conversations)
	}
	st := e.openStore()
	for _, contact := range []string{"31611111111", "31622222222"} {
		conv := onlyConversation(t, st, "acme", "bot", contact)
		if conv.InSalesforce() {
			t.Errorf("conversation %d of %s is marked as written to Salesforce", conv.ID, contact)
		}
		for _, m := range messagesOf(t, st, conv.ID) {
			if m.PushStatus != store.Excluded || !strings.Contains(m.PushReason, "AUTO_BOT") {
				t.Errorf("message %s: push status %q, reason %q; want excluded because of AUTO_BOT", m.PlatformID, m.PushStatus, m.PushReason)
			}
		}
	}
}

// TestBadInputIsRefusedAndChangesNothing posts wrong signatures, a
// malformed body, an oversized body, and deliveries to an unknown tenant
// or channel, and makes the WhatsApp verification handshake with a wrong
// and a right token. Each refusal is a JSON error with its code, and
// nothing is stored or pushed.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{
		MaxBodyBytes: 4096,
		Tenants: []tenantSpec{{
			ID: "acme", Org: acme,
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}, {ID: "web", Platform: "webchat"}},
		}},
	})
	e.start()

	good := whatsapp.TextDelivery(defaultPhoneNumberID, "31600000009", "Eve", "wamid.EVE1", "let me in", time.Now())
	webBody, err := json.Marshal(webchat.Delivery{Events: []webchat.Event{{ID: "evt-x", Type: "message",
		Visitor: webchat.Visitor{ID: "v-x"}, Message: &webchat.Message{Text: "let me in"}}}})
	if err != nil {
		t.Fatal(err)
	}
	malformed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":`)
	big := whatsapp.TextDelivery(defaultPhoneNumberID, "31600000009", "Eve", "wamid.EVE2", strings.Repeat("x", 5000), time.Now())

	cases := []struct {
		name            string
		tenant, channel string
		body            []byte
		header, sig     string
		status          int
		code            string
	}{
		{"wrong signature", "acme", "wa", good, whatsapp.SignatureHeader, whatsapp.Sign("not-the-app-secret", good), http.StatusUnauthorized, "bad_signature"},
		{"missing signature", "acme", "wa", good, "", "", http.StatusUnauthorized, "bad_signature"},
		{"wrong web chat signature", "acme", "web", webBody, webchat.SignatureHeader, webchat.Sign("not-the-secret", webBody), http.StatusUnauthorized, "bad_signature"},
		{"malformed JSON", "acme", "wa", malformed, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, malformed), http.StatusBadRequest, "malformed_body"},
		{"body over max_body_bytes", "acme", "wa", big, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, big), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"unknown tenant", "nobody", "wa", good, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, good), http.StatusNotFound, "unknown_channel"}, // the same answer as an unknown channel: no enumeration
		{"unknown channel", "acme", "telegram", good, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, good), http.StatusNotFound, "unknown_channel"},
	}
	s := e.sender()
	for _, c := range cases {
		resp, err := s.Post(t.Context(), c.tenant, c.channel, c.body, c.header, c.sig)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkError(t, c.name, resp.Status, []byte(resp.Body), c.status, c.code)
	}

	// The verification handshake.
	get := func(token string) (int, []byte) {
		t.Helper()
		url := e.base() + "/webhooks/acme/wa?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + token
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("handshake: read the answer: %v", err)
		}
		return resp.StatusCode, b
	}
	status, body := get("not-the-verify-token")
	checkError(t, "handshake with a wrong token", status, body, http.StatusForbidden, "handshake_refused")

	// The metrics name tenants and orgs: not without the operator token.
	if r := e.call("", http.MethodGet, "/metrics", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %s, want 401", r)
	}
	if r := e.call(operatorToken, http.MethodGet, "/metrics", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "connector_webhooks_total") {
		t.Errorf("/metrics with the operator token: %s", r)
	}
	status, body = get(verifyToken)
	if status != http.StatusOK || string(body) != "1158201444" {
		t.Errorf("handshake with the right token: %d %q, want 200 with the challenge", status, body)
	}

	st := e.stats("acme")
	for k, n := range st.Messages {
		if n != 0 {
			t.Errorf("stats: %d messages %s, want none", n, k)
		}
	}
	for k, n := range st.Conversations {
		if n != 0 {
			t.Errorf("stats: %d conversations %s, want none", n, k)
		}
	}
	if n := len(acme.SF.Records(msgObject)) + len(acme.SF.Records(convObject)); n != 0 {
		t.Errorf("the stand-in has %d records, want none", n)
	}
}

// checkError checks a JSON error answer.
func checkError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s: the answer is not JSON: %d %q", what, status, body)
		return
	}
	if status != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		t.Errorf("%s: %d %s, want %d with code %q and a message", what, status, body, wantStatus, wantCode)
	}
}
