package viber

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

var builderTime = time.Date(2026, 11, 21, 10, 0, 0, 123e6, time.UTC)

func TestBuildersRoundTrip(t *testing.T) {
	a := newTestAdapter(t)
	const user = "jc9HsWTZ2Yf2NkRZ8KcNug=="
	msg := func(token string, m platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: token, Contact: user, ContactName: "Ann",
			Timestamp: builderTime, Message: &m, Detail: detail}
	}
	tests := []struct {
		name string
		body []byte
		want platform.Event
	}{
		{"text", TextCallback("5741311803571721087", user, "Ann", "hello <b>", builderTime),
			msg("5741311803571721087", platform.Message{Kind: platform.Text, Text: "hello <b>"}, "")},
		{"picture", PictureCallback("5741311803571721088", user, "Ann", "https://dl-media.viber.com/p.jpg", "my receipt", builderTime),
			msg("5741311803571721088", platform.Message{Kind: platform.Image, Text: "my receipt", MediaRef: "https://dl-media.viber.com/p.jpg"}, "")},
		{"file", MessageCallback(Inbound{Token: "9", UserID: user, Name: "Ann", Time: builderTime, Type: "file",
			Media: "https://dl-media.viber.com/cv.pdf", FileName: "cv.pdf", FileSize: 1200}),
			msg("9", platform.Message{Kind: platform.Document, Text: "cv.pdf", MediaRef: "https://dl-media.viber.com/cv.pdf#name=cv.pdf"}, "cv.pdf")},
		{"sticker", MessageCallback(Inbound{Token: "10", UserID: user, Name: "Ann", Time: builderTime, Type: "sticker",
			Media: "https://viber.com/app/stickers/40133.png", StickerID: 40133}),
			msg("10", platform.Message{Kind: platform.Sticker, MediaRef: "https://viber.com/app/stickers/40133.png"}, "sticker_id 40133")},
		{"contact", MessageCallback(Inbound{Token: "11", UserID: user, Name: "Ann", Time: builderTime, Type: "contact",
			ContactName: "Bo", ContactPhone: "+4930123"}),
			msg("11", platform.Message{Kind: platform.Contacts, Text: "Bo (+4930123)"}, "")},
		{"location", MessageCallback(Inbound{Token: "12", UserID: user, Name: "Ann", Time: builderTime, Type: "location",
			Latitude: 48.8584, Longitude: 2.2945}),
			msg("12", platform.Message{Kind: platform.Location, Text: "(48.8584, 2.2945)"}, "")},
		{"url", MessageCallback(Inbound{Token: "13", UserID: user, Name: "Ann", Time: builderTime, Type: "url", Media: "https://acme.example"}),
			msg("13", platform.Message{Kind: platform.Text, Text: "https://acme.example"}, "url")},
		{"seen", ReceiptCallback("seen", "5741311803571721087", user, builderTime, ""),
			platform.Event{Kind: platform.KindReceipt, ID: "5741311803571721087:status:read", Contact: user, Timestamp: builderTime, Status: "read"}},
		{"failed", ReceiptCallback("failed", "5741311803571721087", user, builderTime, "keyboard is invalid"),
			platform.Event{Kind: platform.KindReceipt, ID: "5741311803571721087:status:failed", Contact: user, Timestamp: builderTime,
				Status: "failed", Detail: "keyboard is invalid"}},
		{"subscribed", SubscribedCallback("20", user, "Ann", builderTime),
			platform.Event{Kind: platform.KindContact, ID: "subscribed:20", Contact: user, ContactName: "Ann", Timestamp: builderTime,
				Status: "follow", Detail: "subscribed"}},
		{"unsubscribed", UnsubscribedCallback("21", user, builderTime),
			platform.Event{Kind: platform.KindContact, ID: "unsubscribed:21", Contact: user, Timestamp: builderTime,
				Status: "blocked", Detail: "unsubscribed"}},
		{"conversation started", ConversationStartedCallback("22", user, "Ann", "promo-7", true, builderTime),
			platform.Event{Kind: platform.KindContact, ID: "conversation_started:22", Contact: user, ContactName: "Ann", Timestamp: builderTime,
				Status: "follow", Detail: "conversation_started; type open; context promo-7; subscribed true"}},
		{"webhook", WebhookCallback("23", builderTime),
			platform.Event{Kind: platform.KindIgnored, Timestamp: builderTime, Detail: "webhook: set_webhook check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, SignatureHeader, Sign(testAuthToken, tt.body))
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("a signed built callback does not verify: %v", err)
			}
			assertEvents(t, platformtest.CheckParse(t, a, tt.body), []platform.Event{tt.want})
		})
	}
}

// TestBuilderShape checks the JSON against Viber's field names and types,
// which the round trip alone would not catch (a builder and parser could
// agree on a wrong name).
func TestBuilderShape(t *testing.T) {
	decode := func(b []byte) map[string]any {
		t.Helper()
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	text := decode(TextCallback("5741311803571721087", "u1", "Ann", "hi", builderTime))
	if tok, ok := text["message_token"].(json.Number); !ok || tok.String() != "5741311803571721087" {
		t.Errorf("message_token = %#v, want the JSON number 5741311803571721087", text["message_token"])
	}
	if ts, ok := text["timestamp"].(json.Number); !ok || ts.String() != "1795255200123" {
		t.Errorf("timestamp = %#v, want epoch milliseconds 1795255200123", text["timestamp"])
	}
	if text["event"] != "message" || text["sender"].(map[string]any)["id"] != "u1" ||
		text["message"].(map[string]any)["type"] != "text" || text["message"].(map[string]any)["text"] != "hi" {
		t.Errorf("message callback shape: %v", text)
	}
	unsub := decode(UnsubscribedCallback("5", "u1", builderTime))
	if unsub["user_id"] != "u1" || unsub["user"] != nil {
		t.Errorf("unsubscribed carries user_id, not user: %v", unsub)
	}
	started := decode(ConversationStartedCallback("6", "u1", "Ann", "ctx", false, builderTime))
	if started["subscribed"] != false || started["type"] != "open" || started["user"].(map[string]any)["name"] != "Ann" {
		t.Errorf("conversation_started shape: %v", started)
	}
	loc := decode(MessageCallback(Inbound{Token: "7", UserID: "u1", Type: "location", Latitude: 1.5, Longitude: 2.5}))
	if l := loc["message"].(map[string]any)["location"].(map[string]any); l["lat"] != json.Number("1.5") || l["lon"] != json.Number("2.5") {
		t.Errorf("location shape: %v", l)
	}
	if tok := decode(WebhookCallback("not-a-number", builderTime))["message_token"]; tok != "not-a-number" {
		t.Errorf("a non-numeric token is sent as a string, got %#v", tok)
	}
}
