package messenger

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// PlatformName is what Adapter.Platform returns; Object is the value of
// "object" in every Messenger webhook delivery.
const PlatformName, Object = "messenger", "page"

// Config is one Facebook Page with its secrets.
type Config struct {
	// PageID is the Facebook Page's id: in Graph API paths and as the
	// entry id of its webhook deliveries.
	PageID string
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

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("messenger.Config{PageID: %q, GraphURL: %q, secrets redacted}", c.PageID, c.GraphURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error { return product.Validate(c.channel()) }

// channel is the configuration of the Page's meta.Channel: the Page is
// both the Graph API's id and the webhook entries' account.
func (c Config) channel() meta.ChannelConfig {
	return meta.ChannelConfig{ID: c.PageID, AccountID: c.PageID, AppSecret: c.AppSecret, VerifyToken: c.VerifyToken,
		AccessToken: c.AccessToken, GraphURL: c.GraphURL, HTTPClient: c.HTTPClient,
		AllowPrivateMediaAddresses: c.AllowPrivateMediaAddresses}
}

// Adapter is the Messenger adapter for one Facebook Page: a meta.Channel
// of the Messenger product. It implements platform.Adapter,
// platform.AccountScoped (the Page id), platform.Handshaker,
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

// DefaultGraphURL is the Graph API base used when Config.GraphURL is
// empty; SignatureHeader carries "sha256=<hex HMAC-SHA256(app secret,
// body)>".
const DefaultGraphURL, SignatureHeader = meta.DefaultGraphURL, meta.SignatureHeader

// ErrInvalidConfig is wrapped by Config.Validate and New when the
// configuration is incomplete or wrong.
var ErrInvalidConfig = errors.New("invalid messenger configuration")

// The errors of Send, Block and Unblock (see meta): ErrNoAccessToken on a
// channel configured without a Page access token (permanent until the
// configuration changes); ErrTransient for failures worth retrying later
// (rate limits, Graph API server errors, network failures; permanent
// refusals wrap platform.ErrSendRejected instead); ErrUserBlocked for a
// send refused because the user blocked the Page or can not be reached
// (error 551, subcode 1545041), which wraps platform.ErrSendRejected.
var ErrNoAccessToken, ErrTransient, ErrUserBlocked = meta.ErrNoAccessToken, meta.ErrTransient, meta.ErrUserBlocked

// GraphError is an error answered by the Graph API: a refused send, block
// or unblock. See meta.GraphError.
type GraphError = meta.GraphError

// IsTransient reports whether err is a failure worth retrying (it wraps
// ErrTransient).
func IsTransient(err error) bool { return meta.IsTransient(err) }
