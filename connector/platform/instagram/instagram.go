package instagram

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

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

	// defaultHTTPTimeout bounds one Graph API call when Config.HTTPClient is
	// nil.
	defaultHTTPTimeout = 30 * time.Second
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
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.PageID) == "":
		return fmt.Errorf("%w: page_id is required", ErrInvalidConfig)
	case !meta.IsNumericID(c.PageID):
		return fmt.Errorf("%w: page_id %q is not a numeric Page id", ErrInvalidConfig, c.PageID)
	case c.AccountID != "" && !meta.IsNumericID(c.AccountID):
		return fmt.Errorf("%w: account_id %q is not a numeric Instagram account id", ErrInvalidConfig, c.AccountID)
	case c.AppSecret == "":
		return fmt.Errorf("%w: app_secret is required", ErrInvalidConfig)
	case c.VerifyToken == "":
		return fmt.Errorf("%w: verify_token is required", ErrInvalidConfig)
	}
	if c.GraphURL != "" {
		if err := meta.CheckBaseURL("graph_url", c.GraphURL); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	return nil
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("instagram.Config{PageID: %q, AccountID: %q, GraphURL: %q, secrets redacted}", c.PageID, c.AccountID, c.GraphURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the Instagram Messaging adapter for one Instagram professional
// account. It implements platform.Adapter, platform.Handshaker,
// platform.Sender and platform.Blocker and is safe for concurrent use.
type Adapter struct {
	pageID      string
	accountID   string
	appSecret   []byte
	verifyToken meta.VerifyToken
	graph       *meta.Client
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
		pageID:      cfg.PageID,
		accountID:   cfg.AccountID,
		appSecret:   []byte(cfg.AppSecret),
		verifyToken: meta.NewVerifyToken(cfg.VerifyToken),
		graph: &meta.Client{
			BaseURL:     strings.TrimRight(graphURL, "/"),
			AccessToken: cfg.AccessToken,
			HTTP:        client,
		},
	}, nil
}

// String describes the adapter without its secrets.
func (a *Adapter) String() string {
	return fmt.Sprintf("instagram.Adapter{PageID: %q, AccountID: %q, GraphURL: %q, secrets redacted}", a.pageID, a.accountID, a.graph.BaseURL)
}

// GoString is String, for the %#v verb.
func (a *Adapter) GoString() string { return a.String() }

// Platform returns "instagram".
func (a *Adapter) Platform() string { return PlatformName }

// Account is the Instagram account id, or "" when the channel reads every account's entries (no account_id configured) (platform.AccountScoped): a delivery
// for several accounts of one Meta app is read by each account's channel.
func (a *Adapter) Account() string { return a.accountID }

// Verify checks X-Hub-Signature-256 against the HMAC-SHA256 of body keyed
// with the app secret, in constant time. A missing, ill-formed or wrong
// signature is an error wrapping platform.ErrBadSignature that says which.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	return meta.VerifyRequest(a.appSecret, r, body)
}

// Handshake answers Meta's verification GET: with hub.mode=subscribe and a
// hub.verify_token equal to the configured token (compared in constant
// time) it returns hub.challenge as the body to write; otherwise an error
// wrapping platform.ErrHandshake that never repeats the token.
func (a *Adapter) Handshake(r *http.Request) ([]byte, error) {
	return a.verifyToken.Answer(r)
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string { return meta.Sign(appSecret, body) }
