// Package papi is the HTTP client under every platform adapter's outbound
// calls (sends, native blocks, media downloads): one place for timeouts,
// authentication headers, JSON and form bodies, bounded response reading,
// the sorting of transport failures into temporary ones, the decoding of a
// refusal's body, and retries.
//
// Retries are github.com/hashicorp/go-retryablehttp's, with the policy the
// Salesforce client (sfclient) uses: connection errors, 429 and 5xx
// answers are retried a few times with a bounded exponential wait (a
// Retry-After header honoured up to the longest wait), and the last answer
// is handed back so that its status reaches the adapter. A request is
// retried only when it says it may be (Request.Retry): calls that are
// idempotent (a block, an unblock, a download) or carry the platform's
// idempotency key. A send that may have been delivered is never retried
// here; the connector's outbox retries it later, with the adapter's
// classification of the failure.
//
// No URL appears in an error (a Telegram URL holds the bot token), and no
// secret in a log line: the client logs nothing. An answer's body that
// repeats the request's credential (a refusal quoting the token it
// refused) has it replaced with Redacted before anyone reads it (Do; a
// refusal read from Open or Download goes through Scrub).
package papi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one attempt when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
	// DefaultRetryMax is how many times a retryable request is tried again.
	DefaultRetryMax = 2
	// DefaultRetryWaitMin and DefaultRetryWaitMax bound the wait between
	// two attempts.
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
	// DefaultLimit bounds how much of a response body is read when the
	// request sets no Limit.
	DefaultLimit = 1 << 20
)

// ErrTransient is wrapped by transport failures of a client whose Config
// names no Transient sentinel of its own.
var ErrTransient = errors.New("temporary failure of the platform's API")

// Config configures a Client. The zero value is usable.
type Config struct {
	// HTTPClient makes the calls (its Transport, Timeout, CheckRedirect and
	// Jar). Default: a client with DefaultTimeout.
	HTTPClient *http.Client
	// Transient is the adapter's sentinel for failures worth retrying
	// later: transport failures (unless the call's context is done) and an
	// answer that could not be read wrap it. Default ErrTransient.
	Transient error
	// Refusal builds the adapter's error for an answer outside 2xx, from
	// its status, header and body (see Client.Call). Default: an error
	// naming the status.
	Refusal func(*Response) error
	// RetryMax is how many times a request with Retry set is tried again
	// after a connection error, a 429 or a 5xx answer. Zero means
	// DefaultRetryMax; a negative value disables retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential wait between
	// attempts. Zero means the defaults.
	RetryWaitMin, RetryWaitMax time.Duration
}

// Client sends platform API requests. It is safe for concurrent use.
type Client struct {
	rc        *retryablehttp.Client
	stream    *retryablehttp.Client // rc's HTTP client without its Timeout, for Download
	transient error
	refusal   func(*Response) error
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: DefaultTimeout}
	}
	stream := &http.Client{Transport: base.Transport, CheckRedirect: base.CheckRedirect, Jar: base.Jar}
	c := &Client{rc: newRetryable(base, cfg), stream: newRetryable(stream, cfg), transient: cfg.Transient, refusal: cfg.Refusal}
	if c.transient == nil {
		c.transient = ErrTransient
	}
	if c.refusal == nil {
		c.refusal = defaultRefusal
	}
	return c
}

// newRetryable is a retrying client of base with cfg's retries.
func newRetryable(base *http.Client, cfg Config) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = base
	rc.Logger = nil // retryablehttp's log lines carry the URL
	switch {
	case cfg.RetryMax < 0:
		rc.RetryMax = 0
	case cfg.RetryMax == 0:
		rc.RetryMax = DefaultRetryMax
	default:
		rc.RetryMax = cfg.RetryMax
	}
	rc.RetryWaitMin, rc.RetryWaitMax = DefaultRetryWaitMin, DefaultRetryWaitMax
	if cfg.RetryWaitMin > 0 {
		rc.RetryWaitMin = cfg.RetryWaitMin
	}
	if cfg.RetryWaitMax > 0 {
		rc.RetryWaitMax = cfg.RetryWaitMax
	}
	rc.RetryWaitMax = max(rc.RetryWaitMax, rc.RetryWaitMin)
	rc.CheckRetry = checkRetry
	rc.Backoff = boundedBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return rc
}

