package instagram

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "instagram"
	// DefaultGraphURL is the Graph API base used when Config.GraphURL is empty.
	DefaultGraphURL = meta.DefaultGraphURL
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(app secret, body)>".
	SignatureHeader = meta.SignatureHeader
	// Object is the value of "object" in every Instagram webhook delivery.
	Object = "instagram"
)

var (
	// ErrInvalidConfig is wrapped by Config.Validate and New when the
	// configuration is incomplete or wrong.
	ErrInvalidConfig = errors.New("invalid instagram configuration")
	// ErrNoAccessToken is wrapped by Send, Block and Unblock on a channel
	// configured without a Page access token. It is permanent (not
	// transient) until the configuration changes.
	ErrNoAccessToken = meta.ErrNoAccessToken
	// ErrTransient is wrapped by Send, Block and Unblock errors worth
	// retrying later: rate limits, Graph API server errors and network
	// failures. Permanent refusals wrap platform.ErrSendRejected instead.
	ErrTransient = meta.ErrTransient
	// ErrUserBlocked is wrapped by a send refused because the user blocked
	// the account or can not be reached (error 551). It wraps
	// platform.ErrSendRejected.
	ErrUserBlocked = meta.ErrUserBlocked
)

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. See meta.GraphError.
type GraphError = meta.GraphError

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return meta.IsTransient(err) }

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
}

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error { return product.Validate(c.channel()) }

// channel is the configuration of the account's meta.Channel: Graph API
// calls name the Page, webhook entries the Instagram account.
func (c Config) channel() meta.ChannelConfig {
	return meta.ChannelConfig{ID: c.PageID, AccountID: c.AccountID, AppSecret: c.AppSecret, VerifyToken: c.VerifyToken,
		AccessToken: c.AccessToken, GraphURL: c.GraphURL, HTTPClient: c.HTTPClient}
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("instagram.Config{PageID: %q, AccountID: %q, GraphURL: %q, secrets redacted}", c.PageID, c.AccountID, c.GraphURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the Instagram Messaging adapter for one Instagram
// professional account: a meta.Channel of the Instagram product. It
// implements platform.Adapter, platform.AccountScoped (the account id, or
// "" when the channel reads every account's entries),
// platform.Handshaker, platform.Sender and platform.Blocker and is safe for
// concurrent use.
type Adapter struct {
	*meta.Channel
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
	ch, err := meta.NewChannel(product, cfg.channel())
	if err != nil {
		return nil, err
	}
	return &Adapter{Channel: ch}, nil
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string { return meta.Sign(appSecret, body) }
