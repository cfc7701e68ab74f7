package line

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "line"
	// DefaultAPIURL is the Messaging API base used when Config.APIURL is
	// empty.
	DefaultAPIURL = "https://api.line.me"
	// DefaultDataAPIURL is the base of the content endpoints used when
	// neither Config.DataAPIURL nor Config.APIURL is set.
	DefaultDataAPIURL = "https://api-data.line.me"
	// SignatureHeader carries base64(HMAC-SHA256(channel secret, raw body)).
	SignatureHeader = "X-Line-Signature"
)

var (
	// ErrInvalidConfig is wrapped by Config.Validate and New when the
	// configuration is incomplete or wrong.
	ErrInvalidConfig = errors.New("invalid line configuration")
	// ErrNoAccessToken is wrapped by Send on a channel configured without a
	// channel access token. It is permanent (not transient) until the
	// configuration changes.
	ErrNoAccessToken = errors.New("no channel access token configured for the LINE channel")
)

// Config is one LINE Messaging API channel with its secrets.
type Config struct {
	// ChannelSecret signs webhook deliveries (X-Line-Signature).
	ChannelSecret string
	// ChannelAccessToken authorises Messaging API calls. Optional: without
	// it the channel only receives, and Send fails with ErrNoAccessToken.
	ChannelAccessToken string
	// APIURL is the Messaging API base, without the /v2 path. Default
	// DefaultAPIURL.
	APIURL string
	// DataAPIURL is the base of the Messaging API's content endpoints (the
	// media users send), without the /v2 path. Default: APIURL when that is
	// set (a proxy or a stand-in serving both), else DefaultDataAPIURL.
	DataAPIURL string
	// HTTPClient makes Messaging API calls. Default: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets media downloads from URLs a delivery
	// gives reach hosts that are not public (loopback, private networks):
	// for tests and stand-ins. Default false: see
	// platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error {
	if c.ChannelSecret == "" {
		return fmt.Errorf("%w: channel_secret is required", ErrInvalidConfig)
	}
	if strings.ContainsAny(c.ChannelAccessToken, " \t\r\n") {
		return fmt.Errorf("%w: channel_access_token contains white space (a copy-and-paste mistake?)", ErrInvalidConfig)
	}
	for _, u := range []struct{ key, value string }{{"api_url", c.APIURL}, {"data_api_url", c.DataAPIURL}} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
			return fmt.Errorf("%w: %s %q is not an absolute http(s) URL without query", ErrInvalidConfig, u.key, u.value)
		}
	}
	return nil
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("line.Config{APIURL: %q, DataAPIURL: %q, AccessToken: %t, secrets redacted}", c.APIURL, c.DataAPIURL, c.ChannelAccessToken != "")
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the LINE Messaging API adapter for one channel. It implements
// platform.Adapter and platform.Sender (LINE has no verification handshake
// and no block API) and is safe for concurrent use.
type Adapter struct {
	channelSecret []byte
	accessToken   string
	apiURL        string
	dataURL       string
	api           *papi.Client
	publicMedia   bool // external content downloads reach public addresses only
}

// Compile-time checks of the interfaces Adapter implements.
var (
	_ platform.Adapter      = (*Adapter)(nil)
	_ platform.Sender       = (*Adapter)(nil)
	_ platform.MediaFetcher = (*Adapter)(nil)
	_ platform.ReceiveOnly  = (*Adapter)(nil)
)

// MissingCredential says "no channel access token configured" for a
// channel that receives only: it sends nothing (its downloads of LINE's
// content fail for want of the token; external content needs none).
func (a *Adapter) MissingCredential() string {
	if a.accessToken == "" {
		return "no channel access token configured"
	}
	return ""
}

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dataURL := cfg.DataAPIURL
	switch {
	case dataURL != "":
	case cfg.APIURL != "":
		dataURL = cfg.APIURL
	default:
		dataURL = DefaultDataAPIURL
	}
	return &Adapter{
		channelSecret: []byte(cfg.ChannelSecret),
		accessToken:   cfg.ChannelAccessToken,
		apiURL:        papi.BaseURL(cfg.APIURL, DefaultAPIURL),
		dataURL:       strings.TrimRight(dataURL, "/"),
		api:           papi.New(papi.Config{HTTPClient: cfg.HTTPClient, Transient: ErrTransient}),
		publicMedia:   !cfg.AllowPrivateMediaAddresses,
	}, nil
}

// Platform returns "line".
func (a *Adapter) Platform() string { return PlatformName }

// Verify checks X-Line-Signature against the HMAC-SHA256 of body keyed with
// the channel secret, in constant time. A missing, ill-formed or wrong
// signature is an error wrapping platform.ErrBadSignature that says which.
//
// LINE's "Verify" button in the console posts a signed delivery with an
// empty events list: it passes here like any other delivery.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	var header string
	if r != nil {
		header = r.Header.Get(SignatureHeader)
	}
	if header == "" {
		return fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not the base64 of a %d-byte HMAC-SHA256", platform.ErrBadSignature, SignatureHeader, sha256.Size)
	}
	mac := hmac.New(sha256.New, a.channelSecret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", platform.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// Sign returns the X-Line-Signature value LINE would send for body:
// base64(HMAC-SHA256(channelSecret, body)). For tests, the demo traffic
// generator and anyone replaying deliveries.
func Sign(channelSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(channelSecret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
