package meta

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

// Product describes one Meta product that a Channel serves: Messenger,
// Instagram Messaging or the WhatsApp Cloud API. The product packages
// (platform/messenger, platform/instagram, platform/whatsapp) each define
// one; everything else a Meta channel does is Channel's.
type Product struct {
	// Platform is the adapter's platform name ("messenger"); it starts
	// every error of the channel.
	Platform string
	// Object is the "object" of the product's webhook deliveries.
	Object string
	// DefaultGraphURL is the Graph API base used when the configuration
	// names none. Default: this package's DefaultGraphURL.
	DefaultGraphURL string
	// ErrInvalidConfig is wrapped by the product's configuration errors.
	ErrInvalidConfig error
	// IDField and IDKey name the Graph API id of a channel in String and
	// in configuration errors. Default: a Page's, "PageID" and "page_id".
	// AccountField, when set, names the account id in String
	// ("AccountID").
	IDField, IDKey, AccountField string
	// CheckIDs reports what is wrong with the configuration's ids (the
	// product's rules for ChannelConfig.ID and AccountID); it is called
	// once ID is known to be non-blank. Default: CheckPageIDs.
	CheckIDs func(ChannelConfig) error
	// Rules classify the product's Graph API errors. Default:
	// MessagingRules.
	Rules *Rules
	// SendBody is the JSON body of POST /{id}/messages for a text to a
	// user.
	SendBody func(to, text string) any
	// SentID reads the new message's id from the answer to a send
	// ("" when it names none); SentIDName names it in the error for that
	// case. Default: MessageID and "message_id".
	SentID     func(body []byte) (string, error)
	SentIDName string
	// Block blocks (block true) or unblocks user with the product's native
	// block endpoint, through ch.Graph, and returns the Graph API's refusal
	// as it is; Channel adds the platform and the operation to the error.
	Block func(ctx context.Context, ch *Channel, user string, block bool) error
	// Parse turns a verified webhook body into events. Nil: the messaging
	// webhooks of Messenger and Instagram (ParseMessaging), read for the
	// channel's account.
	Parse func(ch *Channel, body []byte) ([]platform.Event, error)
}

// ChannelConfig is what every Meta channel is configured with.
type ChannelConfig struct {
	// ID is the id in Graph API paths: the Facebook Page's id (Messenger,
	// Instagram) or the business phone number's id (WhatsApp).
	ID string
	// AccountID is the id under which the channel's account appears in
	// webhook entries (platform.AccountScoped): the Page id on Messenger,
	// the phone number id on WhatsApp, the Instagram account's id. Empty:
	// the channel reads every account's entries.
	AccountID string
	// AppSecret is the Meta app secret that signs webhook deliveries.
	AppSecret string
	// VerifyToken is the token configured with the webhook, answered in the
	// GET handshake.
	VerifyToken string
	// AccessToken is the token of Graph API calls. Optional: without it the
	// channel only receives, and Send, Block and Unblock fail with
	// ErrNoAccessToken.
	AccessToken string
	// GraphURL is the Graph API base, version included. Default: the
	// product's DefaultGraphURL.
	GraphURL string
	// HTTPClient makes Graph API calls. Default: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets media downloads from URLs a delivery
	// gives reach hosts that are not public (loopback, private networks):
	// for tests and stand-ins. Default false: see
	// platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

// Validate reports the first missing or wrong setting of a channel of
// product p, naming it and never showing a secret's value. It wraps
// p.ErrInvalidConfig.
func (p *Product) Validate(c ChannelConfig) error {
	if strings.TrimSpace(c.ID) == "" {
		return fmt.Errorf("%w: %s is required", p.ErrInvalidConfig, cmp.Or(p.IDKey, "page_id"))
	}
	check := p.CheckIDs
	if check == nil {
		check = CheckPageIDs
	}
	if err := check(c); err != nil {
		return fmt.Errorf("%w: %w", p.ErrInvalidConfig, err)
	}
	switch {
	case c.AppSecret == "":
		return fmt.Errorf("%w: app_secret is required", p.ErrInvalidConfig)
	case c.VerifyToken == "":
		return fmt.Errorf("%w: verify_token is required", p.ErrInvalidConfig)
	}
	if c.GraphURL != "" {
		if err := CheckBaseURL("graph_url", c.GraphURL); err != nil {
			return fmt.Errorf("%w: %w", p.ErrInvalidConfig, err)
		}
	}
	return nil
}

// Channel is one Meta channel of a product: a Page on Messenger or
// Instagram, a phone number on WhatsApp. It implements platform.Adapter,
// platform.AccountScoped, platform.Handshaker, platform.Sender and
// platform.Blocker, and is safe for concurrent use. The product packages'
// adapters embed it.
type Channel struct {
	product     *Product
	id          string
	accountID   string
	appSecret   []byte
	verifyToken VerifyToken
	publicMedia bool // attachment downloads reach public addresses only
	// Graph makes the channel's Graph API calls.
	Graph *Client
}

// Compile-time checks of the interfaces Channel implements.
var (
	_ platform.Adapter       = (*Channel)(nil)
	_ platform.AccountScoped = (*Channel)(nil)
	_ platform.Handshaker    = (*Channel)(nil)
	_ platform.Sender        = (*Channel)(nil)
	_ platform.Blocker       = (*Channel)(nil)
	_ platform.ReceiveOnly   = (*Channel)(nil)
)

// MissingCredential says "no access token configured" for a channel that
// receives only: it sends and blocks nothing (WhatsApp's media downloads
// fail for want of the token; Messenger's and Instagram's need none).
func (c *Channel) MissingCredential() string {
	if c.Graph == nil || c.Graph.AccessToken == "" {
		return "no access token configured"
	}
	return ""
}

// NewChannel validates cfg for product p and builds the channel, applying
// the defaults.
func NewChannel(p *Product, cfg ChannelConfig) (*Channel, error) {
	if err := p.Validate(cfg); err != nil {
		return nil, err
	}
	graphURL := cmp.Or(cfg.GraphURL, p.DefaultGraphURL, DefaultGraphURL)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: papi.DefaultTimeout}
	}
	return &Channel{
		product:     p,
		id:          cfg.ID,
		accountID:   cfg.AccountID,
		appSecret:   []byte(cfg.AppSecret),
		verifyToken: NewVerifyToken(cfg.VerifyToken),
		publicMedia: !cfg.AllowPrivateMediaAddresses,
		Graph: &Client{
			BaseURL:     strings.TrimRight(graphURL, "/"),
			AccessToken: cfg.AccessToken,
			HTTP:        client,
		},
	}, nil
}