// HTTP is the *http.Client that makes the calls (Config.HTTPClient or the
// default one).
func (c *Client) HTTP() *http.Client { return c.rc.HTTPClient }

// BaseURL returns configured, or def when it is empty, without trailing
// slashes: an API base that paths are appended to.
func BaseURL(configured, def string) string {
	if configured == "" {
		configured = def
	}
	return strings.TrimRight(configured, "/")
}

// Auth sets a request's credentials.
type Auth func(*http.Request)

// Bearer sends "Authorization: Bearer <token>".
func Bearer(token string) Auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// Basic sends HTTP basic authentication.
func Basic(user, password string) Auth {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

// HeaderAuth sends the credential in the header field name.
func HeaderAuth(name, value string) Auth {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// Request is one call.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// URL is the absolute URL. It never appears in an error: it may hold a
	// secret.
	URL string
	// Name names the call in errors, such as "POST sendMessage". Empty:
	// the method.
	Name string
	// JSON, when not nil, is sent as the JSON body ("<", ">" and "&" as
	// they are, no trailing newline), with Content-Type application/json.
	JSON any
	// Form, when not nil, is sent as an application/x-www-form-urlencoded
	// body.
	Form url.Values
	// Body and ContentType are a raw body, when neither JSON nor Form is
	// set.
	Body        []byte
	ContentType string
	// Header holds further header fields. "Accept: application/json" is
	// sent unless Header sets Accept.
	Header http.Header
	// Auth sets the credentials; nil sends none.
	Auth Auth
	// Retry allows retries of connection errors, 429 and 5xx answers:
	// set it only for an idempotent call, or one the platform deduplicates
	// by an idempotency key.
	Retry bool
	// Limit bounds how much of the answer's body Do reads; zero means
	// DefaultLimit. A longer body is cut and Response.Truncated set.
	Limit int64
}

// Response is an answer.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header is the answer's header.
	Header http.Header
	// Body is the answer's body, at most the request's Limit bytes.
	Body []byte
	// Truncated is set when the body was longer than the limit.
	Truncated bool
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// ContentType is the answer's media type without its parameters
// ("image/jpeg"), lower case; empty when the answer names none.
func (r *Response) ContentType() string {
	v := r.Header.Get("Content-Type")
	if v == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(v, ";")[0]))
	}
	return mt
}

// Do sends req, with its retries, and returns the answer whatever its
// status, its body read up to req.Limit. A transport failure, or a body
// that cannot be read, is an error wrapping the client's Transient
// sentinel unless ctx is done; the error never shows the URL.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.Open(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading the response to %s: %w", req.name(), redact(err))
		}
		return nil, fmt.Errorf("%w: reading the response to %s: %w", c.transient, req.name(), redact(err))
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if int64(len(body)) > limit {
		out.Body, out.Truncated = body[:limit], true
	}
	out.Body = Scrub(out.Body, req.Auth)
	return out, nil
}

// Redacted replaces a request's credential that its answer repeats.
const Redacted = "[redacted]"

// minSecret is the shortest credential scrub looks for: a shorter one
// would match ordinary text.
const minSecret = 8

// secretsOf returns the credentials auth sends: each header value it
// sets, the part after the scheme ("Bearer <token>"), and a basic
// authentication's password.
func secretsOf(auth Auth) []string {
	if auth == nil {
		return nil
	}
	r := &http.Request{Header: http.Header{}}
	auth(r)
	var out []string
	for _, vs := range r.Header {
		for _, v := range vs {
			out = append(out, v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				out = append(out, cred)
			}
		}
	}
	if _, password, ok := r.BasicAuth(); ok {
		out = append(out, password)
	}
	return out
}

