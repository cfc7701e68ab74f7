package messenger

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	testPageID = "682498302938465"
	testPSID   = "1254477777772919"
)

// The secrets are the Meta products' test secrets.
const testAppSecret, testVerifyToken, testAccessToken = metatest.AppSecret, metatest.VerifyToken, metatest.AccessToken

func testConfig() Config {
	return Config{PageID: testPageID, AppSecret: testAppSecret, VerifyToken: testVerifyToken, AccessToken: testAccessToken}
}

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

func TestConfigValidate(t *testing.T) {
	cases := metatest.ConfigCases[Config]("PageID", "page_id")
	cases = append(cases, []platformtest.ConfigCase[Config]{
		{Name: "page id as a name", Mutate: func(c *Config) { c.PageID = "mypage" }, Want: "not a numeric Page id"},
	}...)
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testAppSecret, testVerifyToken, testAccessToken)
}

func TestConfigStringHidesSecrets(t *testing.T) {
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{testConfig()},
		[]string{testAppSecret, testVerifyToken, testAccessToken}, testPageID)
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v"}, []any{newTestAdapter(t)},
		[]string{testAppSecret, fmt.Sprint([]byte(testAppSecret)), testVerifyToken, testAccessToken})
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	metatest.CheckNew(t, a, a.Channel, DefaultGraphURL, "messenger", platform.Capabilities{Handshake: true, Send: true, NativeBlock: true, Media: true})
	b := newTestAdapter(t, func(c *Config) { c.GraphURL = "https://example.test/v22.0/" })
	if b.Graph.BaseURL != "https://example.test/v22.0" {
		t.Errorf("graph URL = %q, want the trailing slash trimmed", b.Graph.BaseURL)
	}
}

// The known vector was computed independently with
//
//	printf '%s' '{"object":"page","entry":[]}' | openssl dgst -sha256 -hmac 'test-app-secret'
const (
	vectorBody = `{"object":"page","entry":[]}`
	vectorHex  = "1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"
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
	platformtest.CheckVerify(t, a, []platformtest.SignatureCase{
		{Name: "known vector", Header: []string{SignatureHeader, "sha256=" + vectorHex}, Body: body, Want: ""},
		{Name: "header name case", Header: []string{"x-hub-signature-256", "sha256=" + vectorHex}, Body: body, Want: ""},
		{Name: "missing", Header: nil, Body: body, Want: "missing X-Hub-Signature-256"},
		{Name: "legacy sha1 header only", Header: []string{"X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"}, Body: body, Want: "missing X-Hub-Signature-256"},
		{Name: "no prefix", Header: []string{SignatureHeader, vectorHex}, Body: body, Want: "does not start with"},
		{Name: "not hex", Header: []string{SignatureHeader, "sha256=" + strings.Repeat("zz", 32)}, Body: body, Want: "hex digits"},
		{Name: "other key", Header: []string{SignatureHeader, Sign("another-secret", body)}, Body: body, Want: "does not match"},
		{Name: "altered body", Header: []string{SignatureHeader, "sha256=" + vectorHex}, Body: []byte(vectorBody + " "), Want: "does not match"},
	}, testAppSecret, vectorHex)
	if err := a.Verify(nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("Verify(nil request) = %v, want ErrBadSignature", err)
	}
}

func TestHandshake(t *testing.T) {
	metatest.CheckHandshake(t, newTestAdapter(t), testVerifyToken, "1158201444")
}
