package telegram

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

var builderTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestBuildersRoundTrip(t *testing.T) {
	a := newTestAdapter(t)
	ann := User{ID: 5234109876, FirstName: "Ann", LastName: "Lee", Username: "annlee"}
	msg := func(id string, m platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: id, Contact: "5234109876", ContactName: "Ann Lee",
			Timestamp: builderTime, Message: &m, Detail: detail}
	}
	tests := []struct {
		name string
		body []byte
		want platform.Event
	}{
		{"text", TextUpdate(1, ann, 10, "hello <b>", builderTime),
			msg("5234109876:10", platform.Message{Kind: platform.Text, Text: "hello <b>"}, "")},
		{"photo", PhotoUpdate(2, ann, 11, "AgACAgIAAxkB-photo", "my receipt", builderTime),
			msg("5234109876:11", platform.Message{Kind: platform.Image, Text: "my receipt", MediaRef: "AgACAgIAAxkB-photo"}, "")},
		{"document reply", MessageUpdate(Inbound{UpdateID: 3, From: ann, MessageID: 12, Time: builderTime, Type: "document",
			FileID: "BQACAgIAAxkB-doc", MimeType: "application/pdf", FileName: "cv.pdf", ReplyTo: 11}),
			msg("5234109876:12", platform.Message{Kind: platform.Document, Text: "cv.pdf", MediaRef: "BQACAgIAAxkB-doc#name=cv.pdf&type=application%2Fpdf",
				MediaType: "application/pdf", ReplyTo: "5234109876:11"}, "cv.pdf")},
		{"voice", MessageUpdate(Inbound{UpdateID: 4, From: ann, MessageID: 13, Time: builderTime, Type: "voice",
			FileID: "AwACAgIAAxkB-voice", MimeType: "audio/ogg"}),
			msg("5234109876:13", platform.Message{Kind: platform.Audio, MediaRef: "AwACAgIAAxkB-voice#type=audio%2Fogg", MediaType: "audio/ogg"}, "voice")},
		{"sticker", MessageUpdate(Inbound{UpdateID: 5, From: ann, MessageID: 14, Time: builderTime, Type: "sticker",
			FileID: "CAACAgIAAxkB-sticker", Text: "👋"}),
			msg("5234109876:14", platform.Message{Kind: platform.Sticker, Text: "👋", MediaRef: "CAACAgIAAxkB-sticker"}, "set AcmeStickers")},
		{"location", MessageUpdate(Inbound{UpdateID: 6, From: ann, MessageID: 15, Time: builderTime, Type: "location",
			Latitude: 48.8584, Longitude: 2.2945}),
			msg("5234109876:15", platform.Message{Kind: platform.Location, Text: "(48.8584, 2.2945)"}, "")},
		{"edit", EditedUpdate(Inbound{UpdateID: 7, From: ann, MessageID: 10, Time: builderTime, Text: "hello!"}, builderTime.Add(time.Minute)),
			platform.Event{Kind: platform.KindMessage, ID: "edit:5234109876:10:1795255260:7", Contact: "5234109876", ContactName: "Ann Lee",
				Timestamp: builderTime.Add(time.Minute), Message: &platform.Message{Kind: platform.Edit, Text: "hello!", ReplyTo: "5234109876:10"},
				Detail: "edit of text"}},
		{"callback", CallbackUpdate(8, ann, "884422", 16, "Refund", "order:1:refund", builderTime),
			platform.Event{Kind: platform.KindMessage, ID: "callback:884422", Contact: "5234109876", ContactName: "Ann Lee",
				Message: &platform.Message{Kind: platform.Button, Text: "Refund", ReplyTo: "5234109876:16"}, Detail: "callback data order:1:refund"}},
		{"reaction", ReactionUpdate(9, ann, 16, "❤", builderTime),
			platform.Event{Kind: platform.KindMessage, ID: "reaction:5234109876:16:5234109876:❤:1795255200", Contact: "5234109876",
				ContactName: "Ann Lee", Timestamp: builderTime, Message: &platform.Message{Kind: platform.Reaction, Text: "❤", ReplyTo: "5234109876:16"}}},
		{"blocked", MemberUpdate(10, ann, "member", "kicked", builderTime),
			platform.Event{Kind: platform.KindContact, ID: "member:5234109876:kicked:1795255200", Contact: "5234109876", ContactName: "Ann Lee",
				Timestamp: builderTime, Status: "blocked", Detail: "my_chat_member member -> kicked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, SecretHeader, Sign(testSecretToken, tt.body))
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("a signed built update does not verify: %v", err)
			}
			assertEvents(t, platformtest.CheckParse(t, a, tt.body), []platform.Event{tt.want})
		})
	}
}

// TestBuilderShape checks the JSON against the Bot API's field names and
// types, which the round trip alone would not catch (a builder and parser
// could agree on a wrong name).
func TestBuilderShape(t *testing.T) {
	ann := User{ID: 5234109876, FirstName: "Ann"}
	get := func(t *testing.T, body []byte, path ...any) any {
		t.Helper()
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("at %v: not an object", p)
				}
				v = m[k]
			case int:
				l, ok := v.([]any)
				if !ok || k >= len(l) {
					t.Fatalf("at %v: not a list that long", p)
				}
				v = l[k]
			}
		}
		return v
	}
	photo := PhotoUpdate(77, ann, 11, "big", "c", builderTime)
	reaction := ReactionUpdate(78, ann, 11, "👍", builderTime)
	member := MemberUpdate(79, ann, "member", "kicked", builderTime)
	callback := CallbackUpdate(80, ann, "q", 12, "Yes", "yes", builderTime)
	checks := []struct {
		body []byte
		path []any
		want any
	}{
		{photo, []any{"update_id"}, 77.0},
		{photo, []any{"message", "message_id"}, 11.0},
		{photo, []any{"message", "date"}, 1795255200.0},
		{photo, []any{"message", "chat", "id"}, 5234109876.0},
		{photo, []any{"message", "chat", "type"}, "private"},
		{photo, []any{"message", "from", "is_bot"}, false},
		{photo, []any{"message", "caption"}, "c"},
		{photo, []any{"message", "photo", 2, "file_id"}, "big"},
		{photo, []any{"message", "photo", 2, "width"}, 1280.0},
		{reaction, []any{"message_reaction", "new_reaction", 0, "type"}, "emoji"},
		{reaction, []any{"message_reaction", "new_reaction", 0, "emoji"}, "👍"},
		{reaction, []any{"message_reaction", "user", "id"}, 5234109876.0},
		{member, []any{"my_chat_member", "new_chat_member", "status"}, "kicked"},
		{member, []any{"my_chat_member", "new_chat_member", "until_date"}, 0.0},
		{member, []any{"my_chat_member", "new_chat_member", "user", "is_bot"}, true},
		{member, []any{"my_chat_member", "old_chat_member", "status"}, "member"},
		{callback, []any{"callback_query", "message", "reply_markup", "inline_keyboard", 0, 0, "callback_data"}, "yes"},
		{callback, []any{"callback_query", "data"}, "yes"},
		{callback, []any{"callback_query", "chat_instance"}, builderChatInstance},
	}
	for _, c := range checks {
		if v := get(t, c.body, c.path...); v != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
		}
	}
	if v := get(t, reaction, "message_reaction", "old_reaction"); v == nil {
		t.Error("old_reaction missing: the Bot API always sends it")
	}
}
