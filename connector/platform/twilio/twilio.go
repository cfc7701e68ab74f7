package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "twilio"
	// DefaultAPIURL is the REST API base used when Config.APIURL is empty.
	DefaultAPIURL = "https://api.twilio.com"
	// SignatureHeader carries base64(HMAC-SHA1(auth token, URL + sorted
	// POST parameters)).
	SignatureHeader = "X-Twilio-Signature"
	// WhatsAppPrefix marks WhatsApp addresses ("whatsapp:+14155238886").
	WhatsAppPrefix = "whatsapp:"
)

// ErrInvalidConfig is wrapped by Config.Validate and New when the
// configuration is incomplete or wrong.
var ErrInvalidConfig = errors.New("invalid twilio configuration")

// Config is one Twilio sender (an SMS number or a WhatsApp sender) with its
// account's credentials.
type Config struct {
	// AccountSID is the account ("AC" and 32 hex digits); it owns the
	// sender and is in REST API paths.
	AccountSID string
	// AuthToken is the account's auth token: it signs webhooks and
	// authenticates REST API calls.
	AuthToken string
	// From is the channel's sender, used as From when sending: an E.164
	// number ("+15017122661"), a short code, or a WhatsApp sender
	// ("whatsapp:+14155238886").
	From string
	// PublicBaseURL is the connector's public base URL as Twilio calls it
	// (such as "https://connector.example.com" behind a proxy). Twilio
	// signs the full URL it posts to; when set, that URL is PublicBaseURL
	// followed by the request's path and query. Default: the scheme and
	// host of the request itself.
	PublicBaseURL string
	// APIURL is the REST API base. Default DefaultAPIURL.
	APIURL string
	// HTTPClient makes REST API calls. Default: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets media downloads from URLs a delivery
	// gives reach hosts that are not public (loopback, private networks):
	// for tests and stand-ins. Default false: see
	// platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

var accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// Validate reports the first missing or wrong setting, naming it and never
// showing a secret's value. It wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.AccountSID == "":
		return fmt.Errorf("%w: account_sid is required", ErrInvalidConfig)
	case !accountSIDPattern.MatchString(c.AccountSID):
		return fmt.Errorf("%w: account_sid %q is not \"AC\" followed by 32 hex digits", ErrInvalidConfig, c.AccountSID)
	case c.AuthToken == "":
		return fmt.Errorf("%w: auth_token is required", ErrInvalidConfig)
	case strings.TrimSpace(c.From) == "":
		return fmt.Errorf("%w: from (the channel's number or WhatsApp sender) is required", ErrInvalidConfig)
	case strings.ContainsAny(c.From, " \t\r\n/?#&"):
		return fmt.Errorf("%w: from %q is not a phone number, short code or \"whatsapp:+...\" sender", ErrInvalidConfig, c.From)
	}
	for _, u := range []struct{ name, value string }{{"public_base_url", c.PublicBaseURL}, {"api_url", c.APIURL}} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
			return fmt.Errorf("%w: %s %q is not an absolute http(s) URL without credentials, query or fragment", ErrInvalidConfig, u.name, u.value)
		}
	}
	return nil
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("twilio.Config{AccountSID: %q, From: %q, PublicBaseURL: %q, APIURL: %q, secrets redacted}",
		c.AccountSID, c.From, c.PublicBaseURL, c.APIURL)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Adapter is the Twilio Programmable Messaging adapter for one sender. It
// implements platform.Adapter and platform.Sender (Twilio has no
// verification handshake and no block API) and is safe for concurrent use.
type Adapter struct {
	accountSID    string
	authToken     []byte
	from          string
	publicBaseURL string
	apiURL        string
	api           *papi.Client
	publicMedia   bool // downloads from other hosts than the API's reach public addresses only
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
		accountSID:    cfg.AccountSID,
		authToken:     []byte(cfg.AuthToken),
		from:          strings.TrimSpace(cfg.From),
		publicBaseURL: strings.TrimRight(cfg.PublicBaseURL, "/"),
		apiURL:        papi.BaseURL(cfg.APIURL, DefaultAPIURL),
		api:           papi.New(papi.Config{HTTPClient: cfg.HTTPClient, Transient: ErrTransient, Refusal: refusal}),
		publicMedia:   !cfg.AllowPrivateMediaAddresses,
	}, nil
}

