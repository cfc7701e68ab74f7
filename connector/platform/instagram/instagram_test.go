package instagram

import (
	"fmt"
	"github.com/chatsync/sfconnector/connector/platform"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func newTestAdapter(t testing.TB, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return platformtest.Build(t, New, testConfig(), mutate...)
}

const (
	testPageID    = "106540352242922"
	testAccountID = "17841405822304914"
	testIGSID     = "1175734150341458"
	// The secrets are the Meta products' test secrets.
	testAppSecret, testVerifyToken, testAccessToken = metatest.AppSecret, metatest.VerifyToken, metatest.AccessToken
)

func testConfig() Config {
	return Config{PageID: testPageID, AccountID: testAccountID, AppSecret: testAppSecret, VerifyToken: testVerifyToken,
		AccessToken: testAccessToken}
}

func TestConfigValidate(t *testing.T) {
	cases := metatest.ConfigCases[Config]("PageID", "page_id")
	cases = append(cases, []platformtest.ConfigCase[Config]{
		{Name: "no account id: every entry read", Mutate: func(c *Config) { c.AccountID = "" }},
		{Name: "account id as a user name", Mutate: func(c *Config) { c.AccountID = "@shop" }, Want: "account_id"},
	}...)
	platformtest.CheckValidate(t, testConfig, New, ErrInvalidConfig, cases, testAppSecret, testVerifyToken, testAccessToken)
}

func TestStringsHideSecrets(t *testing.T) {
	platformtest.CheckRedacted(t, []string{"%v", "%+v", "%#v", "%s"}, []any{testConfig(), newTestAdapter(t)},
		[]string{testAppSecret, fmt.Sprint([]byte(testAppSecret)), testVerifyToken, testAccessToken}, testPageID, testAccountID)
}

func TestNewDefaults(t *testing.T) {
	a := newTestAdapter(t)
	metatest.CheckNew(t, a, a.Channel, DefaultGraphURL, "instagram", platform.Capabilities{Handshake: true, Send: true, NativeBlock: true, Media: true})
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
	body := []byte(vectorBody)
	platformtest.CheckVerify(t, newTestAdapter(t), []platformtest.SignatureCase{
		{Name: "known vector", Header: []string{SignatureHeader, "sha256=" + vectorHex}, Body: body, Want: ""},
		{Name: "missing", Header: nil, Body: body, Want: "missing X-Hub-Signature-256"},
		{Name: "no prefix", Header: []string{SignatureHeader, vectorHex}, Body: body, Want: "does not start with"},
		{Name: "too short", Header: []string{SignatureHeader, "sha256=" + vectorHex[:60]}, Body: body, Want: "hex digits"},
		{Name: "other key", Header: []string{SignatureHeader, Sign("another-secret", body)}, Body: body, Want: "does not match"},
		{Name: "altered body", Header: []string{SignatureHeader, "sha256=" + vectorHex}, Body: []byte(`{"object":"instagram","entry":[{}]}`), Want: "does not match"},
	}, testAppSecret, vectorHex)
}

func TestHandshake(t *testing.T) {
	metatest.CheckHandshake(t, newTestAdapter(t), testVerifyToken, "2087396311")
}
