package instagram

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testPageID      = "106540352242922"
	testAccountID   = "17841405822304914"
	testIGSID       = "1175734150341458"
	testAppSecret   = "test-app-secret"
	testVerifyToken = "hub-token-7c1d9e"
	testAccessToken = "EAAG-test-page-access-token"
)

func testConfig() Config {
	return Config{
		PageID:      testPageID,
		AccountID:   testAccountID,
		AppSecret:   testAppSecret,
		VerifyToken: testVerifyToken,
		AccessToken: testAccessToken,
	}
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
		{"custom graph url", func(c *Config) { c.GraphURL = "http://127.0.0.1:9999/v23.0" }, ""},
		{"receive only: no access token", func(c *Config) { c.AccessToken = "" }, ""},
		{"no account id: every entry read", func(c *Config) { c.AccountID = "" }, ""},
		{"no page id", func(c *Config) { c.PageID = "" }, "page_id is required"},
		{"page id with a slash", func(c *Config) { c.PageID = "12/34" }, "page_id"},
		{"account id as a user name", func(c *Config) { c.AccountID = "@shop" }, "account_id"},
		{"no app secret", func(c *Config) { c.AppSecret = "" }, "app_secret is required"},
		{"no verify token", func(c *Config) { c.VerifyToken = "" }, "verify_token is required"},
		{"relative graph url", func(c *Config) { c.GraphURL = "graph.facebook.com/v23.0" }, "graph_url"},
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
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestStringsHideSecrets(t *testing.T) {
	cfg := testConfig()
	a := newTestAdapter(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, out := range []string{fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, a)} {
			for _, secret := range []string{testAppSecret, fmt.Sprint([]byte(testAppSecret)), testVerifyToken, testAccessToken} {
				if strings.Contains(out, secret) {
					t.Errorf("%s shows a secret: %s", verb, out)
				}
			}
			if !strings.Contains(out, testPageID) || !strings.Contains(out, testAccountID) {
				t.Errorf("%s lacks the ids: %s", verb, out)
			}
		}
	}
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.Graph.BaseURL != DefaultGraphURL {
		t.Errorf("graph URL = %q, want %q", a.Graph.BaseURL, DefaultGraphURL)
	}
	if a.Graph.HTTP == nil || a.Graph.HTTP.Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.Graph.HTTP)
	}
	if got := a.Platform(); got != "instagram" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	got := platform.CapabilitiesOf(newTestAdapter(t))
	want := platform.Capabilities{Handshake: true, Send: true, NativeBlock: true, Media: true}
	if got != want {
		t.Fatalf("CapabilitiesOf = %+v, want %+v", got, want)
	}
}

// The known vector was computed independently with
//
//	printf '%s' '{"object":"instagram","entry":[]}' | openssl dgst -sha256 -hmac 'test-app-secret'
const (
	vectorBody = `{"object":"instagram","entry":[]}`
	vectorHex  = "bb441adf604237753804d2f51dbef920e26f17e8c1155dbe818684eb2b577890"
)

func TestSignKnownVector(t *testing.T) {
	if got := Sign(testAppSecret, []byte(vectorBody)); got != "sha256="+vectorHex {
		t.Fatalf("Sign = %s, want sha256=%s", got, vectorHex)
	}
}

func TestVerify(t *testing.T) {
	a := newTestAdapter(t)
	body := []byte(vectorBody)
	tests := []struct {
		name   string
		header []string
		body   []byte
		want   string // substring of the error; "" for a valid signature
	}{
		{"known vector", []string{SignatureHeader, "sha256=" + vectorHex}, body, ""},
		{"missing", nil, body, "missing X-Hub-Signature-256"},
		{"no prefix", []string{SignatureHeader, vectorHex}, body, "does not start with"},
		{"too short", []string{SignatureHeader, "sha256=" + vectorHex[:60]}, body, "hex digits"},
		{"other key", []string{SignatureHeader, Sign("another-secret", body)}, body, "does not match"},
		{"altered body", []string{SignatureHeader, "sha256=" + vectorHex}, []byte(`{"object":"instagram","entry":[{}]}`), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", tt.body, tt.header...)
			err := a.Verify(r, tt.body)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrBadSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want ErrBadSignature containing %q", err, tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, testAppSecret) || strings.Contains(msg, vectorHex) {
				t.Fatalf("error shows the secret or the expected signature: %s", msg)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	a := newTestAdapter(t)
	ok := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"2087396311"}}
	got, err := a.Handshake(platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+ok.Encode(), nil))
	if err != nil || string(got) != "2087396311" {
		t.Fatalf("Handshake = %q, %v; want the challenge", got, err)
	}
	for name, q := range map[string]url.Values{
		"wrong token":       {"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}},
		"wrong mode":        {"hub.mode": {"unsubscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"1"}},
		"missing challenge": {"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken}},
	} {
		got, err := a.Handshake(platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+q.Encode(), nil))
		if !errors.Is(err, platform.ErrHandshake) || got != nil {
			t.Errorf("%s: Handshake = %q, %v; want ErrHandshake", name, got, err)
		}
	}
}