// ID is the channel's id in Graph API paths.
func (c *Channel) ID() string { return c.id }

// AccountID is the configured account id (empty when the configuration
// names none).
func (c *Channel) AccountID() string { return c.accountID }

// Path is the Graph API path of an edge of the channel's id, such as
// "<page-id>/messages".
func (c *Channel) Path(edge string) string { return url.PathEscape(c.id) + "/" + edge }

// String describes the channel without its secrets.
func (c *Channel) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.Adapter{%s: %q, ", c.product.Platform, cmp.Or(c.product.IDField, "PageID"), c.id)
	if c.product.AccountField != "" {
		fmt.Fprintf(&b, "%s: %q, ", c.product.AccountField, c.accountID)
	}
	fmt.Fprintf(&b, "GraphURL: %q, secrets redacted}", c.Graph.BaseURL)
	return b.String()
}

// GoString is String, for the %#v verb.
func (c *Channel) GoString() string { return c.String() }

// Platform returns the product's platform name.
func (c *Channel) Platform() string { return c.product.Platform }

// Account is the account the channel reads (platform.AccountScoped), or
// "" when it reads every account's entries: a delivery for several
// accounts of one Meta app is read by each account's channel.
func (c *Channel) Account() string { return c.accountID }

// Verify checks X-Hub-Signature-256 against the HMAC-SHA256 of body keyed
// with the app secret, in constant time. A missing, ill-formed or wrong
// signature is an error wrapping platform.ErrBadSignature that says which.
func (c *Channel) Verify(r *http.Request, body []byte) error {
	return VerifyRequest(c.appSecret, r, body)
}

// Handshake answers Meta's verification GET: with hub.mode=subscribe and a
// hub.verify_token equal to the configured token (compared in constant
// time) it returns hub.challenge as the body to write; otherwise an error
// wrapping platform.ErrHandshake that never repeats the token.
func (c *Channel) Handshake(r *http.Request) ([]byte, error) { return c.verifyToken.Answer(r) }

