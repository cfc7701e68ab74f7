package instagram

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
	const stamp = "1772620215250"
	m := func(id string, content platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: id, Contact: testIGSID, Timestamp: ts, Message: &content, Detail: detail}
	}
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"text", TextDelivery(testAccountID, testIGSID, "m_1", "Is it in stock?", ts),
			[]platform.Event{m("m_1", platform.Message{Kind: platform.Text, Text: "Is it in stock?"}, "")}},
		{"image", ImageDelivery(testAccountID, testIGSID, "m_2", "https://lookaside.test/a.jpg", ts),
			[]platform.Event{m("m_2", platform.Message{Kind: platform.Image, MediaRef: "https://lookaside.test/a.jpg"}, "")}},
		{"share and reel", Delivery(testAccountID,
			Inbound{From: testIGSID, ID: "m_3", Time: ts, Type: "share", URL: "https://lookaside.test/s"},
			Inbound{From: testIGSID, ID: "m_4", Time: ts, Type: "ig_reel", URL: "https://lookaside.test/r", ReplyTo: "m_1"}),
			[]platform.Event{
				m("m_3", platform.Message{Kind: platform.Other, MediaRef: "https://lookaside.test/s"}, "share"),
				m("m_4", platform.Message{Kind: platform.Video, MediaRef: "https://lookaside.test/r", ReplyTo: "m_1"}, "ig_reel"),
			}},
		{"reaction", ReactionDelivery(testAccountID, testIGSID, "m_1", "😮", ts),
			[]platform.Event{m("reaction:m_1:"+testIGSID+":😮:"+stamp, platform.Message{Kind: platform.Reaction, Text: "😮", ReplyTo: "m_1"}, "reaction wow")}},
		{"unreaction", ReactionDelivery(testAccountID, testIGSID, "m_1", "", ts),
			[]platform.Event{m("reaction:m_1:"+testIGSID+":unreact:"+stamp, platform.Message{Kind: platform.Reaction, ReplyTo: "m_1"}, "reaction removed")}},
		{"edit", EditDelivery(testAccountID, testIGSID, "m_1", "Is the M in stock?", 3, ts),
			[]platform.Event{m("edit:m_1:3", platform.Message{Kind: platform.Edit, Text: "Is the M in stock?", ReplyTo: "m_1"}, "edit 3")}},
		{"unsend", UnsendDelivery(testAccountID, testIGSID, "m_1", ts),
			[]platform.Event{m("unsend:m_1", platform.Message{Kind: platform.Unsend, ReplyTo: "m_1"}, "")}},
		{"postback", PostbackDelivery(testAccountID, testIGSID, "m_5", "Track my order", "TRACK", ts),
			[]platform.Event{m("postback:m_5", platform.Message{Kind: platform.Postback, Text: "Track my order"}, "payload TRACK")}},
		{"echo", EchoDelivery(testAccountID, testIGSID, "m_6", "Yes, it is", ts),
			[]platform.Event{{Kind: platform.KindReceipt, ID: "m_6:status:echo", Contact: testIGSID, Timestamp: ts, Status: "echo",
				Detail: "echo from app_id " + builderAppID}}},
		{"seen", SeenDelivery(testAccountID, testIGSID, "m_6", ts),
			[]platform.Event{{Kind: platform.KindReceipt, ID: "m_6:status:read", Contact: testIGSID, Timestamp: ts, Status: "read"}}},
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
