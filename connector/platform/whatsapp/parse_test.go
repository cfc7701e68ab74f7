package whatsapp

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

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

const (
	sheena = "16505551234"
	pablo  = "16315551181"
)

// msgEvent builds the expected KindMessage event of Sheena's messages.
func msgEvent(id string, ts int64, m platform.Message, detail string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: id, Contact: sheena, ContactName: "Sheena Nelson",
		Timestamp: unix(ts), Message: &m, Detail: detail}
}

func TestParseTestdata(t *testing.T) {
	const (
		outbound = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MDQ2QTRDNzQ2MzhCQjQ0RUIA"
		failed   = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDMkY2RjJBQjMwNkNCNjMzMEQA"
		reacted  = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
	)
	receipt := func(id, status string, ts int64, detail string) platform.Event {
		return platform.Event{Kind: platform.KindReceipt, ID: id + ":status:" + status, Contact: sheena,
			Timestamp: unix(ts), Status: status, Detail: detail}
	}
	tests := []struct {
		file string
		want []platform.Event
	}{
		{"text.json", []platform.Event{
			msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", 1739321024,
				platform.Message{Kind: platform.Text, Text: "Does it come in another color?"}, ""),
		}},
		{"image.json", []platform.Event{
			msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUE3QkU4NDY0ODFCRTM3NEJDMAA=", 1744344496,
				platform.Message{Kind: platform.Image, Text: "This is the one with the scratch",
					MediaRef: "1003383421387256", MediaType: "image/jpeg"}, ""),
		}},
		{"reaction.json", []platform.Event{
			msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ4NjJCQkE3MjBEQkUyRjZFMwA=", 1744344500,
				platform.Message{Kind: platform.Reaction, Text: "👍", ReplyTo: reacted}, ""),
			msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUY3RkJFQjVFMEE3NzM0RTNCQgA=", 1744344530,
				platform.Message{Kind: platform.Reaction, ReplyTo: reacted}, "reaction removed"),
		}},
		{"statuses.json", []platform.Event{
			receipt(outbound, "sent", 1750263773, ""),
			receipt(outbound, "delivered", 1750263775, ""),
			receipt(outbound, "read", 1750263801, ""),
			receipt(failed, "failed", 1750263812, "error 131047: Re-engagement message: Message failed to send "+
				"because more than 24 hours have passed since the customer last replied to this number."),
		}},
		{"several.json", []platform.Event{
			msgEvent("wamid.SEVERAL.1", 1739321024, platform.Message{Kind: platform.Text, Text: "Hi, I ordered the blue one"}, ""),
			{Kind: platform.KindMessage, ID: "wamid.SEVERAL.2", Contact: pablo, ContactName: "Pablo Morales",
				Timestamp: unix(1739321030), Message: &platform.Message{Kind: platform.Text, Text: "Yes, tomorrow works", ReplyTo: "wamid.OUTBOUND.7"}},
			msgEvent("wamid.SEVERAL.3", 1739321031, platform.Message{Kind: platform.Audio,
				MediaRef: "1907283156715436", MediaType: "audio/ogg; codecs=opus"}, "voice"),
			{Kind: platform.KindIgnored, Detail: "field message_template_status_update"},
			msgEvent("wamid.SEVERAL.4", 1739321090, platform.Message{Kind: platform.Location,
				Text: "Main office, 1 Hacker Way, Menlo Park, CA 94025 (37.483307, -122.148981)"}, ""),
			msgEvent("wamid.SEVERAL.5", 1739321095, platform.Message{Kind: platform.Button, Text: "Change",
				ReplyTo: "wamid.OUTBOUND.8"}, "button_reply id change-button"),
		}},
		{"types.json", []platform.Event{
			msgEvent("wamid.TYPES.document", 1739321100, platform.Message{Kind: platform.Document, Text: "invoice-4411.pdf",
				MediaRef: "1225012345678901#name=invoice-4411.pdf", MediaType: "application/pdf"}, "invoice-4411.pdf"),
			msgEvent("wamid.TYPES.video", 1739321101, platform.Message{Kind: platform.Video, Text: "the noise it makes",
				MediaRef: "1528873114823451", MediaType: "video/mp4"}, ""),
			msgEvent("wamid.TYPES.sticker", 1739321102, platform.Message{Kind: platform.Sticker,
				MediaRef: "1148567803213441", MediaType: "image/webp"}, ""),
			msgEvent("wamid.TYPES.contacts", 1739321103, platform.Message{Kind: platform.Contacts,
				Text: "Barbara J. Johnson (+1 (650) 555-0111)"}, ""),
			msgEvent("wamid.TYPES.button", 1739321104, platform.Message{Kind: platform.Button, Text: "Stop promotions",
				ReplyTo: "wamid.TEMPLATE.1"}, "payload STOP_PROMOTIONS"),
			msgEvent("wamid.TYPES.list", 1739321105, platform.Message{Kind: platform.Button, Text: "Express shipping"},
				"list_reply id priority_express"),
			msgEvent("wamid.TYPES.order", 1739321106, platform.Message{Kind: platform.Other, Text: "Please deliver before noon"}, "order"),
			msgEvent("wamid.TYPES.system", 1739321107, platform.Message{Kind: platform.Other,
				Text: "User Sheena Nelson changed from 16505551234 to 16505559999"}, "system; user_changed_number"),
			msgEvent("wamid.TYPES.unsupported", 1739321108, platform.Message{Kind: platform.Other},
				"unsupported poll_update; error 131051: Message type unknown: Message type is currently not supported."),
			msgEvent("wamid.TYPES.future", 1739321109, platform.Message{Kind: platform.Other}, "type hologram"),
		}},
		{"edit_revoke.json", []platform.Event{
			msgEvent("wamid.EDIT.1", 1739321200, platform.Message{Kind: platform.Edit, Text: "this one, not the other",
				MediaRef: "1003383421387299", MediaType: "image/jpeg", ReplyTo: "wamid.ORIGINAL.1"}, "edit of image"),
			msgEvent("wamid.REVOKE.1", 1739321260, platform.Message{Kind: platform.Unsend, ReplyTo: "wamid.ORIGINAL.2"}, ""),
		}},
		{"value_errors.json", []platform.Event{
			{Kind: platform.KindIgnored, Detail: "error 131000: Something went wrong: Unknown error. Please retry."},
		}},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, readTestdata(t, tt.file))
			assertEvents(t, got, tt.want)
		})
	}
}