// Scrub replaces each credential auth sends that body holds with
// Redacted: a platform's refusal may repeat the credential it refused
// ("Malformed access token <token>"), and its text reaches logs, API
// answers and Salesforce. Do scrubs every answer; a caller reading a
// refusal from Open or Download scrubs it with this.
func Scrub(body []byte, auth Auth) []byte {
	for _, s := range secretsOf(auth) {
		if len(s) >= minSecret && bytes.Contains(body, []byte(s)) {
			body = bytes.ReplaceAll(body, []byte(s), []byte(Redacted))
		}
	}
	return body
}

// Call is Do, with an answer outside 2xx turned into the error Refusal
// builds (the answer is returned too).
func (c *Client) Call(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return resp, c.refusal(resp)
	}
	return resp, nil
}

// Open sends req, with its retries, and returns the answer with its body
// unread; the caller closes the body. Errors are Do's.
func (c *Client) Open(ctx context.Context, req Request) (*http.Response, error) {
	return c.open(ctx, c.rc, req)
}

// Download is Open for a body that may take longer to arrive than the
// HTTP client's Timeout allows (a media download of many megabytes): the
// request, its body included, is bounded by ctx alone, which the caller
// gives a deadline.
func (c *Client) Download(ctx context.Context, req Request) (*http.Response, error) {
	return c.open(ctx, c.stream, req)
}

func (c *Client) open(ctx context.Context, rc *retryablehttp.Client, req Request) (*http.Response, error) {
	body, contentType, err := req.body()
	if err != nil {
		return nil, fmt.Errorf("encoding the %s request: %w", req.name(), err)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	rctx := context.WithValue(ctx, retryKey{}, req.Retry)
	var rb any
	if body != nil {
		rb = body
	}
	hr, err := retryablehttp.NewRequestWithContext(rctx, method, req.URL, rb)
	if err != nil {
		return nil, fmt.Errorf("building the %s request: %w", req.name(), redact(err))
	}
	for name, values := range req.Header {
		for _, v := range values {
			hr.Header.Add(name, v)
		}
	}
	if contentType != "" && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", contentType)
	}
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	if req.Auth != nil {
		req.Auth(hr.Request)
	}
	resp, err := rc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", req.name(), redact(err))
		}
		return nil, fmt.Errorf("%w: %s: %w", c.transient, req.name(), redact(err))
	}
	return resp, nil
}

func (req Request) name() string {
	switch {
	case req.Name != "":
		return req.Name
	case req.Method != "":
		return req.Method
	}
	return http.MethodGet
}

// body encodes the request's body.
func (req Request) body() ([]byte, string, error) {
	switch {
	case req.JSON != nil:
		b, err := JSON(req.JSON)
		return b, "application/json", err
	case req.Form != nil:
		return []byte(req.Form.Encode()), "application/x-www-form-urlencoded", nil
	case req.Body != nil:
		return req.Body, req.ContentType, nil
	}
	return nil, "", nil
}

// JSON encodes v as the platforms expect it: "<", ">" and "&" as they
// are (not as \u003c), and no trailing newline.
func JSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// retryKey is the context key carrying Request.Retry to checkRetry.
type retryKey struct{}

// checkRetry is retryablehttp's default policy (connection errors, 429,
// 5xx but 501) for a request that allows retries, and no retry otherwise.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if retry, _ := ctx.Value(retryKey{}).(bool); !retry {
		return false, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// boundedBackoff is retryablehttp's exponential backoff, with a
// Retry-After header honoured only up to waitMax.
func boundedBackoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	return min(retryablehttp.DefaultBackoff(waitMin, waitMax, attempt, resp), waitMax)
}

// redact drops the URL a *url.Error repeats: the error names the call
// already, and a URL may hold a secret.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// StatusError is the default refusal: an answer outside 2xx.
type StatusError struct {
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

func defaultRefusal(r *Response) error { return &StatusError{Status: r.Status} }
