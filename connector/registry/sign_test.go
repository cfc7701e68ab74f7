package registry

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chatsync/sfconnector/config"
)

// TestSignIsWhatTheAdapterVerifies: for every platform, the header Sign
// computes passes the channel's own adapter's check, and a changed body
// does not.
func TestSignIsWhatTheAdapterVerifies(t *testing.T) {
	s := config.NewSecret
	channels := []config.Channel{
		{Platform: config.PlatformWhatsApp, WhatsApp: &config.WhatsApp{PhoneNumberID: "1065550001", AppSecret: s("wa-secret"), VerifyToken: s("v")}},
		{Platform: config.PlatformMessenger, Messenger: &config.Messenger{PageID: "104321098765432", AppSecret: s("m-secret"), VerifyToken: s("v")}},
		{Platform: config.PlatformInstagram, Instagram: &config.Instagram{PageID: "104321098765432", AppSecret: s("i-secret"), VerifyToken: s("v")}},
		{Platform: config.PlatformWebChat, WebChat: &config.WebChat{Secret: s("web-secret")}},
		{Platform: config.PlatformTelegram, Telegram: &config.Telegram{SecretToken: s("tg-secret")}},
		{Platform: config.PlatformLINE, LINE: &config.LINE{ChannelSecret: s("line-secret")}},
		{Platform: config.PlatformViber, Viber: &config.Viber{AuthToken: s("viber-token"), SenderName: "Acme"}},
		{Platform: config.PlatformTwilio, Twilio: &config.Twilio{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: s("twilio-token"), From: "+15550100200"}},
	}
	const url = "http://localhost:8080/webhooks/acme/ch"
	for _, c := range channels {
		t.Run(c.Platform, func(t *testing.T) {
			a, err := newAdapter(c, Options{}, false)
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"any":"body"}`)
			if c.Platform == config.PlatformTwilio {
				body = []byte("From=%2B15550100300&Body=hello&MessageSid=SM1")
			}
			header, value, err := Sign(c, url, body)
			if err != nil || header == "" || value == "" {
				t.Fatalf("Sign: %q %q %v", header, value, err)
			}
			req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set(header, value)
			if err := a.Verify(req, body); err != nil {
				t.Fatalf("the adapter refuses %s: %v", header, err)
			}
			if c.Platform == config.PlatformTelegram {
				return // Telegram's secret does not depend on the body
			}
			other := append(bytes.Clone(body[:len(body)-1]), 'X')
			if err := a.Verify(req, other); err == nil {
				t.Fatalf("the adapter accepts %s for another body", header)
			}
		})
	}
	if _, _, err := Sign(config.Channel{Platform: config.PlatformLINE}, url, nil); err == nil {
		t.Error("a channel without its section was signed")
	}
}
