package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testAccountSID = "ACae4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"
	testAuthToken  = "twilio-test-auth-token-Qx7"
	testFrom       = "+15558675310"
)

func testConfig() Config {
	return Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := []platformtest.ConfigCase[Config]{
		{Name: "complete", Mutate: func(*Config) {}},
		{Name: "whatsapp sender", Mutate: func(c *Config) { c.From = "whatsapp:+14155238886" }},
		{Name: "short code", Mutate: func(c *Config) { c.From = "894546" }},
		{Name: "public base url", Mutate: func(c *Config) { c.PublicBaseURL = "https://connector.example.com/" }},
		{Name: "custom api url", Mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:9999" }},
		{Name: "no account sid", Mutate: func(c *Config) { c.AccountSID = "" }, Want: "account_sid is required"},
		{Name: "api key sid", Mutate: func(c *Config) { c.AccountSID = "SK" + strings.Repeat("a", 32) }, Want: "account_sid"},
		{Name: "short account sid", Mutate: func(c *Config) { c.AccountSID = "AC123" }, Want: "account_sid"},
		{Name: "no auth token", Mutate: func(c *Config) { c.AuthToken = "" }, Want: "auth_token is required"},
		{Name: "no from", Mutate: func(c *Config) { c.From = " " }, Want: "from"},
		{Name: "from with a slash", Mutate: func(c *Config) { c.From = "+1555/0100" }, Want: "from"},
		{Name: "relative public base url", Mutate: func(c *Config) { c.PublicBaseURL = "connector.example.com" }, Want: "public_base_url"},
		{Name: "public base url with query", Mutate: func(c *Config) { c.PublicBaseURL = "https://connector.example.com/?a=1" }, Want: "public_base_url"},
		{Name: "public base url with credentials", Mutate: func(c *Config) { c.PublicBaseURL = "https://u:p@connector.example.com" }, Want: "public_base_url"},
		{Name: "ftp api url", Mutate: func(c *Config) { c.APIURL = "ftp://api.twilio.com" }, Want: "api_url"},
	}
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testAuthToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{testConfig()},
		[]string{testAuthToken}, testAccountSID, testFrom)
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	if a.apiURL != DefaultAPIURL {
		t.Errorf("apiURL = %q, want %q", a.apiURL, DefaultAPIURL)
	}
	if a.api.HTTP() == nil || a.api.HTTP().Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", a.api.HTTP())
	}
	b := newTestAdapter(t, func(c *Config) {
		c.APIURL = "https://example.test/"
		c.PublicBaseURL = "https://connector.example.com/"
	})
	if b.apiURL != "https://example.test" || b.publicBaseURL != "https://connector.example.com" {
		t.Errorf("apiURL %q, publicBaseURL %q: want the trailing slashes trimmed", b.apiURL, b.publicBaseURL)
	}
	if got := a.Platform(); got != "twilio" {
		t.Errorf("Platform() = %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	platformtest.CheckCapabilities(t, newTestAdapter(t), platform.Capabilities{Handshake: false, Send: true, NativeBlock: false, Media: true},
		"Twilio has no handshake and no block API")
}

// Twilio's worked example (docs, "Webhooks security"): auth token 12345,
// URL https://mycompany.com/myapp.php?foo=1&bar=2 and the POST parameters
// below. The signatures were also checked with
//
//	printf '%s' '<URL><sorted params>' | openssl dgst -sha1 -hmac 12345 -binary | openssl base64
const (
	vectorToken = "12345"
	vectorURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorSig   = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func vectorParams() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
}

func TestSignKnownVectors(t *testing.T) {
	if got := Sign(vectorToken, vectorURL, vectorParams()); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
	// The same example with the numbers of Twilio's helper library tests.
	lib := vectorParams()
	lib.Set("Caller", "+14158675309")
	lib.Set("From", "+14158675309")
	if got := Sign(vectorToken, vectorURL, lib); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatalf("Sign = %s, want RSOYDt4T1cUTdK1PDd93/VVr8B8=", got)
	}
	// Parameters posted in another order sign the same.
	body := []byte("To=%2B18005551212&Digits=1234&From=%2B12349013030&CallSid=CA1234567890ABCDE&Caller=%2B12349013030")
	if got, err := SignBody(vectorToken, vectorURL, body); err != nil || got != vectorSig {
		t.Fatalf("SignBody = %s, %v; want %s", got, err, vectorSig)
	}
	if _, err := SignBody(vectorToken, vectorURL, []byte("a=%zz")); err == nil {
		t.Fatal("SignBody of a body that is not form-encoded succeeded")
	}
}

