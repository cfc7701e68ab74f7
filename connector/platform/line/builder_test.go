package line

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

var builderTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

const (
	builderBot  = "U0123456789abcdef0123456789abcdef"
	builderUser = "U206d25c2ea6bd87c17655609a1c37cb8"
)

func TestBuildersRoundTrip(t *testing.T) {
	a := newTestAdapter(t)
	idOf := func(body []byte) string {
		var w struct {
			Events []struct {
				WebhookEventID string `json:"webhookEventId"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &w); err != nil || len(w.Events) == 0 {
			t.Fatalf("built delivery unreadable: %v", err)
		}
		return w.Events[0].WebhookEventID
	}
	follow := FollowDelivery(builderBot, builderUser, false, builderTime)
	unblock := FollowDelivery(builderBot, builderUser, true, builderTime.Add(time.Minute))
	unfollow := UnfollowDelivery(builderBot, builderUser, builderTime)
	postback := PostbackDelivery(builderBot, builderUser, "action=buy&itemid=111", builderTime)
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"text", TextDelivery(builderBot, builderUser, "500000000000000001", "hello <b>", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "500000000000000001", Contact: builderUser, Timestamp: builderTime,
				Message: &platform.Message{Kind: platform.Text, Text: "hello <b>"}}}},
		{"image", ImageDelivery(builderBot, builderUser, "500000000000000002", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "500000000000000002", Contact: builderUser, Timestamp: builderTime,
				Message: &platform.Message{Kind: platform.Image, MediaRef: "500000000000000002"}}}},
		{"follow", follow, []platform.Event{{Kind: platform.KindContact, ID: idOf(follow), Contact: builderUser,
			Timestamp: builderTime, Status: "follow"}}},
		{"unblock", unblock, []platform.Event{{Kind: platform.KindContact, ID: idOf(unblock), Contact: builderUser,
			Timestamp: builderTime.Add(time.Minute), Status: "unblocked", Detail: "follow after unblocking"}}},
		{"unfollow", unfollow, []platform.Event{{Kind: platform.KindContact, ID: idOf(unfollow), Contact: builderUser,
			Timestamp: builderTime, Status: "blocked", Detail: "unfollow"}}},
		{"unsend", UnsendDelivery(builderBot, builderUser, "500000000000000001", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "unsend:500000000000000001", Contact: builderUser, Timestamp: builderTime,
				Message: &platform.Message{Kind: platform.Unsend, ReplyTo: "500000000000000001"}}}},
		{"postback", postback, []platform.Event{{Kind: platform.KindMessage, ID: idOf(postback), Contact: builderUser,
			Timestamp: builderTime, Message: &platform.Message{Kind: platform.Postback, Text: "action=buy&itemid=111"},
			Detail: "data action=buy&itemid=111"}}},
		{"batch", Delivery(builderBot,
			Event{UserID: builderUser, MessageID: "601", Text: "see this", QuotedMessageID: "600", Time: builderTime},
			Event{UserID: builderUser, MessageID: "602", MessageType: "file", FileName: "cv.pdf", FileSize: 2048, Time: builderTime},
			Event{GroupID: "Cgroup1", UserID: builderUser, MessageID: "603", MessageType: "location", Title: "Office",
				Latitude: 35.67966, Longitude: 139.73669, Time: builderTime},
			Event{UserID: builderUser, MessageID: "604", MessageType: "video", ContentURL: "https://cdn.example.com/v.mp4", Time: builderTime},
			Event{UserID: builderUser, MessageID: "605", MessageType: "sticker", PackageID: "446", StickerID: "1988", Time: builderTime}),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "601", Contact: builderUser, Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Text, Text: "see this", ReplyTo: "600"}},
				{Kind: platform.KindMessage, ID: "602", Contact: builderUser, Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Document, Text: "cv.pdf", MediaRef: "602#name=cv.pdf"}, Detail: "cv.pdf; 2048 bytes"},
				{Kind: platform.KindMessage, ID: "603", Contact: "Cgroup1", Sender: builderUser, Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Location, Text: "Office (35.67966, 139.73669)"},
					Detail:  "group chat; sender " + builderUser},
				{Kind: platform.KindMessage, ID: "604", Contact: builderUser, Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Video, MediaRef: "https://cdn.example.com/v.mp4"},
					Detail:  "external content; duration 60000 ms"},
				{Kind: platform.KindMessage, ID: "605", Contact: builderUser, Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Sticker, MediaRef: "446/1988"}, Detail: "sticker package 446 id 1988 STATIC"},
			}},
		{"verify", VerifyDelivery(builderBot), []platform.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, SignatureHeader, Sign(testChannelSecret, tt.body))
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("a signed built delivery does not verify: %v", err)
			}
			assertEvents(t, platformtest.CheckParse(t, a, tt.body), tt.want)
		})
	}
}

// TestBuilderShape checks the JSON against LINE's field names and types,
// which the round trip alone would not catch.
func TestBuilderShape(t *testing.T) {
	body := Delivery(builderBot,
		Event{UserID: builderUser, MessageID: "601", Text: "hi", Time: builderTime},
		Event{Type: "follow", UserID: builderUser, Time: builderTime})
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	events, _ := got["events"].([]any)
	if got["destination"] != builderBot || len(events) != 2 {
		t.Fatalf("delivery = %s", body)
	}
	msg, _ := events[0].(map[string]any)
	fol, _ := events[1].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", msg["type"], "message"},
		{"mode", msg["mode"], "active"},
		{"timestamp", msg["timestamp"], float64(builderTime.UnixMilli())},
		{"source.type", msg["source"].(map[string]any)["type"], "user"},
		{"source.userId", msg["source"].(map[string]any)["userId"], builderUser},
		{"deliveryContext.isRedelivery", msg["deliveryContext"].(map[string]any)["isRedelivery"], false},
		{"message.id", msg["message"].(map[string]any)["id"], "601"},
		{"message.type", msg["message"].(map[string]any)["type"], "text"},
		{"message.text", msg["message"].(map[string]any)["text"], "hi"},
		{"follow.type", fol["type"], "follow"},
		{"follow.isUnblocked", fol["follow"].(map[string]any)["isUnblocked"], false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for i, e := range events {
		id, _ := e.(map[string]any)["webhookEventId"].(string)
		if len(id) != 26 {
			t.Errorf("event %d webhookEventId %q is not ULID-shaped", i, id)
		}
	}
	if msg["webhookEventId"] == fol["webhookEventId"] {
		t.Error("two events share a webhookEventId")
	}
	if _, ok := msg["replyToken"].(string); !ok {
		t.Error("a message event lacks its replyToken")
	}
}
