package telegram

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// docEvent builds the expected message event of the Bot API documentation's
// examples (chat 1111111, message 1365).
func docEvent(m platform.Message, detail string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: "1111111:1365", Contact: "1111111",
		ContactName: "Test Firstname Test Lastname", Timestamp: unix(1441645532), Message: &m, Detail: detail}
}

// miraEvent builds the expected message event of Mira's messages.
func miraEvent(msgID string, ts int64, m platform.Message, detail string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: "5234109876:" + msgID, Contact: "5234109876",
		ContactName: "Mira Kovacs", Timestamp: unix(ts), Message: &m, Detail: detail}
}

func TestParseTestdata(t *testing.T) {
	const docFile = "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"
	tests := []struct {
		file string
		want platform.Event
	}{
		// The examples of the Bot API's webhook guide.
		{"text.json", docEvent(platform.Message{Kind: platform.Text, Text: "/start"}, "")},
		{"forwarded.json", docEvent(platform.Message{Kind: platform.Text, Text: "/start"}, "forwarded")},
		{"reply.json", docEvent(platform.Message{Kind: platform.Text, Text: "/start", ReplyTo: "1111111:1334"}, "")},
		{"edited.json", platform.Event{Kind: platform.KindMessage, ID: "edit:1111111:1365:1441646600:10000", Contact: "1111111",
			ContactName: "Test Firstname Test Lastname", Timestamp: unix(1441646600),
			Message: &platform.Message{Kind: platform.Edit, Text: "Edited text", ReplyTo: "1111111:1365"}, Detail: "edit of text"}},
		{"entities.json", docEvent(platform.Message{Kind: platform.Text, Text: "Bold and italics"}, "")},
		{"audio.json", docEvent(platform.Message{Kind: platform.Audio, MediaRef: docFile + "#type=audio%2Fmpeg", MediaType: "audio/mpeg"}, "Test music file")},
		{"voice.json", docEvent(platform.Message{Kind: platform.Audio, MediaRef: docFile + "#type=audio%2Fogg", MediaType: "audio/ogg"}, "voice")},
		{"document.json", docEvent(platform.Message{Kind: platform.Document, Text: "Testfile.pdf", MediaRef: docFile + "#name=Testfile.pdf&type=application%2Fpdf",
			MediaType: "application/pdf"}, "Testfile.pdf")},
		{"inline_query.json", platform.Event{Kind: platform.KindIgnored, Detail: "update inline_query"}},
		{"chosen_inline_result.json", platform.Event{Kind: platform.KindIgnored, Detail: "update chosen_inline_result"}},
		{"callback_query.json", platform.Event{Kind: platform.KindMessage, ID: "callback:4382bfdwdsb323b2d9", Contact: "1111111",
			ContactName: "Test Firstname Test Lastname", Message: &platform.Message{Kind: platform.Button, Text: "Data from button callback"},
			Detail: "callback data Data from button callback; inline message 1234csdbsk4839"}},

		// Updates written from the Bot API's object definitions.
		{"photo.json", miraEvent("4120", 1763719200, platform.Message{Kind: platform.Image, Text: "the box arrived like this",
			MediaRef: "AgACAgIAAxkBAAIQGGc-large"}, "")},
		{"video.json", miraEvent("4121", 1763719230, platform.Message{Kind: platform.Video, Text: "it rattles",
			MediaRef: "BAACAgIAAxkBAAIQGWc-video#name=IMG_2231.MP4&type=video%2Fmp4", MediaType: "video/mp4", ReplyTo: "5234109876:4118"}, "")},
		{"sticker.json", miraEvent("4122", 1763719260, platform.Message{Kind: platform.Sticker, Text: "😢",
			MediaRef: "CAACAgIAAxkBAAIQGmc-sticker"}, "animated; set SadCats")},
		{"venue.json", miraEvent("4123", 1763719290, platform.Message{Kind: platform.Location,
			Text: "Acme Store Mitte, Alexanderplatz 1, 10178 Berlin (52.520008, 13.404954)"}, "venue")},
		{"location.json", miraEvent("4124", 1763719300, platform.Message{Kind: platform.Location, Text: "(52.516275, 13.377704)"}, "")},
		{"contact.json", miraEvent("4125", 1763719310, platform.Message{Kind: platform.Contacts, Text: "Jonas Weber (+4915112345678)"}, "")},
		{"callback_keyboard.json", platform.Event{Kind: platform.KindMessage, ID: "callback:2248138733157625201", Contact: "5234109876",
			ContactName: "Mira Kovacs", Message: &platform.Message{Kind: platform.Button, Text: "Refund", ReplyTo: "5234109876:4126"},
			Detail: "callback data order:8812:refund"}},
		{"reaction.json", platform.Event{Kind: platform.KindMessage, ID: "reaction:5234109876:4127:5234109876:👍:1763719400",
			Contact: "5234109876", ContactName: "Mira Kovacs", Timestamp: unix(1763719400),
			Message: &platform.Message{Kind: platform.Reaction, Text: "👍", ReplyTo: "5234109876:4127"}}},
		{"unreact.json", platform.Event{Kind: platform.KindMessage, ID: "reaction:5234109876:4127:5234109876:unreact:1763719460",
			Contact: "5234109876", ContactName: "Mira Kovacs", Timestamp: unix(1763719460),
			Message: &platform.Message{Kind: platform.Reaction, ReplyTo: "5234109876:4127"}, Detail: "reaction removed"}},
		{"blocked.json", platform.Event{Kind: platform.KindContact, ID: "member:5234109876:kicked:1763720000", Contact: "5234109876",
			ContactName: "Mira Kovacs", Timestamp: unix(1763720000), Status: "blocked", Detail: "my_chat_member member -> kicked"}},
		{"unblocked.json", platform.Event{Kind: platform.KindContact, ID: "member:5234109876:member:1763723600", Contact: "5234109876",
			ContactName: "Mira Kovacs", Timestamp: unix(1763723600), Status: "unblocked", Detail: "my_chat_member kicked -> member"}},
		// A supergroup's id is beyond 2^53: a float64 would have rounded it
		// to -1009007199254740992.
		{"group.json", platform.Event{Kind: platform.KindMessage, ID: "-1009007199254740993:88", Contact: "-1009007199254740993",
			ContactName: "Acme B2B Orders", Sender: "Jonas Weber (6011223344)", Timestamp: unix(1763724000),
			Message: &platform.Message{Kind: platform.Text, Text: "Can we get the invoice for PO 5521?", ReplyTo: "-1009007199254740993:87"},
			Detail:  "from Jonas Weber (6011223344)"}},
		{"service.json", platform.Event{Kind: platform.KindIgnored, Detail: "service message new_chat_members"}},
		// A Telegram Business chat's customer deleted a message.
		{"business_deleted.json", platform.Event{Kind: platform.KindMessage, ID: "unsend:business:5234109876:501", Contact: "5234109876",
			ContactName: "Mira Kovacs", Message: &platform.Message{Kind: platform.Unsend, ReplyTo: "business:5234109876:501"}, Detail: "business chat"}},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d testdata files, %d expectations: every file needs one", len(files), len(tests))
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, readTestdata(t, tt.file))
			assertEvents(t, got, []platform.Event{tt.want})
		})
	}
}