// TestSignRepeatedParameter: a parameter given twice contributes each
// value, sorted, as Twilio's helper libraries do.
func TestSignRepeatedParameter(t *testing.T) {
	mac := hmac.New(sha1.New, []byte(vectorToken))
	mac.Write([]byte("https://h.example/pBodyxMediaUrlaMediaUrlb"))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	got := Sign(vectorToken, "https://h.example/p", url.Values{"MediaUrl": {"b", "a"}, "Body": {"x"}})
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// vectorAdapter is an adapter holding the example's auth token.
func vectorAdapter(t *testing.T, publicBaseURL string) *Adapter {
	t.Helper()
	return newTestAdapter(t, func(c *Config) { c.AuthToken = vectorToken; c.PublicBaseURL = publicBaseURL })
}

func TestVerifyKnownVector(t *testing.T) {
	body := []byte(vectorParams().Encode())
	tests := []struct {
		name      string
		publicURL string
		target    string
		header    []string
		want      string // substring of the error; "" for valid
	}{
		{"URL from the TLS request", "", vectorURL, nil, ""},
		{"URL from a proxy's X-Forwarded-Proto", "", "http://mycompany.com/myapp.php?foo=1&bar=2",
			[]string{"X-Forwarded-Proto", "https"}, ""},
		{"public base URL behind a proxy", "https://mycompany.com", "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", nil, ""},
		{"public base URL with a trailing slash", "https://mycompany.com/", "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", nil, ""},
		{"default port added by the request", "", "https://mycompany.com:443/myapp.php?foo=1&bar=2", nil, ""},
		{"plain http without a proxy header", "", "http://mycompany.com/myapp.php?foo=1&bar=2", nil,
			"does not match the body and the URL http://mycompany.com/myapp.php?foo=1&bar=2"},
		{"internal URL without the public base", "", "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", nil, "public base URL"},
		{"another query", "", "https://mycompany.com/myapp.php?foo=1&bar=3", nil, "does not match"},
		{"another path", "https://mycompany.com", "http://10.0.0.7:8080/other.php?foo=1&bar=2", nil, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := vectorAdapter(t, tt.publicURL)
			header := append([]string{SignatureHeader, vectorSig}, tt.header...)
			r := platformtest.NewRequest(http.MethodPost, tt.target, body, header...)
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
			if strings.Contains(err.Error(), vectorSig) {
				t.Fatalf("error shows the expected signature: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	const target = "https://connector.example.com/webhooks/acme/sms"
	a := newTestAdapter(t)
	body := readTestdata(t, "sms.form")
	good, err := SignBody(testAuthToken, target, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header []string
		body   []byte
		want   string // substring of the error; "" for valid
	}{
		{"valid", []string{SignatureHeader, good}, body, ""},
		{"header name case", []string{"x-twilio-signature", good}, body, ""},
		{"missing", nil, body, "missing X-Twilio-Signature"},
		{"not base64", []string{SignatureHeader, "%%%"}, body, "not the base64"},
		{"sha256 length", []string{SignatureHeader, "JCD/dr8/2smIoMwzrlWV89wrX564IeUlvfBmon05a6E="}, body, "not the base64"},
		{"other token", []string{SignatureHeader, mustSignBody(t, "another-token", target, body)}, body, "does not match"},
		{"altered parameter", []string{SignatureHeader, good},
			[]byte(strings.Replace(string(body), "Ahoy", "Ahem", 1)), "does not match"},
		{"added parameter", []string{SignatureHeader, good}, append(append([]byte{}, body...), "&Extra=1"...), "does not match"},
		{"body not form-encoded", []string{SignatureHeader, good}, []byte("a=%zz"), "not form-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, target, tt.body, tt.header...)
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
			if msg := err.Error(); strings.Contains(msg, testAuthToken) || strings.Contains(msg, good) {
				t.Fatalf("error shows the token or the expected signature: %s", msg)
			}
		})
	}
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}

// TestVerifyDoesNotReadTheRequestBody: the connector has read r.Body
// before Verify and Parse; both work from the body they are given.
func TestVerifyDoesNotReadTheRequestBody(t *testing.T) {
	const target = "https://connector.example.com/webhooks/acme/sms"
	a := newTestAdapter(t)
	body := readTestdata(t, "sms.form")
	r := platformtest.NewRequest(http.MethodPost, target, nil, SignatureHeader, mustSignBody(t, testAuthToken, target, body))
	if err := a.Verify(r, body); err != nil {
		t.Fatalf("Verify with a drained request body: %v", err)
	}
	evs, err := a.Parse(r, body)
	if err != nil || len(evs) != 1 || evs[0].ID != "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0" {
		t.Fatalf("Parse with a drained request body = %+v, %v", evs, err)
	}
}

func TestPortVariants(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"https://h.example/p?q=1", []string{"https://h.example/p?q=1", "https://h.example:443/p?q=1"}},
		{"https://h.example:443/p", []string{"https://h.example:443/p", "https://h.example/p"}},
		{"http://h.example/p", []string{"http://h.example/p", "http://h.example:80/p"}},
		{"http://h.example:8080/p", []string{"http://h.example:8080/p"}},
		{"https://[::1]:443/p", []string{"https://[::1]:443/p", "https://[::1]/p"}},
	}
	for _, tt := range tests {
		got := portVariants(tt.in)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("portVariants(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mustSignBody(t *testing.T, token, target string, body []byte) string {
	t.Helper()
	sig, err := SignBody(token, target, body)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestAcknowledgementIsEmptyTwiML(t *testing.T) {
	a, err := New(Config{AccountSID: "AC" + strings.Repeat("0", 32), AuthToken: "t", From: "+15550100"})
	if err != nil {
		t.Fatal(err)
	}
	var ack platform.Acknowledger = a
	ct, body := ack.Acknowledgement()
	if !strings.HasPrefix(ct, "text/xml") || !strings.Contains(string(body), "<Response></Response>") {
		t.Fatalf("acknowledgement %q %q", ct, body)
	}
}