func assertEvents(t *testing.T, got, want []platform.Event) {
	t.Helper()
	platformtest.AssertEvents(t, got, want)
}

func dump(evs []platform.Event) string { return platformtest.Dump(evs) }

// wrap puts a messages value into a whole delivery.
func wrap(value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":` + value + `}]}]}`)
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"not JSON", `object=whatsapp`, "not a webhook delivery"},
		{"array", `[]`, "not a webhook delivery"},
		{"empty", ``, "not a webhook delivery"},
		{"no object", `{"entry":[]}`, `object is ""`},
		{"page object", `{"object":"page","entry":[]}`, `object is "page"`},
		{"entry not a list", `{"object":"whatsapp_business_account","entry":{}}`, "not a webhook delivery"},
		{"value not an object", string(wrap(`"x"`)), "entry[0].changes[0].value"},
		{"message without id", string(wrap(`{"messages":[{"from":"1","timestamp":"1","type":"text","text":{"body":"a"}}]}`)),
			"entry[0].changes[0].value.messages[0] has no id"},
		{"bad timestamp", string(wrap(`{"messages":[{"id":"wamid.X","from":"1","timestamp":"yesterday","type":"text"}]}`)),
			"not unix seconds"},
		{"timestamp object", string(wrap(`{"messages":[{"id":"wamid.X","from":"1","timestamp":{},"type":"text"}]}`)),
			"entry[0].changes[0].value"},
		{"status without id", string(wrap(`{"statuses":[{"status":"read","timestamp":"1","recipient_id":"1"}]}`)),
			"statuses[0] has no id"},
		{"status without status", string(wrap(`{"statuses":[{"id":"wamid.S","timestamp":"1","recipient_id":"1"}]}`)),
			"(wamid.S) has no status"},
		{"text not an object", string(wrap(`{"messages":[{"id":"wamid.X","from":"1","type":"text","text":"hi"}]}`)),
			"entry[0].changes[0].value"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		platformtest.CheckMalformed(t, a, tt.name, tt.body, tt.want)
	}
}