// Platform returns "twilio".
func (a *Adapter) Platform() string { return PlatformName }

// emptyTwiML is the answer to a delivery: Twilio reads the body as TwiML,
// and an empty Response sends no automatic reply.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Acknowledgement answers a stored delivery with empty TwiML
// (platform.Acknowledger), so that Twilio neither replies nor logs a
// warning about the answer's content.
func (a *Adapter) Acknowledgement() (string, []byte) {
	return "text/xml; charset=utf-8", []byte(emptyTwiML)
}

// Verify checks X-Twilio-Signature: the base64 HMAC-SHA1, keyed with the
// auth token, of the full URL Twilio posted to followed by each POST
// parameter's name and value, sorted by name. The URL is PublicBaseURL
// plus the request's path and query when configured, else the request's
// own scheme (TLS, or X-Forwarded-Proto from a proxy) and host; like
// Twilio's own validators, Verify also accepts the URL with the default
// port added or removed. The comparison is in constant time. A missing,
// ill-formed or wrong signature is an error wrapping
// platform.ErrBadSignature that says which, naming the URL checked.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	if r == nil || r.URL == nil {
		return fmt.Errorf("%w: no request", platform.ErrBadSignature)
	}
	header := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if header == "" {
		return fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(got) != sha1.Size {
		return fmt.Errorf("%w: %s is not the base64 of a %d-byte HMAC-SHA1", platform.ErrBadSignature, SignatureHeader, sha1.Size)
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("%w: the body is not form-encoded, so %s can not be checked", platform.ErrBadSignature, SignatureHeader)
	}
	signed := a.signedURL(r)
	for _, u := range portVariants(signed) {
		if hmac.Equal(got, signature(a.authToken, u, params)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s does not match the body and the URL %s (set the public base URL when a proxy changes the URL Twilio calls)",
		platform.ErrBadSignature, SignatureHeader, signed)
}

// signedURL is the URL Twilio signed for r.
func (a *Adapter) signedURL(r *http.Request) string {
	if a.publicBaseURL != "" {
		return a.publicBaseURL + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

// portVariants returns u and, for the default port of its scheme, u with
// that port removed or added: Twilio may sign either form.
func portVariants(u string) []string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return []string{u}
	}
	def := map[string]string{"https": "443", "http": "80"}[p.Scheme]
	if def == "" {
		return []string{u}
	}
	q := *p
	if port := p.Port(); port == def {
		q.Host = p.Hostname()
		if strings.Contains(q.Host, ":") {
			q.Host = "[" + q.Host + "]"
		}
	} else if port == "" {
		q.Host = net.JoinHostPort(p.Hostname(), def)
	} else {
		return []string{u}
	}
	return []string{u, q.String()}
}

// signature computes the raw HMAC-SHA1 of fullURL followed by the
// parameters, sorted by name (and, for a repeated name, by value).
func signature(authToken []byte, fullURL string, params url.Values) []byte {
	mac := hmac.New(sha1.New, authToken)
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		values := append([]string(nil), params[k]...)
		sort.Strings(values)
		for _, v := range values {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return mac.Sum(nil)
}

// Sign returns the X-Twilio-Signature value Twilio would send when posting
// params to fullURL (scheme, host, path and query, exactly as configured
// in Twilio). For tests, the demo traffic generator and anyone replaying
// webhooks.
func Sign(authToken, fullURL string, params url.Values) string {
	return base64.StdEncoding.EncodeToString(signature([]byte(authToken), fullURL, params))
}

// SignBody is Sign for a form-encoded body, such as one returned by
// InboundBody or StatusBody.
func SignBody(authToken, fullURL string, body []byte) (string, error) {
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return "", fmt.Errorf("twilio: sign: the body is not form-encoded: %w", err)
	}
	return Sign(authToken, fullURL, params), nil
}
