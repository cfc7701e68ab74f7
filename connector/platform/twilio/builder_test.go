package twilio

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func TestBuildersRoundTrip(t *testing.T) {
	const target = "https://connector.example.com/webhooks/acme/whatsapp"
	a := newTestAdapter(t, func(c *Config) { c.From = "whatsapp:+14155238886" })
	sms := InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "SM01", From: "+14017122661", To: testFrom, Body: "hello <b> & bye"})
	derived := InboundBody(Inbound{AccountSID: testAccountSID, From: "+14017122661", To: testFrom, Body: "no sid given"})
	dp, _ := url.ParseQuery(string(derived))
	tests := []struct {
		name string
		body []byte
		want []platform.Event
	}{
		{"sms", sms, []platform.Event{{Kind: platform.KindMessage, ID: "SM01", Contact: "+14017122661",
			Message: &platform.Message{Kind: platform.Text, Text: "hello <b> & bye"}}}},
		{"derived sid", derived, []platform.Event{{Kind: platform.KindMessage, ID: dp.Get("MessageSid"), Contact: "+14017122661",
			Message: &platform.Message{Kind: platform.Text, Text: "no sid given"}}}},
		{"whatsapp reply with media", InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "MM02", From: "whatsapp:+14155550123",
			To: "whatsapp:+14155238886", ProfileName: "Ann", Body: "the label", ReplyTo: "SM00",
			Media: []Media{{URL: "https://api.twilio.com/m0", ContentType: "image/jpeg"}, {URL: "https://api.twilio.com/m1", ContentType: "application/pdf"}}}),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "MM02", Contact: "whatsapp:+14155550123", ContactName: "Ann",
					Message: &platform.Message{Kind: platform.Image, Text: "the label", MediaRef: "https://api.twilio.com/m0#type=image%2Fjpeg",
						MediaType: "image/jpeg", ReplyTo: "SM00"}, Detail: "attachment 1 of 2"},
				{Kind: platform.KindMessage, ID: "MM02:media:1", Contact: "whatsapp:+14155550123", ContactName: "Ann",
					Message: &platform.Message{Kind: platform.Document, MediaRef: "https://api.twilio.com/m1#type=application%2Fpdf", MediaType: "application/pdf"},
					Detail:  "attachment 2 of 2 of MM02"},
			}},
		{"button", InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "SM03", From: "whatsapp:+14155550123",
			To: "whatsapp:+14155238886", ButtonText: "Yes", ButtonPayload: "confirm"}),
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM03", Contact: "whatsapp:+14155550123",
				Message: &platform.Message{Kind: platform.Button, Text: "Yes"}, Detail: "payload confirm"}}},
		{"location", InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "SM04", From: "whatsapp:+14155550123",
			To: "whatsapp:+14155238886", Latitude: "48.8584", Longitude: "2.2945", Label: "Tour Eiffel"}),
			[]platform.Event{{Kind: platform.KindMessage, ID: "SM04", Contact: "whatsapp:+14155550123",
				Message: &platform.Message{Kind: platform.Location, Text: "Tour Eiffel (48.8584, 2.2945)"}}}},
		{"opt-out", InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "SM05", From: "+14017122661", To: testFrom,
			Body: "STOP", OptOutType: "STOP"}),
			[]platform.Event{
				{Kind: platform.KindMessage, ID: "SM05", Contact: "+14017122661", Message: &platform.Message{Kind: platform.Text, Text: "STOP"}},
				{Kind: platform.KindContact, ID: "SM05:contact:blocked", Contact: "+14017122661", Status: "blocked",
					Detail: "opt-out keyword (OptOutType STOP)"},
			}},
		{"read receipt", StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SM06", From: "whatsapp:+14155238886",
			To: "whatsapp:+14155550123", Status: "read"}),
			[]platform.Event{{Kind: platform.KindReceipt, ID: "SM06:status:read", Contact: "whatsapp:+14155550123", Status: "read"}}},
		{"opted-out recipient", StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SM07", From: testFrom,
			To: "+14017122661", Status: "failed", ErrorCode: 21610}),
			[]platform.Event{
				{Kind: platform.KindReceipt, ID: "SM07:status:failed", Contact: "+14017122661", Status: "failed", Detail: "error 21610"},
				{Kind: platform.KindContact, ID: "SM07:contact:blocked", Contact: "+14017122661", Status: "blocked",
					Detail: "error 21610: the recipient opted out (STOP)"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := SignBody(testAuthToken, target, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			r := platformtest.NewRequest(http.MethodPost, target, tt.body, SignatureHeader, sig)
			if err := a.Verify(r, tt.body); err != nil {
				t.Fatalf("a signed built body does not verify: %v", err)
			}
			assertEvents(t, platformtest.CheckParse(t, a, tt.body), tt.want)
		})
	}
}

// TestBuilderShape checks the parameters against Twilio's names, which the
// round trip alone would not catch.
func TestBuilderShape(t *testing.T) {
	in, err := url.ParseQuery(string(InboundBody(Inbound{AccountSID: testAccountSID, MessageSID: "MM1", From: "whatsapp:+14155550123",
		To: "whatsapp:+14155238886", ProfileName: "Ann", Media: []Media{{URL: "https://api.twilio.com/m0", ContentType: "image/png"}}})))
	if err != nil {
		t.Fatal(err)
	}
	st, err := url.ParseQuery(string(StatusBody(Status{AccountSID: testAccountSID, MessageSID: "SM2", From: testFrom,
		To: "+14017122661", Status: "undelivered", ErrorCode: 30003})))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"MessageSid", in.Get("MessageSid"), "MM1"},
		{"SmsMessageSid", in.Get("SmsMessageSid"), "MM1"},
		{"SmsStatus", in.Get("SmsStatus"), "received"},
		{"NumMedia", in.Get("NumMedia"), "1"},
		{"MediaUrl0", in.Get("MediaUrl0"), "https://api.twilio.com/m0"},
		{"MediaContentType0", in.Get("MediaContentType0"), "image/png"},
		{"WaId", in.Get("WaId"), "14155550123"},
		{"ProfileName", in.Get("ProfileName"), "Ann"},
		{"MessageType", in.Get("MessageType"), "image"},
		{"ApiVersion", in.Get("ApiVersion"), "2010-04-01"},
		{"status MessageStatus", st.Get("MessageStatus"), "undelivered"},
		{"status SmsStatus", st.Get("SmsStatus"), "undelivered"},
		{"status ErrorCode", st.Get("ErrorCode"), "30003"},
		{"status To", st.Get("To"), "+14017122661"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if in.Has("MessageStatus") {
		t.Error("an incoming message carries MessageStatus, which marks status callbacks")
	}
}
