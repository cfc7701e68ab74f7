package viber

import (
	"os"
	"path/filepath"
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

func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

const (
	// docToken is the message_token of Viber's documentation examples:
	// beyond 2^53, a float64 would have made it 4912661846655238144.
	docToken = "4912661846655238145"
	docUser  = "01234567890A="
	docTime  = 1457764197627
	mira     = "jc9HsWTZ2Yf2NkRZ8KcNug=="
)

// miraEvent builds the expected message event of Mira's messages.
func miraEvent(token string, at int64, m platform.Message, detail string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: token, Contact: mira, ContactName: "Mira Kovacs",
		Timestamp: ms(at), Message: &m, Detail: detail}
}

func TestParseTestdata(t *testing.T) {
	receipt := func(status, detail string) platform.Event {
		return platform.Event{Kind: platform.KindReceipt, ID: docToken + ":status:" + status, Contact: docUser,
			Timestamp: ms(docTime), Status: status, Detail: detail}
	}
	tests := []struct {
		file string
		want platform.Event
	}{
		// The examples of Viber's REST bot API documentation.
		{"message.json", platform.Event{Kind: platform.KindMessage, ID: docToken, Contact: docUser, ContactName: "John McClane",
			Timestamp: ms(docTime), Message: &platform.Message{Kind: platform.Text, Text: "a message to the service"}}},
		{"subscribed.json", platform.Event{Kind: platform.KindContact, ID: "subscribed:" + docToken, Contact: docUser,
			ContactName: "John McClane", Timestamp: ms(docTime), Status: "follow", Detail: "subscribed"}},
		{"unsubscribed.json", platform.Event{Kind: platform.KindContact, ID: "unsubscribed:" + docToken, Contact: docUser,
			Timestamp: ms(docTime), Status: "blocked", Detail: "unsubscribed"}},
		{"conversation_started.json", platform.Event{Kind: platform.KindContact, ID: "conversation_started:" + docToken, Contact: docUser,
			ContactName: "John McClane", Timestamp: ms(docTime), Status: "follow",
			Detail: "conversation_started; type open; context context information; subscribed false"}},
		{"delivered.json", receipt("delivered", "")},
		{"seen.json", receipt("read", "")},
		{"failed.json", receipt("failed", "failure description")},
		{"webhook.json", platform.Event{Kind: platform.KindIgnored, Timestamp: ms(docTime), Detail: "webhook: set_webhook check"}},

		// Callbacks written from the documentation's field definitions.
		{"picture.json", miraEvent("5741311803571721087", 1763719200123, platform.Message{Kind: platform.Image,
			Text:     "the box arrived like this",
			MediaRef: "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/5688fdffdaa9d7e1d7a4a0e0b0cd7a8e.jpg"}, "")},
		{"video.json", miraEvent("5741311803571721088", 1763719230456, platform.Message{Kind: platform.Video,
			MediaRef: "https://dl-media.viber.com/5/media/2/short/any/sig/video/0x0/9a3c/clip.mp4"}, "")},
		{"file.json", miraEvent("5741311803571721089", 1763719260789, platform.Message{Kind: platform.Document, Text: "invoice-4411.pdf",
			MediaRef: "https://dl-media.viber.com/5/media/2/short/any/sig/file/0x0/77b1/invoice-4411.pdf#name=invoice-4411.pdf"}, "invoice-4411.pdf")},
		{"sticker.json", miraEvent("5741311803571721090", 1763719290000, platform.Message{Kind: platform.Sticker,
			MediaRef: "https://viber.com/app/stickers/46105.png"}, "sticker_id 46105")},
		{"contact.json", miraEvent("5741311803571721091", 1763719300000, platform.Message{Kind: platform.Contacts,
			Text: "Jonas Weber (+4915112345678)"}, "")},
		{"url.json", miraEvent("5741311803571721092", 1763719310000, platform.Message{Kind: platform.Text,
			Text: "https://acme.example/orders/8812"}, "url")},
		{"location.json", miraEvent("5741311803571721093", 1763719320000, platform.Message{Kind: platform.Location,
			Text: "(52.520008, 13.404954)"}, "")},
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

// userMsg is a message callback from user u1 with the given message object.
func userMsg(message string) []byte {
	return []byte(`{"event":"message","timestamp":1700000000000,"message_token":1,"sender":{"id":"u1","name":"Ann"},"message":` + message + `}`)
}

func TestParseEdgeCases(t *testing.T) {
	a := newTestAdapter(t)
	ann := func(m platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: "1", Contact: "u1", ContactName: "Ann",
			Timestamp: ms(1700000000000), Message: &m, Detail: detail}
	}
	tests := []struct {
		name string
		body []byte
		want platform.Event
	}{
		{"token as a string", []byte(`{"event":"message","message_token":"18446744073709551615","sender":{"id":"u"},"message":{"type":"text","text":"x"}}`),
			platform.Event{Kind: platform.KindMessage, ID: "18446744073709551615", Contact: "u", Message: &platform.Message{Kind: platform.Text, Text: "x"}}},
		{"largest uint64 token as a number", []byte(`{"event":"message","message_token":18446744073709551615,"sender":{"id":"u"},"message":{"type":"text","text":"x"}}`),
			platform.Event{Kind: platform.KindMessage, ID: "18446744073709551615", Contact: "u", Message: &platform.Message{Kind: platform.Text, Text: "x"}}},
		{"picture without caption", userMsg(`{"type":"picture","media":"https://m/p.jpg"}`),
			ann(platform.Message{Kind: platform.Image, MediaRef: "https://m/p.jpg"}, "")},
		{"file with a text", userMsg(`{"type":"file","text":"my invoice","media":"https://m/f","file_name":"f.pdf"}`),
			ann(platform.Message{Kind: platform.Document, Text: "my invoice", MediaRef: "https://m/f#name=f.pdf"}, "f.pdf")},
		{"contact without name", userMsg(`{"type":"contact","contact":{"phone_number":"+15550100"}}`),
			ann(platform.Message{Kind: platform.Contacts, Text: "+15550100"}, "")},
		{"location with a text", userMsg(`{"type":"location","text":"Home","location":{"lat":-33.8688,"lon":151.2093}}`),
			ann(platform.Message{Kind: platform.Location, Text: "Home (-33.8688, 151.2093)"}, "")},
		{"rich media", userMsg(`{"type":"rich_media","text":"x"}`), ann(platform.Message{Kind: platform.Other, Text: "x"}, "type rich_media")},
		{"message without type", userMsg(`{"text":"x"}`), ann(platform.Message{Kind: platform.Other, Text: "x"}, "message without type")},
		{"message without message", []byte(`{"event":"message","timestamp":1700000000000,"message_token":1,"sender":{"id":"u1","name":"Ann"}}`),
			ann(platform.Message{Kind: platform.Other}, "message without content")},
		{"no timestamp", []byte(`{"event":"delivered","message_token":7,"user_id":"u"}`),
			platform.Event{Kind: platform.KindReceipt, ID: "7:status:delivered", Contact: "u", Status: "delivered"}},
		{"subscribed without token", []byte(`{"event":"subscribed","timestamp":1700000000000,"user":{"id":"u","name":"Ann"}}`),
			platform.Event{Kind: platform.KindContact, ID: "subscribed:u:1700000000000", Contact: "u", ContactName: "Ann",
				Timestamp: ms(1700000000000), Status: "follow", Detail: "subscribed"}},
		{"unknown event", []byte(`{"event":"client_status","timestamp":1700000000000}`),
			platform.Event{Kind: platform.KindIgnored, Timestamp: ms(1700000000000), Detail: "event client_status"}},
		{"null token", []byte(`{"event":"webhook","message_token":null}`),
			platform.Event{Kind: platform.KindIgnored, Detail: "webhook: set_webhook check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, tt.body)
			if got == nil {
				t.Fatal("Parse refused the body")
			}
			assertEvents(t, got, []platform.Event{tt.want})
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"empty", ``, "not a callback"},
		{"not JSON", `event=message`, "not a callback"},
		{"array", `[]`, "not a callback"},
		{"null", `null`, "has no event"},
		{"no event", `{"timestamp":1}`, "has no event"},
		{"event a number", `{"event":1}`, "not a callback"},
		{"timestamp a string", `{"event":"seen","timestamp":"yesterday","message_token":1}`, "not a callback"},
		{"timestamp a float", `{"event":"seen","timestamp":1.5,"message_token":1}`, "not epoch milliseconds"},
		{"token a float", `{"event":"seen","message_token":4.912661846655238e18}`, "message_token"},
		{"token not digits", `{"event":"seen","message_token":"abc"}`, "message_token"},
		{"token an object", `{"event":"seen","message_token":{}}`, "message_token"},
		{"message without token", `{"event":"message","sender":{"id":"u"},"message":{"type":"text"}}`, "message callback has no message_token"},
		{"message without sender", `{"event":"message","message_token":5,"message":{"type":"text"}}`, "message callback (5) has no sender.id"},
		{"message text a number", `{"event":"message","message_token":5,"sender":{"id":"u"},"message":{"type":"text","text":5}}`, "not a callback"},
		{"receipt without token", `{"event":"failed","user_id":"u","desc":"x"}`, "failed callback has no message_token"},
		{"subscribed without user", `{"event":"subscribed","message_token":5}`, "subscribed callback has no user.id"},
		{"conversation without user", `{"event":"conversation_started","message_token":5}`, "conversation_started callback has no user.id"},
		{"unsubscribed without user", `{"event":"unsubscribed","message_token":5}`, "unsubscribed callback has no user_id"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		platformtest.CheckMalformed(t, a, tt.name, tt.body, tt.want)
	}
}

// TestEventIDs checks the deduplication keys: a callback parses to the same
// id every time (a retry), and different events sharing a token do not
// share an id.
func TestEventIDs(t *testing.T) {
	a := newTestAdapter(t)
	ts := time.UnixMilli(1763719200000)
	bodies := [][]byte{
		TextCallback(docToken, mira, "Mira", "hi", ts),
		TextCallback("4912661846655238146", mira, "Mira", "hi again", ts), // a float64 would merge it with docToken
		ReceiptCallback("delivered", docToken, mira, ts, ""),
		ReceiptCallback("seen", docToken, mira, ts, ""),
		ReceiptCallback("failed", docToken, mira, ts, "x"),
		SubscribedCallback(docToken, mira, "Mira", ts),
		UnsubscribedCallback(docToken, mira, ts),
		ConversationStartedCallback(docToken, mira, "Mira", "", false, ts),
	}
	seen := map[string]int{}
	for i, body := range bodies {
		evs := platformtest.CheckParse(t, a, body)
		if len(evs) != 1 || evs[0].ID == "" {
			t.Fatalf("callback %d: events %v", i, evs)
		}
		again := platformtest.CheckParse(t, a, body)
		if again[0].ID != evs[0].ID {
			t.Errorf("callback %d: a retry has id %q, first delivery %q", i, again[0].ID, evs[0].ID)
		}
		if j, dup := seen[evs[0].ID]; dup {
			t.Errorf("callbacks %d and %d share the id %q", j, i, evs[0].ID)
		}
		seen[evs[0].ID] = i
	}
}

func TestClip(t *testing.T) {
	if got := platform.Clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
	a := newTestAdapter(t)
	long := strings.Repeat("x", 1000)
	evs := platformtest.CheckParse(t, a, []byte(`{"event":"`+long+`"}`))
	if len(evs) != 1 || len(evs[0].Detail) > platform.MaxDetail+len("…") {
		t.Errorf("Detail not bounded: %v", evs)
	}
}