// Parse turns a verified webhook body into events in delivery order, with
// the product's parser. For Messenger and Instagram, entries for another
// account than the channel's become KindUnusable events. The request is
// not used.
func (c *Channel) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	if c.product.Parse != nil {
		return c.product.Parse(c, body)
	}
	t := Target{Platform: c.product.Platform, Object: c.product.Object}
	if acct := c.accountID; acct != "" {
		// Meta names the account in entry.id; the linked Page's id is
		// accepted too.
		t.AccountIDs = []string{acct}
		if acct != c.id {
			t.AccountIDs = append(t.AccountIDs, c.id)
		}
	}
	return ParseMessaging(body, t)
}

// Send sends text to the user to with POST /{id}/messages and returns the
// new message's id. A refusal is a *GraphError classified by the product's
// rules: it wraps ErrUserBlocked when the user blocked the business or
// can not be reached, ErrTransient when worth retrying (see IsTransient)
// and platform.ErrSendRejected otherwise; a network failure wraps
// ErrTransient. A send is never retried here: it may have been delivered.
func (c *Channel) Send(ctx context.Context, to string, text string) (string, error) {
	p := c.product
	if err := platform.CheckSendArgs(p.Platform, to, text); err != nil {
		return "", err
	}
	status, body, err := c.Graph.Call(ctx, http.MethodPost, c.Path("messages"), nil, p.SendBody(to, text))
	if err != nil {
		return "", fmt.Errorf("%s: send: %w", p.Platform, err)
	}
	if ge := ResponseError(status, body, p.rules()); ge != nil {
		return "", fmt.Errorf("%s: send: %w", p.Platform, ge)
	}
	sentID := p.SentID
	if sentID == nil {
		sentID = MessageID
	}
	id, err := sentID(body)
	if err != nil {
		return "", fmt.Errorf("%s: send: unreadable response (HTTP %d): %w", p.Platform, status, err)
	}
	if id == "" {
		return "", fmt.Errorf("%s: send: response (HTTP %d) has no %s", p.Platform, status, cmp.Or(p.SentIDName, "message_id"))
	}
	return id, nil
}

// Block blocks user with the product's native block endpoint. A refusal is
// a *GraphError classified by the product's rules.
func (c *Channel) Block(ctx context.Context, user string) error {
	if err := c.product.Block(ctx, c, user, true); err != nil {
		return fmt.Errorf("%s: block: %w", c.product.Platform, err)
	}
	return nil
}

// Unblock lifts a block set with Block.
func (c *Channel) Unblock(ctx context.Context, user string) error {
	if err := c.product.Block(ctx, c, user, false); err != nil {
		return fmt.Errorf("%s: unblock: %w", c.product.Platform, err)
	}
	return nil
}

// ErrEmptyUser is returned by a block or unblock of an empty user.
var ErrEmptyUser = errors.New("empty user")

// MessageID reads {"message_id": ...}, the answer of Messenger's and
// Instagram's Send API (a Product's SentID).
func MessageID(body []byte) (string, error) {
	var resp struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", err
	}
	return resp.MessageID, nil
}

// CheckSuccess returns the error of a Graph API call answered
// {"success": true} when it worked: the call's own error, the answer's
// *GraphError (classified by rules), or a rejection saying refusal when
// the answer says "success": false.
func CheckSuccess(status int, body []byte, err error, rules Rules, refusal string) error {
	if err != nil {
		return err
	}
	if ge := ResponseError(status, body, rules); ge != nil {
		return ge
	}
	if ok, found := SuccessFlag(body); found && !ok {
		return &GraphError{HTTPStatus: status, Message: refusal, Class: Rejected}
	}
	return nil
}

// NewAdapter builds a product package's adapter: the channel of cfg for
// product p (see NewChannel), wrapped by wrap.
func NewAdapter[A any](p *Product, cfg ChannelConfig, wrap func(*Channel) A) (A, error) {
	ch, err := NewChannel(p, cfg)
	if err != nil {
		var none A
		return none, err
	}
	return wrap(ch), nil
}

// rules are the product's Rules, MessagingRules by default.
func (p *Product) rules() Rules {
	if p.Rules == nil {
		return MessagingRules
	}
	return *p.Rules
}

// CheckPageIDs is the check of a Page's ids (Product.CheckIDs' default):
// the Page id, and the account id when set, are numeric.
func CheckPageIDs(c ChannelConfig) error {
	switch {
	case !IsNumericID(c.ID):
		return fmt.Errorf("page_id %q is not a numeric Page id", c.ID)
	case c.AccountID != "" && c.AccountID != c.ID && !IsNumericID(c.AccountID):
		return fmt.Errorf("account_id %q is not a numeric Instagram account id", c.AccountID)
	}
	return nil
}
