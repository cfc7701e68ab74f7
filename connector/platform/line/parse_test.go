package line

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

// The testdata files are the examples of LINE's Messaging API reference
// (webhook event objects); media.json gathers the video, audio, file,
// location and sticker examples into one delivery, with the message ids
// made distinct.
func TestParseTestdata(t *testing.T) {
	const user = "U4af4980629..."
	msgEvent := func(id, contact string, ts int64, m platform.Message, detail string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: id, Contact: contact, Timestamp: ms(ts), Message: &m, Detail: detail}
	}
	// from is a group's message: its writer is the sender.
	from := func(sender string, ev platform.Event) platform.Event {
		ev.Sender = sender
		return ev
	}
	tests := []struct {
		file string
		want []platform.Event
	}{
		{"text.json", []platform.Event{
			from(user, msgEvent("444573844083572737", "Ca56f94637c...", 1462629479859,
				platform.Message{Kind: platform.Text, Text: "@All @example Good Morning!! (love)"},
				"group chat; sender U4af4980629...")),
		}},
		{"quote.json", []platform.Event{
			from(user, msgEvent("468789577898262530", "Ca56f94637c...", 1692251666727,
				platform.Message{Kind: platform.Text, Text: "Chicken, please.", ReplyTo: "468789532432007169"},
				"group chat; sender U4af4980629...")),
		}},
		{"image.json", []platform.Event{
			msgEvent("354718705033693859", user, 1627356924513,
				platform.Message{Kind: platform.Image, MediaRef: "354718705033693859"},
				"image 1 of 2 in set E005D41A7288F41B65593ED38FF6E9834B046AB36A37921A56BC236F13A91855"),
		}},
		{"media.json", []platform.Event{
			msgEvent("325708", user, 1462629479859,
				platform.Message{Kind: platform.Video, MediaRef: "https://example.com/original.mp4"},
				"external content; duration 60000 ms"),
			msgEvent("325709", user, 1462629479859,
				platform.Message{Kind: platform.Audio, MediaRef: "325709"}, "duration 60000 ms"),
			msgEvent("325710", user, 1462629479859,
				platform.Message{Kind: platform.Document, Text: "file.txt", MediaRef: "325710#name=file.txt"}, "file.txt; 2138 bytes"),
			msgEvent("325711", user, 1462629479859,
				platform.Message{Kind: platform.Location, Text: "my location, 1-3 Kioicho, Chiyoda-ku, Tokyo, 102-8282 Japan (35.67966, 139.73669)"}, ""),
			msgEvent("1501597916", user, 1462629479859,
				platform.Message{Kind: platform.Sticker, MediaRef: "11537/52002738"}, "sticker package 11537 id 52002738 ANIMATION"),
			from("Ub82c8fd9b...", msgEvent("123456789012345678", "C99ae82bcd...", 1635756190879,
				platform.Message{Kind: platform.Sticker, Text: "Let's\nhang out\nthis weekend!", MediaRef: "12287/738839"},
				"group chat; sender Ub82c8fd9b...; sticker package 12287 id 738839 MESSAGE")),
		}},
		{"unsend.json", []platform.Event{
			from(user, msgEvent("unsend:325708", "Ca56f94637c...", 1462629479859,
				platform.Message{Kind: platform.Unsend, ReplyTo: "325708"}, "group chat; sender U4af4980629...")),
		}},
		{"follow.json", []platform.Event{
			{Kind: platform.KindContact, ID: "01HMQGW40RZJPJM3RAJP7BHC2Q", Contact: "U3d3edab4f36c6292e6d8a8131f141b8b",
				Timestamp: ms(1705891467176), Status: "follow"},
			{Kind: platform.KindContact, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Contact: user,
				Timestamp: ms(1462629479859), Status: "unblocked", Detail: "follow after unblocking"},
		}},
		{"unfollow.json", []platform.Event{
			{Kind: platform.KindContact, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Contact: user,
				Timestamp: ms(1462629479859), Status: "blocked", Detail: "unfollow"},
		}},
		{"postback_datetime.json", []platform.Event{
			msgEvent("01FZ74A0TDDPYRVKNK77XKC3ZR", "U91eeaf62d...", 1513669370317,
				platform.Message{Kind: platform.Postback, Text: "2017-12-25T01:00"}, "data storeId=12345; datetime=2017-12-25T01:00"),
		}},
		{"postback_richmenu.json", []platform.Event{
			msgEvent("01FZ74A0TDDPYRVKNK77XKC3ZR", "U91eeaf62d...", 1619754620404,
				platform.Message{Kind: platform.Postback, Text: "richmenu-alias-b"},
				"data richmenu-changed-to-b; newRichMenuAliasId=richmenu-alias-b; status=SUCCESS"),
		}},
		{"group_events.json", []platform.Event{
			{Kind: platform.KindIgnored, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Detail: "event join"},
			{Kind: platform.KindIgnored, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Detail: "event memberJoined"},
			{Kind: platform.KindIgnored, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Detail: "event memberLeft"},
			{Kind: platform.KindIgnored, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Detail: "event leave"},
		}},
		{"verify.json", []platform.Event{}},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, readTestdata(t, tt.file))
			if got == nil {
				t.Fatal("Parse refused the body")
			}
			assertEvents(t, got, tt.want)
		})
	}
}