func TestParseEdgeCases(t *testing.T) {
	a := newTestAdapter(t)
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"no entries", []byte(`{"object":"whatsapp_business_account","entry":[]}`), []platform.Event{}},
		{"another phone number", wrap(`{"metadata":{"phone_number_id":"999"},"messages":[{"id":"wamid.X","from":"1","type":"text"}]}`),
			[]platform.Event{platform.Unusable(wrap(`{"metadata":{"phone_number_id":"999"},"messages":[{"id":"wamid.X","from":"1","type":"text"}]}`),
				"other_account: phone_number_id 999 is not the channel's")}},
		{"business-scoped user id only", wrap(`{"contacts":[{"profile":{"name":"Ann"},"user_id":"US.1349120865530"}],` +
			`"messages":[{"from_user_id":"US.1349120865530","id":"wamid.B","timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.B", Contact: "US.1349120865530", ContactName: "Ann",
				Timestamp: unix(1700000000), Message: &platform.Message{Kind: platform.Text, Text: "hi"}}}},
		{"name by the only contact", wrap(`{"contacts":[{"profile":{"name":"Ana"},"wa_id":"5215512345678"}],` +
			`"messages":[{"from":"525512345678","id":"wamid.M","type":"text","text":{"body":"hola"}}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.M", Contact: "525512345678", ContactName: "Ana",
				Message: &platform.Message{Kind: platform.Text, Text: "hola"}}}},
		{"numeric timestamp and string error code", wrap(`{"messages":[{"from":"1","id":"wamid.N","timestamp":1700000001,` +
			`"type":"unsupported","errors":[{"code":"131060","title":"This message is currently unavailable."}],"unsupported":{}}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.N", Contact: "1", Timestamp: unix(1700000001),
				Message: &platform.Message{Kind: platform.Other}, Detail: "unsupported; error 131060: This message is currently unavailable."}}},
		{"legacy deleted status", wrap(`{"statuses":[{"id":"wamid.D","status":"deleted","timestamp":"1700000002","recipient_id":"1"}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.D:status:deleted", Contact: "1", Timestamp: unix(1700000002),
				Message: &platform.Message{Kind: platform.Unsend, ReplyTo: "wamid.D"}}}},
		{"edit without original id", wrap(`{"messages":[{"from":"1","id":"wamid.E","type":"edit","edit":{}}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.E", Contact: "1",
				Message: &platform.Message{Kind: platform.Other}, Detail: "edit without original_message_id"}}},
		{"text edit", wrap(`{"messages":[{"from":"1","id":"wamid.E2","type":"edit","edit":{"original_message_id":"wamid.O",` +
			`"message":{"type":"text","text":{"body":"fixed typo"}}}}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.E2", Contact: "1",
				Message: &platform.Message{Kind: platform.Edit, Text: "fixed typo", ReplyTo: "wamid.O"}, Detail: "edit of text"}}},
		{"message without type", wrap(`{"messages":[{"from":"1","id":"wamid.T"}]}`),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.T", Contact: "1",
				Message: &platform.Message{Kind: platform.Other}, Detail: "message without type"}}},
		{"null value", wrap(`null`), []platform.Event{}},
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

func TestClip(t *testing.T) {
	if got := platform.Clip("héllo", 2); got != "h…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
	if got := platform.Clip("hello", 5); got != "hello" {
		t.Errorf("clip shortened a string that fits: %q", got)
	}
	long := strings.Repeat("x", 1000)
	ev := platform.Ignored("field " + long)
	if len(ev.Detail) > platform.MaxDetail+len("…") {
		t.Errorf("Detail not bounded: %d bytes", len(ev.Detail))
	}
}

// A message that names neither from nor from_user_id is the customer's
// all the same: its change is kept in quarantine, and the other messages
// of the delivery are stored.
func TestParseAMessageNamingNoOneIsQuarantined(t *testing.T) {
	a := newTestAdapter(t)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` +
		`{"field":"messages","value":{"messages":[{"id":"wamid.X","timestamp":"1","type":"text","text":{"body":"who am I"}}]}},` +
		`{"field":"messages","value":{"messages":[{"id":"wamid.Y","from":"316","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}`)
	got := platformtest.CheckParse(t, a, body)
	want := []platform.Event{
		platform.Unusable(wrap(`{"messages":[{"id":"wamid.X","timestamp":"1","type":"text","text":{"body":"who am I"}}]}`),
			"id_missing: the contact id is empty: message wamid.X names neither from nor from_user_id"),
		{Kind: platform.KindMessage, ID: "wamid.Y", Contact: "316", Timestamp: time.Unix(1, 0).UTC(),
			Message: &platform.Message{Kind: platform.Text, Text: "hi"}},
	}
	assertEvents(t, got, want)
}

// A group's message (the Groups API) is filed under the group, where
// replies go, with its writer, named from the value's contacts, as the
// sender.
func TestParseAGroupMessage(t *testing.T) {
	a := newTestAdapter(t)
	got := platformtest.CheckParse(t, a, wrap(`{"contacts":[{"profile":{"name":"Kerry"},"wa_id":"16505551234"}],`+
		`"messages":[{"from":"16505551234","group_id":"Y2FwaV9ncm91cDox","id":"wamid.G1","timestamp":"1","type":"text","text":{"body":"what do you all think?"}}]}`))
	want := []platform.Event{{Kind: platform.KindMessage, ID: "wamid.G1", Contact: "Y2FwaV9ncm91cDox", Sender: "Kerry (16505551234)",
		Timestamp: time.Unix(1, 0).UTC(), Message: &platform.Message{Kind: platform.Text, Text: "what do you all think?"}, Detail: "group chat"}}
	assertEvents(t, got, want)
}
