package viber

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "viber"
	// DefaultAPIURL is the REST bot API base used when Config.APIURL is
	// empty.
	DefaultAPIURL = "https://chatapi.viber.com"
	// SignatureHeader carries hex(HMAC-SHA256(auth token, raw body)).
	SignatureHeader = "X-Viber-Content-Signature"
	// AuthTokenHeader authenticates calls to the REST bot API.
	AuthTokenHeader = "X-Viber-Auth-Token"

	// maxSenderName is the longest sender name Viber accepts.
	maxSenderName = 28
)

// ErrInvalidConfig is wrapped by Config.Validate and New when the
// configuration is incomplete or wrong.
var ErrInvalidConfig = errors.New("invalid viber configuration")

// Config is one Viber bot with its secret.
type Config struct {
	// AuthToken is the bot's authentication token ("app key"): it signs
	// the callbacks and authenticates API calls.
	AuthToken string
	// SenderName is the name shown on the bot's messages (sender.name, at
	// most 28 characters), required by send_message.
	SenderName string
	// SenderAvatar is the URL of the avatar shown on the bot's messages.
	// Optional.
	SenderAvatar string
	// APIURL is the REST bot API base. Default DefaultAPIURL.
	APIURL string
	// HTTPClient makes API calls. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets media downloads from URLs a delivery
	// gives reach hosts that are not public (loopback, private networks):
	// for tests and stand-ins. Default false: see
	// platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

// Validate reports the first missing or wrong setting, naming it and never
// showing the token. It wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.AuthToken == "":
		return fmt.Errorf("%w: auth_token is required", ErrInvalidConfig)
	case strings.TrimSpace(c.SenderName) == "":
		return fmt.Errorf("%w: sender_name is required (Viber shows it on every message sent)", ErrInvalidConfig)
	case utf8.RuneCountInString(c.SenderName) > maxSenderName:
		return fmt.Errorf("%w: sender_name %q is longer than %d characters", ErrInvalidConfig, c.SenderName, maxSenderName)
	}
	for name, value := range map[string]string{"sender_avatar": c.SenderAvatar, "api_url": c.APIURL} {
		if value == "" {
			continue
		}
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: %s %q is not an absolute http(s) URL", ErrInvalidConfig, name, value)
		}
	}
	return nil
}

// String describes the configuration without its token, so that a Config
// printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("viber.Config{SenderName: %q, APIURL: %q, auth token redacted}", c.SenderName, c.APIURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the Viber REST bot API adapter for one bot. It implements
// platform.Adapter and platform.Sender (Viber has no handshake and no block
// API) and is safe for concurrent use.
type Adapter struct {
	authToken    string
	senderName   string
	senderAvatar string
	apiURL       string
	api          *papi.Client
	publicMedia  bool // downloads reach public addresses only
}

// Compile-time checks of the interfaces Adapter implements.
var (
	_ platform.Adapter      = (*Adapter)(nil)
	_ platform.Sender       = (*Adapter)(nil)
	_ platform.MediaFetcher = (*Adapter)(nil)
)

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{
		authToken:    cfg.AuthToken,
		senderName:   cfg.SenderName,
		senderAvatar: cfg.SenderAvatar,
		apiURL:       papi.BaseURL(cfg.APIURL, DefaultAPIURL),
		api:          papi.New(papi.Config{HTTPClient: cfg.HTTPClient, Transient: ErrTransient}),
		publicMedia:  !cfg.AllowPrivateMediaAddresses,
	}, nil
}

// Platform returns "viber".
func (a *Adapter) Platform() string { return PlatformName }

// Verify checks X-Viber-Content-Signature against the hex HMAC-SHA256 of
// body keyed with the auth token, in constant time. A missing, ill-formed
// or wrong signature is an error wrapping platform.ErrBadSignature that
// says which, never the expected value.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	var header string
	if r != nil {
		header = r.Header.Get(SignatureHeader)
	}
	if header == "" {
		return fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SignatureHeader)
	}
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not %d hex digits", platform.ErrBadSignature, SignatureHeader, 2*sha256.Size)
	}
	mac := hmac.New(sha256.New, []byte(a.authToken))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", platform.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// Sign returns the X-Viber-Content-Signature value Viber would send for
// body: hex(HMAC-SHA256(authToken, body)). For tests, the demo traffic
// generator and anyone replaying callbacks.
func Sign(authToken string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(authToken))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
