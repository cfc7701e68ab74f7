package config

import (
	"errors"
	"strings"
	"testing"
)

// withEveryPlatform adds a valid channel of each platform beyond WhatsApp
// and web chat to the first tenant of a valid configuration.
func withEveryPlatform(t *testing.T) *Config {
	t.Helper()
	c := validConfig(t)
	s := NewSecret
	c.Tenants[0].Channels = append(c.Tenants[0].Channels,
		Channel{ID: "fb", Platform: PlatformMessenger, Messenger: &Messenger{PageID: "1234567890", AppSecret: s("a"), VerifyToken: s("v")}},
		Channel{ID: "ig", Platform: PlatformInstagram, Instagram: &Instagram{PageID: "1234567890", AccountID: "17841400000000000", AppSecret: s("a"), VerifyToken: s("v")}},
		Channel{ID: "tg", Platform: PlatformTelegram, Telegram: &Telegram{SecretToken: s("t")}},
		Channel{ID: "line", Platform: PlatformLINE, LINE: &LINE{ChannelSecret: s("c")}},
		Channel{ID: "sms", Platform: PlatformTwilio, Twilio: &Twilio{AccountSID: "AC" + strings.Repeat("0a", 16), AuthToken: s("t"), From: "+15550100"}},
		Channel{ID: "viber", Platform: PlatformViber, Viber: &Viber{AuthToken: s("t"), SenderName: "Acme"}},
	)
	c.ApplyDefaults()
	return c
}

func TestEveryPlatformValidates(t *testing.T) {
	if err := withEveryPlatform(t).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPlatformSectionProblems(t *testing.T) {
	// Channel indexes in withEveryPlatform: 2 fb, 3 ig, 4 tg, 5 line, 6 sms, 7 viber.
	cases := []struct {
		name   string
		mutate func(c *Config)
		path   string
		want   string
	}{
		{"messenger section missing", func(c *Config) { c.Tenants[0].Channels[2].Messenger = nil }, "tenants[0].channels[2].messenger", "is required for platform messenger"},
		{"two sections", func(c *Config) { c.Tenants[0].Channels[2].Viber = &Viber{} }, "tenants[0].channels[2].viber", "must not be set for platform messenger"},
		{"messenger page id", func(c *Config) { c.Tenants[0].Channels[2].Messenger.PageID = "my-page" }, "tenants[0].channels[2].messenger.page_id", "is not a Page id"},
		{"messenger app secret", func(c *Config) { c.Tenants[0].Channels[2].Messenger.AppSecret = Secret{} }, "tenants[0].channels[2].messenger.app_secret", ""},
		{"instagram verify token", func(c *Config) { c.Tenants[0].Channels[3].Instagram.VerifyToken = Secret{} }, "tenants[0].channels[3].instagram.verify_token", ""},
		{"instagram account id", func(c *Config) { c.Tenants[0].Channels[3].Instagram.AccountID = "me" }, "tenants[0].channels[3].instagram.account_id", "digits only"},
		{"instagram graph url", func(c *Config) { c.Tenants[0].Channels[3].Instagram.GraphURL = "http://graph.example.com" }, "tenants[0].channels[3].instagram.graph_url", "must be https"},
		{"telegram secret token", func(c *Config) { c.Tenants[0].Channels[4].Telegram.SecretToken = Secret{} }, "tenants[0].channels[4].telegram.secret_token", ""},
		{"line channel secret", func(c *Config) { c.Tenants[0].Channels[5].LINE.ChannelSecret = Secret{} }, "tenants[0].channels[5].line.channel_secret", ""},
		{"twilio account sid", func(c *Config) { c.Tenants[0].Channels[6].Twilio.AccountSID = "AC123" }, "tenants[0].channels[6].twilio.account_sid", "not a Twilio account SID"},
		{"twilio from", func(c *Config) { c.Tenants[0].Channels[6].Twilio.From = "" }, "tenants[0].channels[6].twilio.from", ""},
		{"viber sender name", func(c *Config) { c.Tenants[0].Channels[7].Viber.SenderName = strings.Repeat("x", 29) }, "tenants[0].channels[7].viber.sender_name", "at most 28"},
		{"viber auth token", func(c *Config) { c.Tenants[0].Channels[7].Viber.AuthToken = Secret{} }, "tenants[0].channels[7].viber.auth_token", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := withEveryPlatform(t)
			tc.mutate(c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.Contains(line, tc.path+": ") && strings.Contains(line, tc.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem at %s containing %q in:\n%v", tc.path, tc.want, err)
			}
		})
	}
}
