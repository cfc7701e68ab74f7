package whatsapp

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "whatsapp"
	// DefaultGraphURL is the Graph API base used when Config.GraphURL is empty.
	DefaultGraphURL = "https://graph.facebook.com/v21.0"
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(app secret, body)>".
	SignatureHeader = meta.SignatureHeader
	// Object is the value of "object" in every Cloud API webhook delivery.
	Object = "whatsapp_business_account"

	// defaultHTTPTimeout bounds one Graph API call when Config.HTTPClient is
	// nil.
	defaultHTTPTimeout = 30 * time.Second
)

var (
	// ErrInvalidConfig is wrapped by Config.Validate and New when the
	// configuration is incomplete or wrong.
	ErrInvalidConfig = errors.New("invalid whatsapp configuration")
	// ErrNoAccessToken is wrapped by Send, Block and Unblock on a channel
	// configured without an access token. It is permanent (not transient)
	// until the configuration changes.
	ErrNoAccessToken = errors.New("no access token configured for the WhatsApp channel")
)

// Config is one WhatsApp Cloud API phone number with its secrets.
type Config struct {
	// PhoneNumberID is the business phone number id (in Graph API paths and
	// in webhook metadata).
	PhoneNumberID string
	// AppSecret is the Meta app secret that signs webhook deliveries.
	AppSecret string
	// VerifyToken is the token configured with the webhook, answered in the
	// GET handshake.
	VerifyToken string
	// AccessToken is the system-user or business token for Graph API calls.
	// Optional: without it the channel only receives, and Send, Block and
	// Unblock fail with ErrNoAccessToken.
	AccessToken string
	// GraphURL is the Graph API base, version included. Default
	// DefaultGraphURL.
	GraphURL string
	// HTTPClient makes Graph API calls. Default: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.PhoneNumberID) == "":
		return fmt.Errorf("%w: phone_number_id is required", ErrInvalidConfig)
	case strings.ContainsAny(c.PhoneNumberID, "/?#% \t\r\n"):
		return fmt.Errorf("%w: phone_number_id %q has characters a phone number id never has", ErrInvalidConfig, c.PhoneNumberID)
	case c.AppSecret == "":
		return fmt.Errorf("%w: app_secret is required", ErrInvalidConfig)
	case c.VerifyToken == "":
		return fmt.Errorf("%w: verify_token is required", ErrInvalidConfig)
	}
	if c.GraphURL != "" {
		u, err := url.Parse(c.GraphURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: graph_url %q is not an absolute http(s) URL", ErrInvalidConfig, c.GraphURL)
		}
	}
	return nil
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("whatsapp.Config{PhoneNumberID: %q, GraphURL: %q, secrets redacted}", c.PhoneNumberID, c.GraphURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the WhatsApp Cloud API adapter for one phone number. It
// implements platform.Adapter, platform.Handshaker, platform.Sender and
// platform.Blocker and is safe for concurrent use.
type Adapter struct {
	phoneNumberID string
	appSecret     []byte
	verifyToken   meta.VerifyToken
	accessToken   string
	graphURL      string
	client        *http.Client
}

// Compile-time checks of the interfaces Adapter implements.
var (
	_ platform.Adapter    = (*Adapter)(nil)
	_ platform.Handshaker = (*Adapter)(nil)
	_ platform.Sender     = (*Adapter)(nil)
	_ platform.Blocker    = (*Adapter)(nil)
)

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	graphURL := cfg.GraphURL
	if graphURL == "" {
		graphURL = DefaultGraphURL
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return &Adapter{
		phoneNumberID: cfg.PhoneNumberID,
		appSecret:     []byte(cfg.AppSecret),
		verifyToken:   meta.NewVerifyToken(cfg.VerifyToken),
		accessToken:   cfg.AccessToken,
		graphURL:      strings.TrimRight(graphURL, "/"),
		client:        client,
	}, nil
}

// Platform returns "whatsapp".
func (a *Adapter) Platform() string { return PlatformName }

// Account is the channel's phone number id (platform.AccountScoped): a delivery
// for several accounts of one Meta app is read by each account's channel.
func (a *Adapter) Account() string { return a.phoneNumberID }

// Verify checks X-Hub-Signature-256 against the HMAC-SHA256 of body keyed
// with the app secret, in constant time (meta.VerifyRequest). A missing,
// ill-formed or wrong signature is an error wrapping
// platform.ErrBadSignature that says which.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	return meta.VerifyRequest(a.appSecret, r, body)
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string { return meta.Sign(appSecret, body) }

// Handshake answers Meta's verification GET: with hub.mode=subscribe and a
// hub.verify_token equal to the configured token (compared in constant
// time) it returns hub.challenge as the body to write; otherwise an error
// wrapping platform.ErrHandshake that never repeats the token.
func (a *Adapter) Handshake(r *http.Request) ([]byte, error) { return a.verifyToken.Answer(r) }