func TestParseEdgeCases(t *testing.T) {
	a := newTestAdapter(t)
	tests := []struct {
		name string
		body string
		want []platform.Event
	}{
		{"message id above 2^53 sent as a number", `{"events":[{"type":"message","timestamp":1692251666727,` +
			`"source":{"type":"user","userId":"U1"},"message":{"id":468789577898262530,"type":"text","text":"hi",` +
			`"quotedMessageId":468789532432007169}}]}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "468789577898262530", Contact: "U1", Timestamp: ms(1692251666727),
				Message: &platform.Message{Kind: platform.Text, Text: "hi", ReplyTo: "468789532432007169"}}}},
		{"timestamp as a string", `{"events":[{"type":"unfollow","timestamp":"1462629479859","webhookEventId":"W1",` +
			`"source":{"type":"user","userId":"U1"}}]}`,
			[]platform.Event{{Kind: platform.KindContact, ID: "W1", Contact: "U1", Timestamp: ms(1462629479859),
				Status: "blocked", Detail: "unfollow"}}},
		{"event without webhookEventId", `{"events":[{"type":"follow","timestamp":1462629479859,` +
			`"source":{"type":"user","userId":"U1"},"follow":{"isUnblocked":false}}]}`,
			[]platform.Event{{Kind: platform.KindContact, ID: "follow:U1:1462629479859", Contact: "U1",
				Timestamp: ms(1462629479859), Status: "follow"}}},
		{"room message without sender", `{"events":[{"type":"message","source":{"type":"room","roomId":"R1"},` +
			`"message":{"id":"5","type":"text","text":"hello"}}]}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "5", Contact: "R1",
				Message: &platform.Message{Kind: platform.Text, Text: "hello"}, Detail: "multi-person chat"}}},
		// A customer's message all the same: kept in quarantine.
		{"message without source", `{"events":[{"type":"message","webhookEventId":"W2","message":{"id":"6","type":"text"}}]}`,
			[]platform.Event{platform.Unusable([]byte(`{"events":[{"type":"message","webhookEventId":"W2","message":{"id":"6","type":"text"}}]}`),
				"id_missing: the contact id is empty (the event names no user, group or room)")}},
		{"message of a user without an id", `{"destination":"Ubot","events":[{"type":"follow","source":{"type":"user"}},` +
			`{"type":"message","source":{"type":"user"},"message":{"id":"8","type":"text","text":"hello"}}]}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "follow event without a user, group or room id"},
				platform.Unusable([]byte(`{"destination":"Ubot","events":[{"type":"message","source":{"type":"user"},"message":{"id":"8","type":"text","text":"hello"}}]}`),
					"id_missing: the contact id is empty (the event names no user, group or room)")}},
		{"unknown message type", `{"events":[{"type":"message","source":{"type":"user","userId":"U1"},` +
			`"message":{"id":"7","type":"hologram"}}]}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "7", Contact: "U1",
				Message: &platform.Message{Kind: platform.Other}, Detail: "type hologram"}}},
		{"postback without parameters", `{"events":[{"type":"postback","webhookEventId":"W3",` +
			`"source":{"type":"user","userId":"U1"},"postback":{"data":"action=buy&itemid=111"}}]}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "W3", Contact: "U1",
				Message: &platform.Message{Kind: platform.Postback, Text: "action=buy&itemid=111"}, Detail: "data action=buy&itemid=111"}}},
		{"unknown event with a bad timestamp", `{"events":[{"type":"beacon","timestamp":"soon","webhookEventId":"W4"}]}`,
			[]platform.Event{{Kind: platform.KindIgnored, ID: "W4", Detail: "event beacon"}}},
		{"event without type", `{"events":[{"timestamp":1}]}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "event without type"}}},
		{"standby mode is still recorded", `{"events":[{"type":"message","mode":"standby","source":{"type":"user","userId":"U1"},` +
			`"message":{"id":"8","type":"text","text":"x"}}]}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "8", Contact: "U1", Message: &platform.Message{Kind: platform.Text, Text: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, []byte(tt.body))
			if got == nil {
				t.Fatal("Parse refused the body")
			}
			assertEvents(t, got, tt.want)
		})
	}
}

// TestParseIDsStableAcrossRedelivery: a redelivered event (isRedelivery
// true) keeps its deduplication key, and two different events differ.
func TestParseIDsStableAcrossRedelivery(t *testing.T) {
	a := newTestAdapter(t)
	ts := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	first := Delivery("Ubot", Event{UserID: "U1", MessageID: "100", Text: "hi", Time: ts},
		Event{Type: "follow", UserID: "U1", Time: ts})
	again := Delivery("Ubot", Event{UserID: "U1", MessageID: "100", Text: "hi", Time: ts, Redelivery: true},
		Event{Type: "follow", UserID: "U1", Time: ts, Redelivery: true})
	e1, e2 := platformtest.CheckParse(t, a, first), platformtest.CheckParse(t, a, again)
	if len(e1) != 2 || len(e2) != 2 {
		t.Fatalf("got %d and %d events, want 2 and 2", len(e1), len(e2))
	}
	for i := range e1 {
		if e1[i].ID == "" || e1[i].ID != e2[i].ID {
			t.Errorf("event %d: ID %q then %q on redelivery", i, e1[i].ID, e2[i].ID)
		}
	}
	if e1[0].ID == e1[1].ID {
		t.Errorf("a message and a follow share the ID %q", e1[0].ID)
	}
	unsend := platformtest.CheckParse(t, a, UnsendDelivery("Ubot", "U1", "100", ts))
	if len(unsend) != 1 || unsend[0].ID == e1[0].ID {
		t.Errorf("an unsend shares its ID with the message it unsends: %+v", unsend)
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"not JSON", `destination=x`, "not a webhook delivery"},
		{"empty", ``, "not a webhook delivery"},
		{"array", `[]`, "not a webhook delivery"},
		{"null", `null`, "no events list"},
		{"no events", `{"destination":"U1"}`, "no events list"},
		{"events null", `{"events":null}`, "no events list"},
		{"events not a list", `{"events":{}}`, "not a webhook delivery"},
		{"message without message", `{"events":[{"type":"message","source":{"type":"user","userId":"U1"}}]}`,
			"events[0] is a message event without a message"},
		{"message without id", `{"events":[{"type":"message","source":{"type":"user","userId":"U1"},"message":{"type":"text"}}]}`,
			"events[0].message has no id"},
		{"unsend without id", `{"events":[{"type":"unsend","source":{"type":"user","userId":"U1"},"unsend":{}}]}`,
			"unsend.messageId"},
		{"postback without postback", `{"events":[{"type":"postback","source":{"type":"user","userId":"U1"}}]}`,
			"without postback"},
		{"bad timestamp", `{"events":[{"type":"follow","timestamp":"yesterday","source":{"type":"user","userId":"U1"}}]}`,
			"not unix milliseconds"},
		{"timestamp an object", `{"events":[{"type":"follow","timestamp":{}}]}`, "not a webhook delivery"},
		{"message id an object", `{"events":[{"type":"message","message":{"id":{}}}]}`, "not a webhook delivery"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		platformtest.CheckMalformed(t, a, tt.name, tt.body, tt.want)
	}
}

func TestClip(t *testing.T) {
	if got := platform.Clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
	long := strings.Repeat("x", 1000)
	ev := platform.Ignored("event " + long)
	if len(ev.Detail) > platform.MaxDetail+len("…") {
		t.Errorf("Detail not bounded: %d bytes", len(ev.Detail))
	}
}

func assertEvents(t *testing.T, got, want []platform.Event) {
	t.Helper()
	platformtest.AssertEvents(t, got, want)
}

func dump(evs []platform.Event) string { return platformtest.Dump(evs) }
