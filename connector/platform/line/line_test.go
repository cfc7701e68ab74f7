package line

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testChannelSecret = "test-channel-secret"
	testAccessToken   = "line-test-access-token-Zq8"
)

func testConfig() Config {
	return Config{ChannelSecret: testChannelSecret, ChannelAccessToken: testAccessToken}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := []platformtest.ConfigCase[Config]{
		{Name: "complete", Mutate: func(*Config) {}},
		{Name: "receive only", Mutate: func(c *Config) { c.ChannelAccessToken = "" }},
		{Name: "custom api url", Mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:9999" }},
		{Name: "no channel secret", Mutate: func(c *Config) { c.ChannelSecret = "" }, Want: "channel_secret is required"},
		{Name: "token with a line break", Mutate: func(c *Config) { c.ChannelAccessToken = "abc\n" }, Want: "channel_access_token"},
		{Name: "relative api url", Mutate: func(c *Config) { c.APIURL = "api.line.me" }, Want: "api_url"},
		{Name: "api url with query", Mutate: func(c *Config) { c.APIURL = "https://api.line.me/?x=1" }, Want: "api_url"},
		{Name: "ftp api url", Mutate: func(c *Config) { c.APIURL = "ftp://api.line.me" }, Want: "api_url"},
	}
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testChannelSecret, testAccessToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	cfg := testConfig()
	cfg.APIURL = "https://api.line.example"
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{cfg},
		[]string{testChannelSecret, testAccessToken}, "https://api.line.example")
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.apiURL != DefaultAPIURL {
		t.Errorf("apiURL = %q, want %q", a.apiURL, DefaultAPIURL)
	}
	if a.api.HTTP() == nil || a.api.HTTP().Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.api.HTTP())
	}
	b := newTestAdapter(t, func(c *Config) { c.APIURL = "https://example.test/" })
	if b.apiURL != "https://example.test" {
		t.Errorf("apiURL = %q, want the trailing slash trimmed", b.apiURL)
	}
	if got := a.Platform(); got != "line" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	platformtest.CheckCapabilities(t, newTestAdapter(t), platform.Capabilities{Handshake: false, Send: true, NativeBlock: false, Media: true},
		"LINE has no handshake and no block API")
	receiveOnly := newTestAdapter(t, func(c *Config) { c.ChannelAccessToken = "" })
	platformtest.CheckCapabilities(t, receiveOnly, platform.Capabilities{Media: true}, "a channel without its access token receives only")
	if got := platform.MissingCredential(receiveOnly); got != "no channel access token configured" {
		t.Errorf("MissingCredential = %q", got)
	}
}

// The known vector was computed independently with
//
//	openssl dgst -sha256 -hmac 'test-channel-secret' -binary testdata/verify.json | openssl base64
const vectorSignature = "JCD/dr8/2smIoMwzrlWV89wrX564IeUlvfBmon05a6E="

func TestSignKnownVector(t *testing.T) {
	body := readTestdata(t, "verify.json")
	if got := Sign(testChannelSecret, body); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	a := newTestAdapter(t)
	body := readTestdata(t, "verify.json")
	tests := []struct {
		name   string
		header []string // header name/value pairs
		body   []byte
		want   string // substring of the error; "" for a valid signature
	}{
		{"known vector", []string{SignatureHeader, vectorSignature}, body, ""},
		{"header name case", []string{"x-line-signature", vectorSignature}, body, ""},
		{"missing", nil, body, "missing X-Line-Signature"},
		{"not base64", []string{SignatureHeader, "***"}, body, "not the base64"},
		{"hex instead of base64", []string{SignatureHeader, platformtest.HMACSHA256Hex(testChannelSecret, body)}, body, "not the base64"},
		{"too short", []string{SignatureHeader, vectorSignature[:20] + "=="}, body, "not the base64"},
		{"other key", []string{SignatureHeader, Sign("another-secret", body)}, body, "does not match"},
		{"altered body", []string{SignatureHeader, vectorSignature}, append(append([]byte{}, body...), ' '), "does not match"},
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
			msg := err.Error()
			if strings.Contains(msg, testChannelSecret) || strings.Contains(msg, vectorSignature) {
				t.Fatalf("error shows the secret or the expected signature: %s", msg)
			}
		})
	}
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}

// TestConsoleVerification: the console's Verify button posts a signed
// delivery without events; it must verify and parse to no events (and no
// error), so that the connector answers 200.
func TestConsoleVerification(t *testing.T) {
	a := newTestAdapter(t)
	body := VerifyDelivery("U0123456789abcdef0123456789abcdef")
	r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", body, SignatureHeader, Sign(testChannelSecret, body))
	if err := a.Verify(r, body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	evs := platformtest.CheckParse(t, a, body)
	if evs == nil || len(evs) != 0 {
		t.Fatalf("Parse = %#v, want an empty, non-nil list", evs)
	}
}
