package whatsapp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testPhoneNumberID = "106540352242922"
	testAppSecret     = "test-app-secret"
	testVerifyToken   = "hub-token-7c1d9e"
	testAccessToken   = "EAAG-test-access-token"
)

func testConfig() Config {
	return Config{
		PhoneNumberID: testPhoneNumberID,
		AppSecret:     testAppSecret,
		VerifyToken:   testVerifyToken,
		AccessToken:   testAccessToken,
	}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := metatest.ConfigCases[Config]("PhoneNumberID", "phone_number_id")
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testAppSecret, testVerifyToken, testAccessToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{testConfig()},
		[]string{testAppSecret, testVerifyToken, testAccessToken}, testPhoneNumberID)
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.Graph.BaseURL != DefaultGraphURL {
		t.Errorf("graphURL = %q, want %q", a.Graph.BaseURL, DefaultGraphURL)
	}
	if a.Graph.HTTP == nil || a.Graph.HTTP.Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.Graph.HTTP)
	}
	b := newTestAdapter(t, func(c *Config) { c.GraphURL = "https://example.test/v22.0/" })
	if b.Graph.BaseURL != "https://example.test/v22.0" {
		t.Errorf("graphURL = %q, want the trailing slash trimmed", b.Graph.BaseURL)
	}
	if got := a.Platform(); got != "whatsapp" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	platformtest.CheckCapabilities(t, newTestAdapter(t), platform.Capabilities{Handshake: true, Send: true, NativeBlock: true, Media: true},
		"WhatsApp has every capability")
	receiveOnly := newTestAdapter(t, func(c *Config) { c.AccessToken = "" })
	platformtest.CheckCapabilities(t, receiveOnly, platform.Capabilities{Handshake: true, Media: true},
		"a channel without an access token receives only")
	if got := platform.MissingCredential(receiveOnly); got != "no access token configured" {
		t.Errorf("MissingCredential = %q", got)
	}
}

// The known vector was computed independently with
//
//	printf '%s' '{"object":"whatsapp_business_account","entry":[]}' | openssl dgst -sha256 -hmac 'test-app-secret'
const (
	vectorBody = `{"object":"whatsapp_business_account","entry":[]}`
	vectorHex  = "c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc"
)

func TestSignKnownVector(t *testing.T) {
	if got := Sign(testAppSecret, []byte(vectorBody)); got != "sha256="+vectorHex {
		t.Fatalf("Sign = %s, want sha256=%s", got, vectorHex)
	}
	if got := platformtest.HMACSHA256Hex(testAppSecret, []byte(vectorBody)); got != vectorHex {
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
		{"known vector", []string{SignatureHeader, "sha256=" + vectorHex}, body, ""},
		{"upper-case hex", []string{SignatureHeader, "sha256=" + strings.ToUpper(vectorHex)}, body, ""},
		{"header name case", []string{"x-hub-signature-256", "sha256=" + vectorHex}, body, ""},
		{"missing", nil, body, "missing X-Hub-Signature-256"},
		{"sha1 prefix", []string{SignatureHeader, "sha1=" + vectorHex}, body, "does not start with"},
		{"no prefix", []string{SignatureHeader, vectorHex}, body, "does not start with"},
		{"not hex", []string{SignatureHeader, "sha256=" + strings.Repeat("zz", 32)}, body, "hex digits"},
		{"too short", []string{SignatureHeader, "sha256=" + vectorHex[:62]}, body, "hex digits"},
		{"other key", []string{SignatureHeader, Sign("another-secret", body)}, body, "does not match"},
		{"altered body", []string{SignatureHeader, "sha256=" + vectorHex}, []byte(vectorBody + " "), "does not match"},
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
			if strings.Contains(msg, testAppSecret) || strings.Contains(msg, vectorHex) {
				t.Fatalf("error shows the secret or the expected signature: %s", msg)
			}
		})
	}
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}

func TestHandshake(t *testing.T) {
	a := newTestAdapter(t)
	tests := []struct {
		name  string
		query url.Values
		want  string // the challenge on success, or a substring of the error
		ok    bool
	}{
		{"accepted", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"1158201444"}}, "1158201444", true},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}}, "does not match", false},
		{"token prefix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken[:5]}, "hub.challenge": {"1"}}, "does not match", false},
		{"token longer", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken + "x"}, "hub.challenge": {"1"}}, "does not match", false},
		{"missing token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, "missing hub.verify_token", false},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"1"}}, "hub.mode", false},
		{"missing mode", url.Values{"hub.verify_token": {testVerifyToken}, "hub.challenge": {"1"}}, "hub.mode", false},
		{"missing challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken}}, "missing hub.challenge", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+tt.query.Encode(), nil)
			got, err := a.Handshake(r)
			if tt.ok {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Handshake = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, platform.ErrHandshake) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Handshake = %q, %v; want ErrHandshake containing %q", got, err, tt.want)
			}
			if got != nil {
				t.Fatalf("Handshake returned a body with its error: %q", got)
			}
			if strings.Contains(err.Error(), "7c1d9e") {
				t.Fatalf("error shows (part of) the token: %v", err)
			}
		})
	}
	if _, err := a.Handshake(nil); !errors.Is(err, platform.ErrHandshake) {
		t.Fatalf("Handshake(nil) = %v, want ErrHandshake", err)
	}
}
