package viber

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	// testAuthToken has the shape of the tokens in Viber's documentation.
	testAuthToken  = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
	testSenderName = "Acme Support"
)

func testConfig() Config {
	return Config{AuthToken: testAuthToken, SenderName: testSenderName}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := []platformtest.ConfigCase[Config]{
		{Name: "complete", Mutate: func(*Config) {}},
		{Name: "with avatar", Mutate: func(c *Config) { c.SenderAvatar = "https://acme.example/logo.png" }},
		{Name: "custom api url", Mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:9999" }},
		{Name: "28 characters", Mutate: func(c *Config) { c.SenderName = strings.Repeat("é", 28) }},
		{Name: "no auth token", Mutate: func(c *Config) { c.AuthToken = "" }, Want: "auth_token is required"},
		{Name: "no sender name", Mutate: func(c *Config) { c.SenderName = " " }, Want: "sender_name is required"},
		{Name: "sender name too long", Mutate: func(c *Config) { c.SenderName = strings.Repeat("x", 29) }, Want: "longer than 28"},
		{Name: "relative avatar", Mutate: func(c *Config) { c.SenderAvatar = "logo.png" }, Want: "sender_avatar"},
		{Name: "relative api url", Mutate: func(c *Config) { c.APIURL = "chatapi.viber.com" }, Want: "api_url"},
		{Name: "ftp api url", Mutate: func(c *Config) { c.APIURL = "ftp://chatapi.viber.com" }, Want: "api_url"},
	}
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testAuthToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{testConfig()},
		[]string{testAuthToken, "445da6az"}, testSenderName)
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.apiURL != DefaultAPIURL {
		t.Errorf("apiURL = %q, want %q", a.apiURL, DefaultAPIURL)
	}
	if a.api.HTTP() == nil || a.api.HTTP().Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.api.HTTP())
	}
	b := newTestAdapter(t, func(c *Config) { c.APIURL = "https://viber.example.test/" })
	if b.apiURL != "https://viber.example.test" {
		t.Errorf("apiURL = %q, want the trailing slash trimmed", b.apiURL)
	}
	if got := a.Platform(); got != "viber" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	platformtest.CheckCapabilities(t, newTestAdapter(t), platform.Capabilities{Handshake: false, Send: true, NativeBlock: false, Media: true},
		"Viber has no block API")
}

// The known vector was computed independently, over the unsubscribed
// example of Viber's documentation, with
//
//	printf '%s' '<vectorBody>' | openssl dgst -sha256 -hmac '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9'
const (
	vectorBody = `{"event":"unsubscribed","timestamp":1457764197627,"user_id":"01234567890A=","message_token":4912661846655238145}`
	vectorHex  = "35236face80ffc360da4813ec408a94e23461a1ac8aef1f02088a56378ba8933"
)

func TestSignKnownVector(t *testing.T) {
	if got := Sign(testAuthToken, []byte(vectorBody)); got != vectorHex {
		t.Fatalf("Sign = %s, want %s", got, vectorHex)
	}
	if got := platformtest.HMACSHA256Hex(testAuthToken, []byte(vectorBody)); got != vectorHex {
		t.Fatalf("platformtest.HMACSHA256Hex = %s, want %s", got, vectorHex)
	}
}

func TestVerify(t *testing.T) {
	a := newTestAdapter(t)
	body := []byte(vectorBody)
	tests := []struct {
		name   string
		header []string // header name/value pairs
		body   []byte
		want   string // substring of the error; "" for a valid signature
	}{
		{"known vector", []string{SignatureHeader, vectorHex}, body, ""},
		{"upper-case hex", []string{SignatureHeader, strings.ToUpper(vectorHex)}, body, ""},
		{"header name case", []string{"x-viber-content-signature", vectorHex}, body, ""},
		{"missing", nil, body, "missing X-Viber-Content-Signature"},
		{"sha256= prefix", []string{SignatureHeader, "sha256=" + vectorHex}, body, "64 hex digits"},
		{"not hex", []string{SignatureHeader, strings.Repeat("zz", 32)}, body, "64 hex digits"},
		{"too short", []string{SignatureHeader, vectorHex[:62]}, body, "64 hex digits"},
		{"other token", []string{SignatureHeader, Sign("another-token", body)}, body, "does not match"},
		{"altered body", []string{SignatureHeader, vectorHex}, []byte(vectorBody + " "), "does not match"},
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
			if strings.Contains(msg, testAuthToken) || strings.Contains(msg, vectorHex) {
				t.Fatalf("error shows the token or the expected signature: %s", msg)
			}
		})
	}
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}
