package twilio

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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

// The testdata files follow Twilio's documented webhook parameters
// ("Twilio's request to your incoming message webhook URL", WhatsApp
// webhooks, status callbacks); voice.form is the security guide's example.
func TestParseTestdata(t *testing.T) {
	const (
		smsUser = "+14017122661"
		waUser  = "whatsapp:+14155550123"
		mms     = "MM0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	)
	mediaURL := func(me string) string {
		return "https://api.twilio.com/2010-04-01/Accounts/" + testAccountSID + "/Messages/" + mms + "/Media/" + me
	}
	tests := []struct {
		file string
		want []platform.Event
	}{
		{"sms.form", []platform.Event{
			{Kind: platform.KindMessage, ID: "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", Contact: smsUser,
				Message: &platform.Message{Kind: platform.Text, Text: "Ahoy! We can't wait to see what you build."}},
		}},
		{"mms.form", []platform.Event{
			{Kind: platform.KindMessage, ID: mms, Contact: smsUser,
				Message: &platform.Message{Kind: platform.Image, Text: "Here is the scratch, and a video of the noise",
					MediaRef: mediaURL("ME11d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6") + "#type=image%2Fjpeg", MediaType: "image/jpeg"},
				Detail: "attachment 1 of 2"},
			{Kind: platform.KindMessage, ID: mms + ":media:1", Contact: smsUser,
				Message: &platform.Message{Kind: platform.Video, MediaRef: mediaURL("ME22e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7") + "#type=video%2Fmp4", MediaType: "video/mp4"},
				Detail:  "attachment 2 of 2 of " + mms},
		}},
		{"whatsapp_text.form", []platform.Event{
			{Kind: platform.KindMessage, ID: "SM5d6e7f8091a2b3c4d5e6f708192a3b4c", Contact: waUser, ContactName: "Sheena Nelson",
				Message: &platform.Message{Kind: platform.Text, Text: "Yes, Tuesday works for me", ReplyTo: "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0"}},
		}},
		{"whatsapp_button.form", []platform.Event{
			{Kind: platform.KindMessage, ID: "SM8824d91645395b17594d92659b878468", Contact: "whatsapp:+6285176810035", ContactName: "teknisee",
				Message: &platform.Message{Kind: platform.Button, Text: "Konfirmasi", ReplyTo: "MM5cc44eecf7dab0d48d4529d0fa4af44d"},
				Detail:  "payload confirm-booking-42"},
		}},
		{"whatsapp_location.form", []platform.Event{
			{Kind: platform.KindMessage, ID: "SM3c4d5e6f708192a3b4c5d6e7f8091a2b", Contact: waUser, ContactName: "Sheena Nelson",
				Message: &platform.Message{Kind: platform.Location, Text: "Twilio HQ, 101 Spear St, San Francisco, CA 94105 (37.7879277, -122.3937508)"}},
		}},
		{"optout.form", []platform.Event{
			{Kind: platform.KindMessage, ID: "SM7a8b9c0d1e2f30415263748596a7b8c9", Contact: smsUser,
				Message: &platform.Message{Kind: platform.Text, Text: "STOP"}},
			{Kind: platform.KindContact, ID: "SM7a8b9c0d1e2f30415263748596a7b8c9:contact:blocked", Contact: smsUser,
				Status: "blocked", Detail: "opt-out keyword (OptOutType STOP)"},
		}},
		{"status_delivered.form", []platform.Event{
			{Kind: platform.KindReceipt, ID: "SMb7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2:status:delivered", Contact: smsUser, Status: "delivered"},
		}},
		{"status_read.form", []platform.Event{
			{Kind: platform.KindReceipt, ID: "SMc8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3:status:read", Contact: waUser, Status: "read"},
		}},
		{"status_undelivered.form", []platform.Event{
			{Kind: platform.KindReceipt, ID: "SMd9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4:status:undelivered", Contact: smsUser,
				Status: "failed", Detail: "undelivered; error 30003"},
		}},
		{"status_unsubscribed.form", []platform.Event{
			{Kind: platform.KindReceipt, ID: "SMe0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5:status:failed", Contact: smsUser,
				Status: "failed", Detail: "error 21610"},
			{Kind: platform.KindContact, ID: "SMe0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5:contact:blocked", Contact: smsUser,
				Status: "blocked", Detail: "error 21610: the recipient opted out (STOP)"},
		}},
		{"status_queued.form", []platform.Event{
			{Kind: platform.KindIgnored, ID: "SMf1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6:status:queued",
				Detail: "status queued of SMf1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6"},
		}},
		{"voice.form", []platform.Event{
			{Kind: platform.KindIgnored, Detail: "voice call webhook CA1234567890ABCDE"},
		}},
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
		{"another account", "MessageSid=SM1&From=%2B1&AccountSid=AC" + strings.Repeat("0", 32),
			[]platform.Event{platform.Unusable([]byte("MessageSid=SM1&From=%2B1&AccountSid=AC"+strings.Repeat("0", 32)),
				"other_account: AccountSid AC"+strings.Repeat("0", 32)+" is not the channel's")}},
		{"legacy SmsSid only", "SmsSid=SM2&From=%2B1&Body=hi",
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM2", Contact: "+1", Message: &platform.Message{Kind: platform.Text, Text: "hi"}}}},
		{"whatsapp sticker", "MessageSid=MM3&From=whatsapp%3A%2B1&NumMedia=1&MessageType=sticker&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm&MediaContentType0=image%2Fwebp",
			[]platform.Event{{Kind: platform.KindMessage, ID: "MM3", Contact: "whatsapp:+1",
				Message: &platform.Message{Kind: platform.Sticker, MediaRef: "https://api.twilio.com/m#type=image%2Fwebp", MediaType: "image/webp"}}}},
		{"pdf document", "MessageSid=MM4&From=%2B1&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fd&MediaContentType0=application%2Fpdf",
			[]platform.Event{{Kind: platform.KindMessage, ID: "MM4", Contact: "+1",
				Message: &platform.Message{Kind: platform.Document, MediaRef: "https://api.twilio.com/d#type=application%2Fpdf", MediaType: "application/pdf"}}}},
		{"voice note", "MessageSid=MM5&From=%2B1&NumMedia=1&MediaUrl0=u&MediaContentType0=audio%2Fogg",
			[]platform.Event{{Kind: platform.KindMessage, ID: "MM5", Contact: "+1",
				Message: &platform.Message{Kind: platform.Audio, MediaRef: "u#type=audio%2Fogg", MediaType: "audio/ogg"}}}},
		{"NumMedia beyond the attachments", "MessageSid=MM6&From=%2B1&NumMedia=3&MediaUrl0=u0&MediaContentType0=image%2Fpng",
			[]platform.Event{{Kind: platform.KindMessage, ID: "MM6", Contact: "+1",
				Message: &platform.Message{Kind: platform.Image, MediaRef: "u0#type=image%2Fpng", MediaType: "image/png"}, Detail: "attachment 1 of 3"}}},
		{"opt-in keyword", "MessageSid=SM7&From=%2B1&Body=START&OptOutType=START",
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "SM7", Contact: "+1", Message: &platform.Message{Kind: platform.Text, Text: "START"}},
				{Kind: platform.KindContact, ID: "SM7:contact:unblocked", Contact: "+1", Status: "unblocked", Detail: "opt-in keyword (OptOutType START)"},
			}},
		{"help keyword", "MessageSid=SM8&From=%2B1&Body=HELP&OptOutType=HELP",
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM8", Contact: "+1", Message: &platform.Message{Kind: platform.Text, Text: "HELP"}}}},
		{"unsupported whatsapp type", "MessageSid=SM9&From=whatsapp%3A%2B1&MessageType=unsupported&Body=",
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM9", Contact: "whatsapp:+1",
				Message: &platform.Message{Kind: platform.Other}, Detail: "type unsupported"}}},
		{"forwarded", "MessageSid=SM10&From=whatsapp%3A%2B1&Body=fwd&Forwarded=true",
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM10", Contact: "whatsapp:+1",
				Message: &platform.Message{Kind: platform.Text, Text: "fwd"}, Detail: "forwarded"}}},
		{"sent status", "MessageSid=SM11&MessageStatus=sent&To=%2B2",
			[]platform.Event{{Kind: platform.KindReceipt, ID: "SM11:status:sent", Contact: "+2", Status: "sent"}}},
		{"failed whatsapp status with its message", "MessageSid=SM12&MessageStatus=failed&To=whatsapp%3A%2B2&ErrorCode=63016" +
			"&ChannelStatusMessage=Failed+to+send+freeform+message+because+you+are+outside+the+allowed+window",
			[]platform.Event{{Kind: platform.KindReceipt, ID: "SM12:status:failed", Contact: "whatsapp:+2", Status: "failed",
				Detail: "error 63016: Failed to send freeform message because you are outside the allowed window"}}},
		{"undelivered 21610", "MessageSid=SM13&MessageStatus=undelivered&To=%2B2&ErrorCode=21610",
			[]platform.Event{
				{Kind: platform.KindReceipt, ID: "SM13:status:undelivered", Contact: "+2", Status: "failed", Detail: "undelivered; error 21610"},
				{Kind: platform.KindContact, ID: "SM13:contact:blocked", Contact: "+2", Status: "blocked",
					Detail: "error 21610: the recipient opted out (STOP)"},
			}},
		{"status of an inbound message", "MessageSid=SM14&MessageStatus=received&To=%2B2",
			[]platform.Event{{Kind: platform.KindIgnored, ID: "SM14:status:received", Detail: "status received of SM14"}}},
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