func assertEvents(t *testing.T, got, want []platform.Event) {
	t.Helper()
	platformtest.AssertEvents(t, got, want)
}

func dump(evs []platform.Event) string { return platformtest.Dump(evs) }

// privateMsg wraps message fields into an update of chat 42.
func privateMsg(field, rest string) []byte {
	return []byte(`{"update_id":5,"` + field + `":{"message_id":7,"date":1700000000,` +
		`"chat":{"id":42,"type":"private","first_name":"Ann"},"from":{"id":42,"first_name":"Ann"}` + rest + `}}`)
}

func TestParseEdgeCases(t *testing.T) {
	a := newTestAdapter(t)
	ann := func(m platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: "42:7", Contact: "42", ContactName: "Ann",
			Timestamp: unix(1700000000), Message: &m, Detail: detail}
	}
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"no content", []byte(`{"update_id":1}`), []platform.Event{{Kind: platform.KindIgnored, Detail: "update without content"}}},
		{"null message", []byte(`{"update_id":1,"message":null}`),
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "update without content"}}},
		{"channel post", []byte(`{"update_id":1,"channel_post":{"message_id":1,"chat":{"id":-100,"type":"channel"},"date":1,"text":"x"}}`),
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "update channel_post"}}},
		// A Telegram Business chat the bot is connected to: the customer's
		// messages, edits and deletions are stored; the business's own
		// messages are its echoes.
		{"business message", []byte(`{"update_id":900001,"business_message":{"business_connection_id":"AbCdEf123","message_id":501,` +
			`"from":{"id":5234109876,"first_name":"Mira"},"chat":{"id":5234109876,"type":"private","first_name":"Mira"},"date":1763719200,"text":"Is my order shipped?"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "business:5234109876:501", Contact: "5234109876", ContactName: "Mira", Timestamp: unix(1763719200),
				Message: &platform.Message{Kind: platform.Text, Text: "Is my order shipped?"}, Detail: "business chat"}}},
		{"business message edited", []byte(`{"update_id":900002,"edited_business_message":{"business_connection_id":"AbCdEf123","message_id":501,` +
			`"from":{"id":5234109876,"first_name":"Mira"},"chat":{"id":5234109876,"type":"private","first_name":"Mira"},"date":1763719200,"edit_date":1763719260,"text":"Is my order 8812 shipped?"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:business:5234109876:501:1763719260:900002", Contact: "5234109876", ContactName: "Mira",
				Timestamp: unix(1763719260), Message: &platform.Message{Kind: platform.Edit, Text: "Is my order 8812 shipped?", ReplyTo: "business:5234109876:501"},
				Detail: "business chat; edit of text"}}},
		{"business messages deleted", []byte(`{"update_id":900003,"deleted_business_messages":{"business_connection_id":"AbCdEf123",` +
			`"chat":{"id":5234109876,"type":"private","first_name":"Mira"},"message_ids":[501,502]}}`),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "unsend:business:5234109876:501", Contact: "5234109876", ContactName: "Mira",
					Message: &platform.Message{Kind: platform.Unsend, ReplyTo: "business:5234109876:501"}, Detail: "business chat"},
				{Kind: platform.KindMessage, ID: "unsend:business:5234109876:502", Contact: "5234109876", ContactName: "Mira",
					Message: &platform.Message{Kind: platform.Unsend, ReplyTo: "business:5234109876:502"}, Detail: "business chat"}}},
		{"business's own message", []byte(`{"update_id":900004,"business_message":{"business_connection_id":"AbCdEf123","message_id":503,` +
			`"from":{"id":777,"first_name":"Acme"},"chat":{"id":5234109876,"type":"private","first_name":"Mira"},"date":1763719300,"text":"Yes, today"}}`),
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "business message sent by the business"}}},
		{"business message without a chat", []byte(`{"update_id":1,"business_message":{"message_id":1}}`),
			[]platform.Event{platform.Unusable([]byte(`{"update_id":1,"business_message":{"message_id":1}}`), "no_chat: update 1 business_message has no chat id")}},
		{"empty text", privateMsg("message", `,"text":""`), []platform.Event{ann(platform.Message{Kind: platform.Text}, "")}},
		{"forward origin", privateMsg("message", `,"forward_origin":{"type":"hidden_user","sender_user_name":"Bo","date":1},"text":"fw"`),
			[]platform.Event{ann(platform.Message{Kind: platform.Text, Text: "fw"}, "forwarded")}},
		{"null forward origin", privateMsg("message", `,"forward_origin":null,"text":"own"`),
			[]platform.Event{ann(platform.Message{Kind: platform.Text, Text: "own"}, "")}},
		{"animation before document", privateMsg("message", `,"animation":{"file_id":"CgA","mime_type":"video/mp4"},`+
			`"document":{"file_id":"CgA","mime_type":"video/mp4"},"caption":"lol"`),
			[]platform.Event{ann(platform.Message{Kind: platform.Video, Text: "lol", MediaRef: "CgA#type=video%2Fmp4", MediaType: "video/mp4"}, "animation")}},
		{"video note", privateMsg("message", `,"video_note":{"file_id":"DQA","length":240,"duration":3}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Video, MediaRef: "DQA"}, "video note")}},
		{"document without caption or name", privateMsg("message", `,"document":{"file_id":"BQA"}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Document, MediaRef: "BQA"}, "")}},
		{"document with caption", privateMsg("message", `,"document":{"file_id":"BQA","file_name":"cv.pdf"},"caption":"my cv"`),
			[]platform.Event{ann(platform.Message{Kind: platform.Document, Text: "my cv", MediaRef: "BQA#name=cv.pdf"}, "cv.pdf")}},
		{"photo of equal sizes picks the last", privateMsg("message", `,"photo":[{"file_id":"a","width":10,"height":10},{"file_id":"b","width":10,"height":10}]`),
			[]platform.Event{ann(platform.Message{Kind: platform.Image, MediaRef: "b"}, "")}},
		{"contact without name", privateMsg("message", `,"contact":{"phone_number":"+15550100"}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Contacts, Text: "+15550100"}, "")}},
		{"poll", privateMsg("message", `,"poll":{"id":"1","question":"Which color?","options":[]}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Other, Text: "Which color?"}, "poll")}},
		{"dice", privateMsg("message", `,"dice":{"emoji":"🎲","value":4}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Other, Text: "🎲"}, "dice 4")}},
		{"unknown content", privateMsg("message", `,"story":{"chat":{"id":1,"type":"private"},"id":3}`),
			[]platform.Event{ann(platform.Message{Kind: platform.Other}, "type story")}},
		{"nothing but the envelope", privateMsg("message", ``),
			[]platform.Event{ann(platform.Message{Kind: platform.Other}, "message without content")}},
		{"pinned message is a service message", privateMsg("message", `,"pinned_message":{"message_id":3,"chat":{"id":42,"type":"private"},"date":1}`),
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "service message pinned_message"}}},
		{"edit without edit_date", privateMsg("edited_message", `,"caption":"new caption","photo":[{"file_id":"p","width":1,"height":1}]`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:42:7:1700000000:5", Contact: "42", ContactName: "Ann",
				Timestamp: unix(1700000000), Message: &platform.Message{Kind: platform.Edit, Text: "new caption", MediaRef: "p", ReplyTo: "42:7"},
				Detail: "edit of photo"}}},
		{"live location edit", privateMsg("edited_message", `,"edit_date":1700000030,"location":{"latitude":1.5,"longitude":-2.25,"live_period":900}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:42:7:1700000030:5", Contact: "42", ContactName: "Ann",
				Timestamp: unix(1700000030), Message: &platform.Message{Kind: platform.Edit, Text: "(1.5, -2.25)", ReplyTo: "42:7"},
				Detail: "edit of location"}}},
		// Two edits in one second: the update's id tells them apart.
		{"a second edit in the same second", []byte(`{"update_id":6,"edited_message":{"message_id":7,"date":1700000000,"edit_date":1700000030,` +
			`"chat":{"id":42,"type":"private","first_name":"Ann"},"from":{"id":42,"first_name":"Ann"},"text":"third try"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:42:7:1700000030:6", Contact: "42", ContactName: "Ann",
				Timestamp: unix(1700000030), Message: &platform.Message{Kind: platform.Edit, Text: "third try", ReplyTo: "42:7"},
				Detail: "edit of text"}}},
		{"user with a username only", []byte(`{"update_id":1,"message":{"message_id":2,"date":1,"chat":{"id":3,"type":"private","username":"zed"},"from":{"id":3,"username":"zed"},"text":"hi"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "3:2", Contact: "3", ContactName: "@zed", Timestamp: unix(1),
				Message: &platform.Message{Kind: platform.Text, Text: "hi"}}}},
		{"ids beyond 2^53", []byte(`{"update_id":9007199254740993,"message":{"message_id":9007199254740995,"date":1,` +
			`"chat":{"id":9007199254740997,"type":"private"},"text":"x","reply_to_message":{"message_id":9007199254740993}}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "9007199254740997:9007199254740995", Contact: "9007199254740997",
				Timestamp: unix(1), Message: &platform.Message{Kind: platform.Text, Text: "x", ReplyTo: "9007199254740997:9007199254740993"}}}},
		{"callback on an inaccessible message", []byte(`{"update_id":1,"callback_query":{"id":"q1","from":{"id":42,"first_name":"Ann"},` +
			`"message":{"message_id":9,"date":0,"chat":{"id":42,"type":"private"}},"chat_instance":"1","data":"yes"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "callback:q1", Contact: "42", ContactName: "Ann",
				Message: &platform.Message{Kind: platform.Button, Text: "yes", ReplyTo: "42:9"}, Detail: "callback data yes"}}},
		{"callback of a game", []byte(`{"update_id":1,"callback_query":{"id":"q2","from":{"id":42,"first_name":"Ann"},"chat_instance":"1","game_short_name":"snake"}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "callback:q2", Contact: "42", ContactName: "Ann",
				Message: &platform.Message{Kind: platform.Button, Text: "snake"}, Detail: "game snake"}}},
		{"custom emoji and paid reactions", []byte(`{"update_id":1,"message_reaction":{"chat":{"id":42,"type":"private","first_name":"Ann"},` +
			`"message_id":7,"user":{"id":42,"first_name":"Ann"},"date":1700000100,"old_reaction":[],` +
			`"new_reaction":[{"type":"emoji","emoji":"❤"},{"type":"custom_emoji","custom_emoji_id":"5368324170671202286"},{"type":"paid"}]}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "reaction:42:7:42:❤,custom_emoji=5368324170671202286,paid:1700000100",
				Contact: "42", ContactName: "Ann", Timestamp: unix(1700000100),
				Message: &platform.Message{Kind: platform.Reaction, Text: "❤(custom emoji)⭐", ReplyTo: "42:7"},
				Detail:  "custom emoji 5368324170671202286; paid reaction"}}},
		{"anonymous group admin reaction", []byte(`{"update_id":1,"message_reaction":{"chat":{"id":-100123,"type":"supergroup","title":"Shop"},` +
			`"message_id":7,"actor_chat":{"id":-100123,"type":"supergroup","title":"Shop"},"date":5,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"🔥"}]}}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "reaction:-100123:7:-100123:🔥:5", Contact: "-100123", ContactName: "Shop",
				Timestamp: unix(5), Message: &platform.Message{Kind: platform.Reaction, Text: "🔥", ReplyTo: "-100123:7"}}}},
		{"bot added to a group", []byte(`{"update_id":1,"my_chat_member":{"chat":{"id":-5,"type":"group","title":"Team"},` +
			`"from":{"id":42,"first_name":"Ann"},"date":9,"old_chat_member":{"status":"left","user":{"id":1,"is_bot":true,"first_name":"B"}},` +
			`"new_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"B"}}}}`),
			[]platform.Event{{Kind: platform.KindContact, ID: "member:-5:member:9", Contact: "-5", ContactName: "Team",
				Timestamp: unix(9), Status: "follow", Detail: "my_chat_member left -> member"}}},
		{"bot removed from a group", []byte(`{"update_id":1,"my_chat_member":{"chat":{"id":-5,"type":"group","title":"Team"},` +
			`"from":{"id":42,"first_name":"Ann"},"date":10,"old_chat_member":{"status":"member"},"new_chat_member":{"status":"left"}}}`),
			[]platform.Event{{Kind: platform.KindContact, ID: "member:-5:left:10", Contact: "-5", ContactName: "Team",
				Timestamp: unix(10), Status: "unfollow", Detail: "my_chat_member member -> left"}}},
		{"bot promoted", []byte(`{"update_id":1,"my_chat_member":{"chat":{"id":-5,"type":"group","title":"Team"},"date":11,` +
			`"old_chat_member":{"status":"member"},"new_chat_member":{"status":"administrator"}}}`),
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "my_chat_member member -> administrator"}}},
		{"first start without old member", []byte(`{"update_id":1,"my_chat_member":{"chat":{"id":42,"type":"private","first_name":"Ann"},"date":12,` +
			`"new_chat_member":{"status":"member"}}}`),
			[]platform.Event{{Kind: platform.KindContact, ID: "member:42:member:12", Contact: "42", ContactName: "Ann",
				Timestamp: unix(12), Status: "follow", Detail: "my_chat_member (none) -> member"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, tt.body)
			if got == nil {
				t.Fatal("Parse refused the body")
			}
			assertEvents(t, got, tt.want)
		})
	}
}

// An authentic update that names no chat, or chat id 0, is unusable, not
// malformed: Telegram retries a 4xx, so it is kept in quarantine instead.
func TestParseNoChatIsUnusable(t *testing.T) {
	tests := []struct {
		name, body, reason string
	}{
		{"message without chat", `{"update_id":1,"message":{"message_id":1,"date":1,"text":"x"}}`,
			"no_chat: update 1 message has no chat id"},
		{"edit without chat", `{"update_id":2,"edited_message":{"message_id":1,"text":"x"}}`,
			"no_chat: update 2 edited_message has no chat id"},
		{"reaction without chat", `{"update_id":1,"message_reaction":{"message_id":1,"date":1,"new_reaction":[]}}`,
			"no_chat: update 1 message_reaction has no chat id"},
		{"member without chat", `{"update_id":1,"my_chat_member":{"date":1,"new_chat_member":{"status":"kicked"}}}`,
			"no_chat: update 1 my_chat_member has no chat id"},
		{"member in chat 0", `{"update_id":7,"my_chat_member":{"chat":{"id":0,"type":"private"},"from":{"id":5},"date":1,` +
			`"old_chat_member":{"status":"member"},"new_chat_member":{"status":"kicked"}}}`,
			"no_chat: update 7 my_chat_member has no chat id"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, []byte(tt.body))
			want := []platform.Event{platform.Unusable([]byte(tt.body), tt.reason)}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse = %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"empty", ``, "not an Update"},
		{"not JSON", `update_id=1`, "not an Update"},
		{"array of updates", `[{"update_id":1}]`, "not an Update"},
		{"null", `null`, "not an Update object"},
		{"no update_id", `{"message":{"message_id":1,"chat":{"id":1}}}`, "no update_id"},
		{"update_id a string", `{"update_id":"1"}`, "update_id is not an integer"},
		{"update_id a float", `{"update_id":1.5}`, "update_id is not an integer"},
		{"message not an object", `{"update_id":1,"message":"hi"}`, "update 1 message"},
		{"message without id", `{"update_id":1,"message":{"chat":{"id":1},"date":1,"text":"x"}}`, "update 1 message has no message_id"},
		{"chat id a string", `{"update_id":1,"message":{"message_id":1,"chat":{"id":"1"},"text":"x"}}`, "update 1 message"},
		{"chat id a float", `{"update_id":1,"message":{"message_id":1,"chat":{"id":1e3},"text":"x"}}`, "update 1 message"},
		{"text a number", `{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"text":5}}`, "update 1 message"},
		{"callback without id", `{"update_id":1,"callback_query":{"from":{"id":1},"data":"x"}}`, "callback_query has no id"},
		{"callback without from", `{"update_id":1,"callback_query":{"id":"q","data":"x"}}`, "callback_query (q) has no from"},
		{"reaction without message", `{"update_id":1,"message_reaction":{"chat":{"id":1},"date":1,"new_reaction":[]}}`, "message_reaction has no message_id"},
		{"member without status", `{"update_id":1,"my_chat_member":{"chat":{"id":1},"date":1,"new_chat_member":{}}}`, "no new_chat_member.status"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		platformtest.CheckMalformed(t, a, tt.name, tt.body, tt.want)
	}
}

// TestEventIDs checks the deduplication keys: the same update parses to the
// same id (a retry), and different updates about one message do not share
// one.
func TestEventIDs(t *testing.T) {
	a := newTestAdapter(t)
	mira := User{ID: 5234109876, FirstName: "Mira"}
	ts := time.Unix(1763719200, 0)
	bodies := [][]byte{
		TextUpdate(1, mira, 10, "hi", ts),
		EditedUpdate(Inbound{UpdateID: 2, From: mira, MessageID: 10, Time: ts, Text: "hi!"}, ts.Add(time.Minute)),
		EditedUpdate(Inbound{UpdateID: 3, From: mira, MessageID: 10, Time: ts, Text: "hi!!"}, ts.Add(2*time.Minute)),
		ReactionUpdate(4, mira, 10, "👍", ts.Add(3*time.Minute)),
		ReactionUpdate(5, mira, 10, "", ts.Add(4*time.Minute)),
		ReactionUpdate(6, mira, 10, "👍", ts.Add(5*time.Minute)),
		TextUpdate(7, User{ID: 777, FirstName: "Bob"}, 10, "same message id, other chat", ts),
		CallbackUpdate(8, mira, "cb-1", 10, "Yes", "yes", ts),
		MemberUpdate(9, mira, "member", "kicked", ts.Add(6*time.Minute)),
		MemberUpdate(10, mira, "kicked", "member", ts.Add(7*time.Minute)),
	}
	seen := map[string]int{}
	for i, body := range bodies {
		evs := platformtest.CheckParse(t, a, body)
		if len(evs) != 1 || evs[0].ID == "" {
			t.Fatalf("update %d: events %v", i, evs)
		}
		again := platformtest.CheckParse(t, a, body)
		if again[0].ID != evs[0].ID {
			t.Errorf("update %d: a retry has id %q, first delivery %q", i, again[0].ID, evs[0].ID)
		}
		if j, dup := seen[evs[0].ID]; dup {
			t.Errorf("updates %d and %d share the id %q", j, i, evs[0].ID)
		}
		seen[evs[0].ID] = i
	}
}

func TestClip(t *testing.T) {
	if got := platform.Clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
	if got := platform.Clip("hello", 5); got != "hello" {
		t.Errorf("clip shortened a string that fits: %q", got)
	}
	a := newTestAdapter(t)
	long := strings.Repeat("x", 1000)
	evs := platformtest.CheckParse(t, a, []byte(`{"update_id":1,"`+long+`":{}}`))
	if len(evs) != 1 || len(evs[0].Detail) > platform.MaxDetail+len("…") {
		t.Errorf("Detail not bounded: %v", evs)
	}
}
