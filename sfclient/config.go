package sfclient

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// OAuth 2.0 flows the client can get tokens with.
const (
	// FlowJWTBearer is the OAuth 2.0 JWT bearer flow: a JWT signed with the
	// connected app's private key, issued by its consumer key for the
	// integration user.
	FlowJWTBearer = "jwt_bearer"
	// FlowClientCredentials is the OAuth 2.0 client credentials flow: the
	// connected app's consumer key and secret, run as the app's integration
	// user.
	FlowClientCredentials = "client_credentials"
)

// Defaults applied to zero Config fields.
const (
	DefaultLoginURL       = "https://login.salesforce.com"
	DefaultAPIVersion     = "62.0"
	DefaultRequestTimeout = 30 * time.Second
	DefaultRetryMax       = 2
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 5 * time.Second
)

// Config configures a Client for one Salesforce org. Secrets (ClientSecret,
// PrivateKeyPEM) are never logged nor put in an error message.
type Config struct {
	// OrgID is the org's id, 15 or 18 characters starting "00D". Tokens
	// whose identity URL names another org are refused with ErrWrongOrg
	// (the first 15 characters are compared, case-sensitively).
	OrgID string
	// LoginURL is where tokens come from: https://login.salesforce.com
	// (default), https://test.salesforce.com for a sandbox, or the org's My
	// Domain URL. The token endpoint is LoginURL + "/services/oauth2/token",
	// and for the JWT bearer flow LoginURL is the assertion's audience.
	LoginURL string
	// APIVersion is the REST API version, such as "62.0" (default). A
	// leading "v" is accepted.
	APIVersion string
	// Flow is FlowJWTBearer or FlowClientCredentials.
	Flow string
	// ClientID is the connected app's consumer key.
	ClientID string
	// ClientSecret is the consumer secret, for FlowClientCredentials.
	ClientSecret string
	// Username is the integration user, the JWT's subject, for
	// FlowJWTBearer.
	Username string
	// PrivateKeyPEM is the RSA private key (PKCS#1 or PKCS#8 PEM) matching
	// the connected app's certificate, for FlowJWTBearer.
	PrivateKeyPEM []byte
	// RequestTimeout bounds one HTTP attempt (a call may make RetryMax+1
	// attempts, and a token request before them). Default 30s.
	RequestTimeout time.Duration
	// RetryMax is how many times an attempt that failed with a connection
	// error, a timeout, 429 or a 5xx status is retried. Zero means
	// DefaultRetryMax; a negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential wait between
	// retries (a Retry-After header is honoured up to RetryWaitMax).
	// Defaults 500ms and 5s.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// Logger receives the client's log lines (the retry layer's at debug
	// level). The zero Logger logs nothing.
	Logger zerolog.Logger
	// HTTPClient, when set, is the base HTTP client: its Transport,
	// CheckRedirect and Jar are used (its Timeout is replaced by
	// RequestTimeout). Tests pass httptest's client here. Default: a client
	// with a clone of http.DefaultTransport.
	HTTPClient *http.Client
}

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid Salesforce client configuration")

var (
	orgIDPattern      = regexp.MustCompile(`^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)
	apiVersionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]$`)
)

// configError names the bad field.
func configError(field, problem string) error {
	return fmt.Errorf("sfclient: %w: %s: %s", ErrInvalidConfig, field, problem)
}

// Validate reports the first problem with the configuration, naming the
// field. It checks the configuration as New would use it, defaults
// applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if !orgIDPattern.MatchString(c.OrgID) {
		return configError("OrgID", "want 15 or 18 alphanumeric characters starting with 00D")
	}
	u, err := url.Parse(c.LoginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return configError("LoginURL", "want an absolute http(s) URL such as https://login.salesforce.com")
	}
	if !apiVersionPattern.MatchString(c.APIVersion) {
		return configError("APIVersion", `want a version such as "62.0"`)
	}
	if c.ClientID == "" {
		return configError("ClientID", "required")
	}
	switch c.Flow {
	case FlowClientCredentials:
		if c.ClientSecret == "" {
			return configError("ClientSecret", "required for the client_credentials flow")
		}
	case FlowJWTBearer:
		if c.Username == "" {
			return configError("Username", "required for the jwt_bearer flow")
		}
		if len(c.PrivateKeyPEM) == 0 {
			return configError("PrivateKeyPEM", "required for the jwt_bearer flow")
		}
		if err := checkPrivateKey(c.PrivateKeyPEM); err != nil {
			return configError("PrivateKeyPEM", err.Error())
		}
	case "":
		return configError("Flow", `required: "jwt_bearer" or "client_credentials"`)
	default:
		return configError("Flow", fmt.Sprintf(`unknown flow %q: want "jwt_bearer" or "client_credentials"`, c.Flow))
	}
	if c.RequestTimeout < 0 {
		return configError("RequestTimeout", "must not be negative")
	}
	if c.RetryWaitMin < 0 || c.RetryWaitMax < 0 {
		return configError("RetryWaitMin", "retry waits must not be negative")
	}
	if c.RetryWaitMin > c.RetryWaitMax {
		return configError("RetryWaitMin", "must not exceed RetryWaitMax")
	}
	return nil
}

// withDefaults returns c with every zero field given its default and the
// URL and version normalised.
func (c Config) withDefaults() Config {
	if c.LoginURL == "" {
		c.LoginURL = DefaultLoginURL
	}
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	c.APIVersion = strings.TrimPrefix(c.APIVersion, "v")
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	switch {
	case c.RetryMax == 0:
		c.RetryMax = DefaultRetryMax
	case c.RetryMax < 0:
		c.RetryMax = 0
	}
	if c.RetryWaitMin == 0 {
		c.RetryWaitMin = DefaultRetryWaitMin
	}
	if c.RetryWaitMax == 0 {
		c.RetryWaitMax = max(DefaultRetryWaitMax, c.RetryWaitMin)
	}
	return c
}

// checkPrivateKey checks that pemBytes hold an RSA private key, the way
// golang.org/x/oauth2/jwt will read it. Its errors never quote the key.
func checkPrivateKey(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return errors.New("the PKCS#8 key is not an RSA key")
		}
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		return errors.New("not a PKCS#1 or PKCS#8 RSA private key")
	}
	return nil
}
