package whatsapp

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
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"text", TextDelivery(testPhoneNumberID, "4915112345678", "Ann", "wamid.T1", "hello <b>", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.T1", Contact: "4915112345678", ContactName: "Ann",
				Timestamp: builderTime, Message: &platform.Message{Kind: platform.Text, Text: "hello <b>"}}}},
		{"image", ImageDelivery(testPhoneNumberID, "4915112345678", "Ann", "wamid.I1", "998877", "image/png", "my receipt", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.I1", Contact: "4915112345678", ContactName: "Ann",
				Timestamp: builderTime, Message: &platform.Message{Kind: platform.Image, Text: "my receipt", MediaRef: "998877", MediaType: "image/png"}}}},
		{"reaction", ReactionDelivery(testPhoneNumberID, "4915112345678", "Ann", "wamid.R1", "wamid.OUT", "❤️", builderTime),
			[]platform.Event{{Kind: platform.KindMessage, ID: "wamid.R1", Contact: "4915112345678", ContactName: "Ann",
				Timestamp: builderTime, Message: &platform.Message{Kind: platform.Reaction, Text: "❤️", ReplyTo: "wamid.OUT"}}}},
		{"statuses", StatusDelivery(testPhoneNumberID,
			Status{ID: "wamid.OUT", Recipient: "4915112345678", Status: "delivered", Time: builderTime},
			Status{ID: "wamid.OUT2", Recipient: "4915112345678", Status: "failed", Time: builderTime.Add(time.Second),
				ErrorCode: 131047, ErrorTitle: "Re-engagement message"}),
			[]platform.Event{
				{Kind: platform.KindReceipt, ID: "wamid.OUT:status:delivered", Contact: "4915112345678", Timestamp: builderTime, Status: "delivered"},
				{Kind: platform.KindReceipt, ID: "wamid.OUT2:status:failed", Contact: "4915112345678", Timestamp: builderTime.Add(time.Second),
					Status: "failed", Detail: "error 131047: Re-engagement message"},
			}},
		{"batch", Delivery(testPhoneNumberID,
			Inbound{From: "111", Name: "Ann", ID: "wamid.B1", Time: builderTime, Text: "first"},
			Inbound{From: "222", Name: "Bob", ID: "wamid.B2", Time: builderTime, Type: "document", MediaID: "55",
				MimeType: "application/pdf", Filename: "cv.pdf", ReplyTo: "wamid.B1"},
			Inbound{From: "111", Name: "Ann", ID: "wamid.B3", Time: builderTime, Type: "audio", MediaID: "66", MimeType: "audio/ogg"}),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "wamid.B1", Contact: "111", ContactName: "Ann", Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Text, Text: "first"}},
				{Kind: platform.KindMessage, ID: "wamid.B2", Contact: "222", ContactName: "Bob", Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Document, Text: "cv.pdf", MediaRef: "55#name=cv.pdf", MediaType: "application/pdf",
						ReplyTo: "wamid.B1"}, Detail: "cv.pdf"},
				{Kind: platform.KindMessage, ID: "wamid.B3", Contact: "111", ContactName: "Ann", Timestamp: builderTime,
					Message: &platform.Message{Kind: platform.Audio, MediaRef: "66", MediaType: "audio/ogg"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, SignatureHeader, Sign(testAppSecret, tt.body))
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("a signed built delivery does not verify: %v", err)
			}
			assertEvents(t, platformtest.CheckParse(t, a, tt.body), tt.want)
		})
	}
}

// TestBuilderShape checks the JSON against the Cloud API's field names and
// types, which the round trip alone would not catch (a builder and parser
// could agree on a wrong name).
func TestBuilderShape(t *testing.T) {
	body := Delivery(testPhoneNumberID,
		Inbound{From: "111", Name: "Ann", ID: "wamid.1", Time: builderTime, Text: "hi"},
		Inbound{From: "222", Name: "Bob", ID: "wamid.2", Time: builderTime, Type: "reaction", Text: "👍", ReplyTo: "wamid.1"},
		Inbound{From: "111", Name: "Ann", ID: "wamid.3", Time: builderTime, Type: "image", MediaID: "9", MimeType: "image/jpeg", ReplyTo: "wamid.0"})
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	get := func(v any, path ...any) any {
		t.Helper()
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
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"object"}, "whatsapp_business_account"},
		{[]any{"entry", 0, "changes", 0, "field"}, "messages"},
		{[]any{"entry", 0, "changes", 0, "value", "messaging_product"}, "whatsapp"},
		{[]any{"entry", 0, "changes", 0, "value", "metadata", "phone_number_id"}, testPhoneNumberID},
		{[]any{"entry", 0, "changes", 0, "value", "contacts", 0, "wa_id"}, "111"},
		{[]any{"entry", 0, "changes", 0, "value", "contacts", 0, "profile", "name"}, "Ann"},
		{[]any{"entry", 0, "changes", 0, "value", "contacts", 1, "wa_id"}, "222"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 0, "timestamp"}, "1795255200"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 0, "text", "body"}, "hi"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 1, "reaction", "message_id"}, "wamid.1"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 1, "reaction", "emoji"}, "👍"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 2, "image", "id"}, "9"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 2, "image", "mime_type"}, "image/jpeg"},
		{[]any{"entry", 0, "changes", 0, "value", "messages", 2, "context", "id"}, "wamid.0"},
	}
	for _, c := range checks {
		if v := get(got, c.path...); v != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
		}
	}
	if n := len(get(got, "entry", 0, "changes", 0, "value", "contacts").([]any)); n != 2 {
		t.Errorf("%d contacts, want one per distinct sender (2)", n)
	}
	if v := get(got, "entry", 0, "changes", 0, "value", "messages", 1, "context"); v != nil {
		t.Errorf("a reaction carries a context: %v", v)
	}
}
