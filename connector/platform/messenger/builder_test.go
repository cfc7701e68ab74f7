package messenger

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// The builders must produce deliveries that the adapter verifies and parses
// back into what they describe.
func TestBuildersRoundTrip(t *testing.T) {
	a := newTestAdapter(t)
	ts := time.Date(2026, 3, 4, 10, 30, 15, 250_000_000, time.UTC)
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"text", TextDelivery(testPageID, testPSID, "m_1", "Hello <there> & welcome", ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Text, Text: "Hello <there> & welcome"}}}},
		{"image", ImageDelivery(testPageID, testPSID, "m_2", "https://scontent.test/p.jpg", ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_2", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Image, MediaRef: "https://scontent.test/p.jpg"}}}},
		{"sticker, location and quick reply", Delivery(testPageID,
			Inbound{From: testPSID, ID: "m_3", Time: ts, Type: "sticker", URL: "https://scontent.test/s.png", StickerID: "369239263222822"},
			Inbound{From: testPSID, ID: "m_4", Time: ts, Type: "location", Text: "Office", Latitude: "48.85", Longitude: "2.35"},
			Inbound{From: testPSID, ID: "m_5", Time: ts, Type: "quick_reply", Text: "Yes", Payload: "CONFIRM", ReplyTo: "m_0"}),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "m_3", Contact: testPSID, Timestamp: ts,
					Message: &platform.Message{Kind: platform.Sticker, MediaRef: "https://scontent.test/s.png"}, Detail: "sticker_id 369239263222822"},
				{Kind: platform.KindMessage, ID: "m_4", Contact: testPSID, Timestamp: ts,
					Message: &platform.Message{Kind: platform.Location, Text: "Office (48.85, 2.35)"}},
				{Kind: platform.KindMessage, ID: "m_5", Contact: testPSID, Timestamp: ts,
					Message: &platform.Message{Kind: platform.Button, Text: "Yes", ReplyTo: "m_0"}, Detail: "quick_reply payload CONFIRM"},
			}},
		{"reaction", ReactionDelivery(testPageID, testPSID, "m_1", "👍", ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "reaction:m_1:" + testPSID + ":👍:1772620215250", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Reaction, Text: "👍", ReplyTo: "m_1"}, Detail: "reaction like"}}},
		{"unreaction", ReactionDelivery(testPageID, testPSID, "m_1", "", ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "reaction:m_1:" + testPSID + ":unreact:1772620215250", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Reaction, ReplyTo: "m_1"}, Detail: "reaction removed"}}},
		{"edit", EditDelivery(testPageID, testPSID, "m_1", "Hello again", 1, ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:m_1:1", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Edit, Text: "Hello again", ReplyTo: "m_1"}, Detail: "edit 1"}}},
		{"postback", PostbackDelivery(testPageID, testPSID, "m_6", "Talk to an agent", "AGENT", ts),
			[]platform.Event{{Kind: platform.KindMessage, ID: "postback:m_6", Contact: testPSID, Timestamp: ts,
				Message: &platform.Message{Kind: platform.Postback, Text: "Talk to an agent"}, Detail: "payload AGENT"}}},
		{"echo", EchoDelivery(testPageID, testPSID, "m_7", "We are on it", ts),
			[]platform.Event{{Kind: platform.KindReceipt, ID: "m_7:status:echo", Contact: testPSID, Timestamp: ts,
				Status: "echo", Detail: "echo from app_id " + builderAppID}}},
		{"delivery", DeliveryReceipt(testPageID, testPSID, ts, "m_7", "m_8"),
			[]platform.Event{
				{Kind: platform.KindReceipt, ID: "m_7:status:delivered", Contact: testPSID, Timestamp: ts, Status: "delivered"},
				{Kind: platform.KindReceipt, ID: "m_8:status:delivered", Contact: testPSID, Timestamp: ts, Status: "delivered"},
			}},
		{"read", ReadReceipt(testPageID, testPSID, ts),
			[]platform.Event{{Kind: platform.KindReceipt, ID: "read:" + testPSID + ":1772620215250", Contact: testPSID, Timestamp: ts,
				Status: "read", Detail: "every message up to the watermark 1772620215250"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, SignatureHeader, Sign(testAppSecret, tt.body))
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := platformtest.CheckParse(t, a, tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
