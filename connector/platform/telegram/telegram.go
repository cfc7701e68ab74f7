package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
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
	PlatformName = "telegram"
	// DefaultAPIURL is the Bot API base used when Config.APIURL is empty.
	DefaultAPIURL = "https://api.telegram.org"
	// SecretHeader carries the secret_token given to setWebhook, as is.
	SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

	// maxSecretLen is the longest secret_token setWebhook accepts.
	maxSecretLen = 256
)

var (
	// ErrInvalidConfig is wrapped by Config.Validate and New when the
	// configuration is incomplete or wrong.
	ErrInvalidConfig = errors.New("invalid telegram configuration")
	// ErrNoBotToken is wrapped by Send on a channel configured without a
	// bot token. It is permanent (not transient) until the configuration
	// changes.
	ErrNoBotToken = errors.New("no bot token configured for the Telegram channel")
)

// Config is one Telegram bot with its secrets.
type Config struct {
	// BotToken is the token BotFather gave the bot ("123456789:AA...").
	// Optional: without it the channel only receives, and Send fails with
	// ErrNoBotToken.
	BotToken string
	// SecretToken is the secret_token the webhook was registered with
	// (setWebhook): 1 to 256 characters among A-Z, a-z, 0-9, "_" and "-".
	// Telegram sends it back in X-Telegram-Bot-Api-Secret-Token.
	SecretToken string
	// APIURL is the Bot API base. Default DefaultAPIURL.
	APIURL string
	// HTTPClient makes Bot API calls. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.SecretToken == "":
		return fmt.Errorf("%w: secret_token is required", ErrInvalidConfig)
	case len(c.SecretToken) > maxSecretLen:
		return fmt.Errorf("%w: secret_token is longer than %d characters", ErrInvalidConfig, maxSecretLen)
	case !isSecretToken(c.SecretToken):
		return fmt.Errorf("%w: secret_token may only hold A-Z, a-z, 0-9, _ and -", ErrInvalidConfig)
	case c.BotToken != "" && !isBotToken(c.BotToken):
		return fmt.Errorf("%w: bot_token is not of the form <bot id>:<key>", ErrInvalidConfig)
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: api_url %q is not an absolute http(s) URL", ErrInvalidConfig, c.APIURL)
		}
	}
	return nil
}

// isSecretToken reports whether s holds only the characters setWebhook
// allows in secret_token.
func isSecretToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isBotToken reports whether s looks like "<digits>:<key>", the shape of a
// BotFather token, so that it can be put in a URL path as is.
func isBotToken(s string) bool {
	id, key, ok := strings.Cut(s, ":")
	if !ok || id == "" || key == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return isSecretToken(key)
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("telegram.Config{APIURL: %q, bot token set: %t, secrets redacted}", c.APIURL, c.BotToken != "")
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the Telegram Bot API adapter for one bot. It implements
// platform.Adapter and platform.Sender (Telegram has no handshake, and a bot
// can not block a user) and is safe for concurrent use.
type Adapter struct {
	secret   [sha256.Size]byte // SHA-256 of the secret token: compared in constant time
	botToken string
	apiURL   string
	api      *papi.Client
}

// Compile-time checks of the interfaces Adapter implements.
var (
	_ platform.Adapter      = (*Adapter)(nil)
	_ platform.Sender       = (*Adapter)(nil)
	_ platform.MediaFetcher = (*Adapter)(nil)
	_ platform.ReceiveOnly  = (*Adapter)(nil)
)

// MissingCredential says "no bot token configured" for a bot that
// receives only: it sends nothing (and its media downloads fail for want
// of the token).
func (a *Adapter) MissingCredential() string {
	if a.botToken == "" {
		return "no bot token configured"
	}
	return ""
}

// New validates cfg and builds an Adapter, applying the defaults.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{
		secret:   sha256.Sum256([]byte(cfg.SecretToken)),
		botToken: cfg.BotToken,
		apiURL:   papi.BaseURL(cfg.APIURL, DefaultAPIURL),
		api:      papi.New(papi.Config{HTTPClient: cfg.HTTPClient, Transient: ErrTransient}),
	}, nil
}

// Platform returns "telegram".
func (a *Adapter) Platform() string { return PlatformName }

// Verify checks that X-Telegram-Bot-Api-Secret-Token equals the configured
// secret token, in constant time (the SHA-256 digests of both are compared,
// so that not even the token's length leaks). Telegram does not sign the
// body, which is not used. A missing or wrong token is an error wrapping
// platform.ErrBadSignature that never repeats either value.
func (a *Adapter) Verify(r *http.Request, _ []byte) error {
	var got []string
	if r != nil {
		got = r.Header.Values(SecretHeader)
	}
	switch {
	case len(got) == 0 || got[0] == "":
		return fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SecretHeader)
	case len(got) > 1:
		return fmt.Errorf("%w: %s header given %d times", platform.ErrBadSignature, SecretHeader, len(got))
	}
	sum := sha256.Sum256([]byte(got[0]))
	if subtle.ConstantTimeCompare(sum[:], a.secret[:]) != 1 {
		return fmt.Errorf("%w: %s does not match the channel's secret token", platform.ErrBadSignature, SecretHeader)
	}
	return nil
}

// Sign returns the X-Telegram-Bot-Api-Secret-Token value Telegram sends
// with every update: the secret token itself (Telegram does not sign the
// body, which is accepted for symmetry with the other adapters and
// ignored). For tests, the demo traffic generator and anyone replaying
// updates.
func Sign(secretToken string, _ []byte) string { return secretToken }
