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
	cfg := testConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"complete", func(*Config) {}, ""},
		{"receive only: no bot token", func(c *Config) { c.BotToken = "" }, ""},
		{"custom api url", func(c *Config) { c.APIURL = "http://127.0.0.1:8081" }, ""},
		{"longest secret", func(c *Config) { c.SecretToken = strings.Repeat("a", 256) }, ""},
		{"no secret", func(c *Config) { c.SecretToken = "" }, "secret_token is required"},
		{"secret too long", func(c *Config) { c.SecretToken = strings.Repeat("a", 257) }, "longer than 256"},
		{"secret with a space", func(c *Config) { c.SecretToken = "two words" }, "secret_token may only hold"},
		{"secret with a slash", func(c *Config) { c.SecretToken = "a/b" }, "secret_token may only hold"},
		{"bot token without colon", func(c *Config) { c.BotToken = "7012345678AAHk3d" }, "bot_token"},
		{"bot token with a slash", func(c *Config) { c.BotToken = "7012345678:AAH/../x" }, "bot_token"},
		{"bot token id not numeric", func(c *Config) { c.BotToken = "bot:AAHk3d" }, "bot_token"},
		{"bot token without key", func(c *Config) { c.BotToken = "7012345678:" }, "bot_token"},
		{"relative api url", func(c *Config) { c.APIURL = "api.telegram.org" }, "api_url"},
		{"ftp api url", func(c *Config) { c.APIURL = "ftp://api.telegram.org" }, "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testBotToken) || strings.Contains(err.Error(), "AAHk3d") {
				t.Fatalf("error shows the bot token: %v", err)
			}
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
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
	got := platform.CapabilitiesOf(newTestAdapter(t))
	want := platform.Capabilities{Handshake: false, Send: true, NativeBlock: false, Media: true}
	if got != want {
		t.Fatalf("CapabilitiesOf = %+v, want %+v (a bot can not block a user; it downloads files)", got, want)
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
