package integration_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/instagram"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/messenger"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/viber"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
)

// Secrets and account ids of the channels of every platform.
const (
	metaAppSecret    = "integration-meta-app-secret"
	pageID           = "104321098765432"
	igAccountID      = "17841400000000001"
	telegramSecret   = "integration-telegram-secret"
	lineSecret       = "integration-line-channel-secret"
	twilioSID        = "AC0123456789abcdef0123456789abcdef"
	twilioToken      = "integration-twilio-auth-token"
	viberToken       = "integration-viber-auth-token"
	lineDestination  = "U0123456789abcdef0123456789abcdef"
	twilioNumber     = "+15550100200"
	integrationVerif = "integration-meta-verify-token"
)

// platformSections are the configuration sections of the platforms the
// harness has no special case for.
var platformSections = map[string]map[string]any{
	"messenger": {"page_id": pageID, "app_secret": metaAppSecret, "verify_token": integrationVerif},
	"instagram": {"page_id": pageID, "account_id": igAccountID, "app_secret": metaAppSecret, "verify_token": integrationVerif},
	"telegram":  {"secret_token": telegramSecret},
	"line":      {"channel_secret": lineSecret},
	"twilio":    {"account_sid": twilioSID, "auth_token": twilioToken, "from": twilioNumber},
	"viber":     {"auth_token": viberToken, "sender_name": "Acme"},
}

// TestOneDeliveryOfEachPlatformReachesSalesforce sends one signed
// delivery of each platform, built as the platform sends it, through the
// running binary, and finds each message's record in the Salesforce
// stand-in under its channel's conversation.
func TestOneDeliveryOfEachPlatformReachesSalesforce(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	platforms := []string{"whatsapp", "messenger", "instagram", "telegram", "line", "twilio", "viber", "webchat"}
	var chans []channelSpec
	for _, p := range platforms {
		chans = append(chans, channelSpec{ID: p, Platform: p})
	}
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme, Channels: chans}}})
	e.start()
	now := time.Now().Add(-time.Minute)
	text := func(p string) string { return "hello from " + p }

	type delivery struct {
		body           []byte
		header, signed string
	}
	deliveries := map[string]delivery{}
	add := func(p string, body []byte, header, sig string) {
		deliveries[p] = delivery{body, header, sig}
	}
	b := whatsapp.TextDelivery(defaultPhoneNumberID, "31600000077", "Ann", "wamid.EACH.1", text("whatsapp"), now)
	add("whatsapp", b, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, b))
	b = messenger.TextDelivery(pageID, "6543210987654321", "m_EACH_1", text("messenger"), now)
	add("messenger", b, meta.SignatureHeader, messenger.Sign(metaAppSecret, b))
	b = instagram.TextDelivery(igAccountID, "1234567890123456", "aWdfZAEACH1", text("instagram"), now)
	add("instagram", b, meta.SignatureHeader, instagram.Sign(metaAppSecret, b))
	b = telegram.TextUpdate(900001, telegram.User{ID: 7000000001, FirstName: "Ann"}, 42, text("telegram"), now)
	add("telegram", b, telegram.SecretHeader, telegram.Sign(telegramSecret, b))
	b = line.TextDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", "468789577898262530", text("line"), now)
	add("line", b, line.SignatureHeader, line.Sign(lineSecret, b))
	b = twilio.InboundBody(twilio.Inbound{AccountSID: twilioSID, From: "+14155550123", To: twilioNumber, Body: text("twilio")})
	sig, err := twilio.SignBody(twilioToken, e.base()+"/webhooks/acme/twilio", b)
	if err != nil {
		t.Fatal(err)
	}
	add("twilio", b, twilio.SignatureHeader, sig)
	b = viber.TextCallback("5741311803571721087", "01234567890A=", "Ann", text("viber"), now)
	add("viber", b, viber.SignatureHeader, viber.Sign(viberToken, b))
	b = []byte(fmt.Sprintf(`{"events":[{"id":"web-EACH-1","type":"message","visitor":{"id":"v-1","name":"Ann"},"message":{"text":%q}}]}`, text("webchat")))
	add("webchat", b, webchat.SignatureHeader, webchat.Sign(webchatSecret, b))

	for _, p := range platforms {
		d := deliveries[p]
		resp, err := e.sender().Post(t.Context(), "acme", p, d.body, d.header, d.signed)
		if err != nil || resp.Status != 200 {
			t.Fatalf("%s: delivery answered %d (%v): %s", p, resp.Status, err, resp.Body)
		}
	}
	for _, p := range platforms {
		var found bool
		waitFor(t, waitTimeout, p+"'s message in Salesforce", func() (bool, string) {
			for _, r := range acme.SF.Records(msgObject) {
				if field(r, "Body__c") != text(p) {
					continue
				}
				found = true
				if key := field(r, "Message_Key__c"); !strings.HasPrefix(key, "acme:"+p+":") {
					t.Errorf("%s: message key %q", p, key)
				}
				if field(r, "Direction__c") != "inbound" || field(r, "Kind__c") != "text" {
					t.Errorf("%s: record %v", p, r.Fields)
				}
				parent := field(r, "Chat_Conversation__c")
				for _, c := range acme.SF.Records(convObject) {
					if c.ID == parent && field(c, "Channel__c") != p {
						t.Errorf("%s: the message's conversation is on channel %q", p, field(c, "Channel__c"))
					}
				}
				if parent == "" {
					t.Errorf("%s: the message has no parent conversation", p)
				}
				return true, ""
			}
			return false, "not yet"
		})
		if !found {
			t.Errorf("%s: no record", p)
		}
	}
	if n := len(acme.SF.Records(msgObject)); n != len(platforms) {
		t.Errorf("%d message records, want %d", n, len(platforms))
	}

	// What the platforms say about contacts is recorded on the contact:
	// the user who blocked the business on LINE, Telegram and Viber.
	blocks := []struct {
		channel, contact string
		body             []byte
		header, signed   string
	}{
		{"line", "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", line.UnfollowDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", now.Add(time.Second)), line.SignatureHeader, ""},
		{"telegram", "7000000001", telegram.MemberUpdate(900002, telegram.User{ID: 7000000001, FirstName: "Ann"}, "member", "kicked", now.Add(time.Second)), telegram.SecretHeader, telegramSecret},
		{"viber", "01234567890A=", viber.UnsubscribedCallback("5741311803571721099", "01234567890A=", now.Add(time.Second)), viber.SignatureHeader, ""},
	}
	blocks[0].signed = line.Sign(lineSecret, blocks[0].body)
	blocks[2].signed = viber.Sign(viberToken, blocks[2].body)
	for _, b := range blocks {
		resp, err := e.sender().Post(t.Context(), "acme", b.channel, b.body, b.header, b.signed)
		if err != nil || resp.Status != 200 || !strings.Contains(resp.Body, `"contact_events":1`) {
			t.Fatalf("%s: block event answered %d (%v): %s", b.channel, resp.Status, err, resp.Body)
		}
	}
	st := e.openStore()
	for _, b := range blocks {
		var c store.Contact
		err := st.WithTx(t.Context(), func(tx store.Tx) error {
			var err error
			c, err = tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "acme", Channel: b.channel, ExternalID: b.contact}, "", time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.PlatformStatus != "blocked" || !c.UnreachableOnPlatform() {
			t.Errorf("%s: contact %s has platform status %q, want blocked", b.channel, b.contact, c.PlatformStatus)
		}
	}
}
