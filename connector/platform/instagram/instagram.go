package instagram

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// Names and errors Instagram shares with the other Meta products.
const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "instagram"
	// Object is the value of "object" in every Instagram webhook delivery.
	Object = PlatformName
	// DefaultGraphURL is the Graph API base used when Config.GraphURL is empty.
	DefaultGraphURL = meta.DefaultGraphURL
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(app secret, body)>".
	SignatureHeader = meta.SignatureHeader
)

// ErrInvalidConfig is wrapped by Config.Validate and New when the
// configuration is incomplete or wrong.
var ErrInvalidConfig = errors.New("invalid instagram configuration")

// Adapter is the Instagram Messaging adapter for one Instagram professional
// account: a meta.Channel of the Instagram product. It implements
// platform.Adapter, platform.AccountScoped (the account id, or "" when the
// channel reads every account's entries), platform.Handshaker,
// platform.Sender and platform.Blocker and is safe for concurrent use.
type Adapter struct{ *meta.Channel }

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	return meta.NewAdapter(product, cfg.channel(), func(ch *meta.Channel) *Adapter { return &Adapter{ch} })
}

// Config is one Instagram professional account, reached through the
// Facebook Page it is linked to, with its secrets.
type Config struct {
	// PageID is the id of the Facebook Page linked to the Instagram
	// account: Graph API calls go to /{PageID}/messages and
	// /{PageID}/moderate_conversations.
	PageID string
	// AccountID is the Instagram professional account's id (IGID), the
	// entry id of its webhook deliveries. Optional: when set, entries for
	// other accounts (one Meta app can serve several) become KindIgnored
	// events; when empty, every entry is read.
	AccountID string
	// AppSecret is the Meta app secret that signs webhook deliveries.
	AppSecret string
	// VerifyToken is the token configured with the webhook, answered in the
	// GET handshake.
	VerifyToken string
	// AccessToken is the Page access token for Graph API calls. Optional:
	// without it the channel only receives, and Send, Block and Unblock
	// fail with ErrNoAccessToken.
	AccessToken string
	// GraphURL is the Graph API base, version included. Default
	// DefaultGraphURL.
	GraphURL string
	// HTTPClient makes Graph API calls. Default: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets attachment downloads reach hosts
	// that are not public (loopback, private networks): for tests and
	// stand-ins. Default false: see platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

// channel is the configuration of the account's meta.Channel: Graph API
// calls name the Page, webhook entries the Instagram account.
func (c Config) channel() meta.ChannelConfig {
	return meta.ChannelConfig{ID: c.PageID, AccountID: c.AccountID, AppSecret: c.AppSecret, VerifyToken: c.VerifyToken,
		AccessToken: c.AccessToken, GraphURL: c.GraphURL, HTTPClient: c.HTTPClient,
		AllowPrivateMediaAddresses: c.AllowPrivateMediaAddresses}
}

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error { return product.Validate(c.channel()) }

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("instagram.Config{PageID: %q, AccountID: %q, GraphURL: %q, secrets redacted}", c.PageID, c.AccountID, c.GraphURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string { return meta.Sign(appSecret, body) }
