package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/chatsync/sfconnector/statemachine"
)

// testKeys holds keys generated once for the whole test binary.
var testKeys struct {
	once       sync.Once
	rsa        *rsa.PrivateKey
	pkcs1, pk8 string
	ecPKCS8    string
}

func keys(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	testKeys.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKeys.rsa = k
		testKeys.pkcs1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		testKeys.pk8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
		if err != nil {
			panic(err)
		}
		testKeys.ecPKCS8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	})
	return testKeys.rsa
}

func pkcs1PEM(t *testing.T) string { keys(t); return testKeys.pkcs1 }
func pkcs8PEM(t *testing.T) string { keys(t); return testKeys.pk8 }
func ecPEM(t *testing.T) string    { keys(t); return testKeys.ecPKCS8 }

// validConfig returns a configuration that passes Validate after
// ApplyDefaults: one client_credentials tenant with a WhatsApp and a web
// chat channel, and one jwt_bearer tenant.
func validConfig(t *testing.T) *Config {
	t.Helper()
	c := &Config{
		Tenants: []Tenant{
			{
				ID: "acme",
				Salesforce: Salesforce{
					OrgID:    "00D5g00000ABCDEEAU",
					LoginURL: "https://acme.my.salesforce.com",
					Auth: Auth{
						Flow:         FlowClientCredentials,
						ClientID:     "client-id",
						ClientSecret: NewSecret("client-secret-value"),
					},
				},
				Channels: []Channel{
					{
						ID:       "wa",
						Platform: PlatformWhatsApp,
						Bot:      true,
						WhatsApp: &WhatsApp{
							PhoneNumberID: "1234567890",
							AppSecret:     NewSecret("app-secret-value"),
							VerifyToken:   NewSecret("verify-token-value"),
							AccessToken:   NewSecret("access-token-value"),
						},
					},
					{
						ID:       "web",
						Platform: PlatformWebChat,
						WebChat:  &WebChat{Secret: NewSecret("webchat-secret-value")},
					},
				},
			},
			{
				ID: "globex_2",
				Salesforce: Salesforce{
					OrgID:          "00D000000000042",
					ExcludedStates: []statemachine.State{statemachine.AutoBot, statemachine.Blocked},
					Auth: Auth{
						Flow:       FlowJWTBearer,
						ClientID:   "client-id-2",
						Username:   "integration@globex.example",
						PrivateKey: NewSecret(pkcs1PEM(t)),
					},
				},
			},
		},
	}
	c.ApplyDefaults()
	return c
}

// fieldErrors returns the FieldErrors err holds.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// envMap is an env lookup backed by a map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
