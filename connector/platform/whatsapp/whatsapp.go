package whatsapp

import (
	"errors"
	"fmt"
	"net/http"

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
)

var (
	// ErrInvalidConfig is wrapped by Config.Validate and New when the
	// configuration is incomplete or wrong.
	ErrInvalidConfig = errors.New("invalid whatsapp configuration")
	// ErrNoAccessToken is wrapped by Send, Block and Unblock on a channel
	// configured without an access token. It is permanent (not transient)
	// until the configuration changes.
	ErrNoAccessToken = meta.ErrNoAccessToken
)

// Adapter is the WhatsApp Cloud API adapter for one phone number: a
// meta.Channel of the WhatsApp product. It implements platform.Adapter,
// platform.AccountScoped (the phone number id), platform.Handshaker,
// platform.Sender and platform.Blocker and is safe for concurrent use.
type Adapter struct{ *meta.Channel }

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	return meta.NewAdapter(product, cfg.channel(), func(ch *meta.Channel) *Adapter { return &Adapter{ch} })
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string { return meta.Sign(appSecret, body) }

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
func (c Config) Validate() error { return product.Validate(c.channel()) }

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("whatsapp.Config{PhoneNumberID: %q, GraphURL: %q, secrets redacted}", c.PhoneNumberID, c.GraphURL)
}

// channel is the configuration of the phone number's meta.Channel.
func (c Config) channel() meta.ChannelConfig {
	return meta.ChannelConfig{ID: c.PhoneNumberID, AccountID: c.PhoneNumberID, AppSecret: c.AppSecret, VerifyToken: c.VerifyToken,
		AccessToken: c.AccessToken, GraphURL: c.GraphURL, HTTPClient: c.HTTPClient}
}
