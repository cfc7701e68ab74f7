package telegram

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testBotToken    = "7012345678:AAHk3d-Xq_9fJ2mQwErTyUiOpAsDfGhJkLz"
	testSecretToken = "wh-secret_4f9c2a7e"
)

func testConfig() Config {
	return Config{BotToken: testBotToken, SecretToken: testSecretToken}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := []platformtest.ConfigCase[Config]{
		{Name: "complete", Mutate: func(*Config) {}},
		{Name: "receive only: no bot token", Mutate: func(c *Config) { c.BotToken = "" }},
		{Name: "custom api url", Mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:8081" }},
		{Name: "longest secret", Mutate: func(c *Config) { c.SecretToken = strings.Repeat("a", 256) }},
		{Name: "no secret", Mutate: func(c *Config) { c.SecretToken = "" }, Want: "secret_token is required"},
		{Name: "secret too long", Mutate: func(c *Config) { c.SecretToken = strings.Repeat("a", 257) }, Want: "longer than 256"},
		{Name: "secret with a space", Mutate: func(c *Config) { c.SecretToken = "two words" }, Want: "secret_token may only hold"},
		{Name: "secret with a slash", Mutate: func(c *Config) { c.SecretToken = "a/b" }, Want: "secret_token may only hold"},
		{Name: "bot token without colon", Mutate: func(c *Config) { c.BotToken = "7012345678AAHk3d" }, Want: "bot_token"},
		{Name: "bot token with a slash", Mutate: func(c *Config) { c.BotToken = "7012345678:AAH/../x" }, Want: "bot_token"},
		{Name: "bot token id not numeric", Mutate: func(c *Config) { c.BotToken = "bot:AAHk3d" }, Want: "bot_token"},
		{Name: "bot token without key", Mutate: func(c *Config) { c.BotToken = "7012345678:" }, Want: "bot_token"},
		{Name: "relative api url", Mutate: func(c *Config) { c.APIURL = "api.telegram.org" }, Want: "api_url"},
		{Name: "ftp api url", Mutate: func(c *Config) { c.APIURL = "ftp://api.telegram.org" }, Want: "api_url"},
	}
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testBotToken, "AAHk3d", testSecretToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	cfg := testConfig()
	cfg.APIURL = "https://tg.example.test"
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{cfg},
		[]string{testBotToken, "AAHk3d", testSecretToken}, "https://tg.example.test")
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.apiURL != DefaultAPIURL {
		t.Errorf("apiURL = %q, want %q", a.apiURL, DefaultAPIURL)
	}
	if a.api.HTTP() == nil || a.api.HTTP().Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.api.HTTP())
	}
	b := newTestAdapter(t, func(c *Config) { c.APIURL = "https://tg.example.test/" })
	if b.apiURL != "https://tg.example.test" {
		t.Errorf("apiURL = %q, want the trailing slash trimmed", b.apiURL)
	}
	if got := a.Platform(); got != "telegram" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	platformtest.CheckCapabilities(t, newTestAdapter(t), platform.Capabilities{Handshake: false, Send: true, NativeBlock: false, Media: true},
		"a bot can not block a user; it downloads files")
	receiveOnly := newTestAdapter(t, func(c *Config) { c.BotToken = "" })
	platformtest.CheckCapabilities(t, receiveOnly, platform.Capabilities{Media: true}, "a bot without its token receives only")
	if got := platform.MissingCredential(receiveOnly); got != "no bot token configured" {
		t.Errorf("MissingCredential = %q", got)
	}
}

func TestVerify(t *testing.T) {
	a := newTestAdapter(t)
	body := []byte(`{"update_id":1}`)
	tests := []struct {
		name   string
		header []string // header name/value pairs
		want   string   // substring of the error; "" when accepted
	}{
		{"right token", []string{SecretHeader, testSecretToken}, ""},
		{"header name case", []string{"x-telegram-bot-api-secret-token", testSecretToken}, ""},
		{"Sign", []string{SecretHeader, Sign(testSecretToken, body)}, ""},
		{"missing", nil, "missing X-Telegram-Bot-Api-Secret-Token"},
		{"empty", []string{SecretHeader, ""}, "missing"},
		{"wrong", []string{SecretHeader, "wh-secret_0000000"}, "does not match"},
		{"prefix", []string{SecretHeader, testSecretToken[:6]}, "does not match"},
		{"longer", []string{SecretHeader, testSecretToken + "x"}, "does not match"},
		{"other case", []string{SecretHeader, strings.ToUpper(testSecretToken)}, "does not match"},
		{"bot token instead", []string{SecretHeader, testBotToken}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", body, tt.header...)
			err := a.Verify(r, body)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrBadSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want ErrBadSignature containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecretToken) || strings.Contains(err.Error(), "4f9c2a7e") {
				t.Fatalf("error shows the secret token: %v", err)
			}
		})
	}
	t.Run("header twice", func(t *testing.T) {
		r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", body)
		r.Header.Add(SecretHeader, testSecretToken)
		r.Header.Add(SecretHeader, "other")
		if err := a.Verify(r, body); !errors.Is(err, platform.ErrBadSignature) {
			t.Fatalf("Verify with two headers = %v, want ErrBadSignature", err)
		}
	})
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}

func TestSignIsTheSecretToken(t *testing.T) {
	if got := Sign(testSecretToken, []byte("anything")); got != testSecretToken {
		t.Fatalf("Sign = %q, want the secret token itself", got)
	}
}