// TestParseIDsDistinct: every event of a delivery, and of a message's
// successive callbacks, has its own deduplication key, and a repeated
// webhook gives the same keys.
func TestParseIDsDistinct(t *testing.T) {
	a := newTestAdapter(t)
	bodies := [][]byte{
		readTestdata(t, "mms.form"), readTestdata(t, "optout.form"), readTestdata(t, "status_unsubscribed.form"),
		StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SMe0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5", To: "+14017122661", Status: "sent"}),
		StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SMe0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5", To: "+14017122661", Status: "delivered"}),
	}
	seen := map[string]bool{}
	for _, b := range bodies {
		first, again := platformtest.CheckParse(t, a, b), platformtest.CheckParse(t, a, b)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("the same webhook parsed differently:\n%s\n%s", dump(first), dump(again))
		}
		for _, ev := range first {
			if ev.ID == "" || seen[ev.ID] {
				t.Errorf("ID %q empty or repeated", ev.ID)
			}
			seen[ev.ID] = true
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"bad escape", "MessageSid=SM1&Body=%zz", "not form-encoded"},
		{"semicolon separator", "MessageSid=SM1;Body=x", "not form-encoded"},
		{"JSON", `{"MessageSid":"SM1"}`, "no MessageSid"},
		{"empty", "", "no MessageSid"},
		{"no From", "MessageSid=SM1&Body=hi", "message SM1 has no From"},
		{"NumMedia not a number", "MessageSid=SM1&From=%2B1&NumMedia=two", `NumMedia "two" is not a count`},
		{"NumMedia negative", "MessageSid=SM1&From=%2B1&NumMedia=-1", "is not a count"},
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
	evs := platformtest.CheckParse(t, newTestAdapter(t), []byte("MessageSid=SM1&MessageStatus="+long))
	if len(evs) != 1 || len(evs[0].Detail) > platform.MaxDetail+len("…") {
		t.Errorf("Detail not bounded: %+v", evs)
	}
}

func assertEvents(t *testing.T, got, want []platform.Event) {
	t.Helper()
	platformtest.AssertEvents(t, got, want)
}

func dump(evs []platform.Event) string { return platformtest.Dump(evs) }
