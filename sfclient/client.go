// Package sfclient is the connector's client for one Salesforce org: it gets
// OAuth 2.0 tokens (JWT bearer or client credentials), upserts records by
// external id one at a time or in sObject Collections of up to 200, tracks
// the org's API usage, and sorts failures into classes the dispatcher acts
// on (retry later, slow the org down, fix the credentials, park the
// record).
//
// Layers, from the call down:
//
//   - Client.Upsert / Client.UpsertCollection build the REST request.
//   - Client.do gets the cached token (fetching one lazily), sends the call,
//     and on 401 INVALID_SESSION_ID fetches a new token once and retries
//     the call once: Salesforce's client-credentials tokens carry no expiry,
//     so a 401 is how expiry shows.
//   - github.com/simpleforce/simpleforce sends the REST call (ApexREST). It
//     is not safe for concurrent use, so a fresh one is built per call; it
//     has no context parameter, so the call's context is attached by a
//     RoundTripper built per call.
//   - github.com/hashicorp/go-retryablehttp retries connection errors,
//     timeouts, 429 and 5xx answers a few times with bounded waits, and
//     hands the last answer back so its status reaches the caller.
//   - A RoundTripper under the retry layer records each answer's
//     Sforce-Limit-Info header (see Client.Usage).
//
// Secrets (client secret, private key, tokens) never appear in a log line
// or an error message.
//
// A Client is safe for concurrent use.
package sfclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
	"github.com/simpleforce/simpleforce"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// jwtLifetime is the exp of a JWT bearer assertion; Salesforce wants it
// within a few minutes.
const jwtLifetime = 3 * time.Minute

// Client talks to one Salesforce org. Build it with New.
type Client struct {
	cfg Config
	log zerolog.Logger
	// transport is the retrying transport (retryablehttp's StandardClient
	// transport) every request goes through.
	transport http.RoundTripper
	jwtConf   *jwt.Config
	ccConf    *clientcredentials.Config

	// renewing is a one-slot semaphore: one token request at a time.
	renewing chan struct{}

	mu        sync.Mutex
	sess      *session // nil until the first token
	usageUsed int
	usageMax  int
	usageOK   bool
}

// session is a token and the instance it is valid for.
type session struct {
	token       string
	instanceURL string
	// userID is the integration user's id, from the identity URL.
	userID string
}

// New checks cfg (see Config.Validate) and returns a client. It does no
// network I/O: the first call fetches the token.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("component", "sfclient").Str("org_id", cfg.OrgID).Logger(),
		renewing: make(chan struct{}, 1),
	}

	inner := &http.Client{Timeout: cfg.RequestTimeout}
	var base http.RoundTripper
	if cfg.HTTPClient != nil {
		base = cfg.HTTPClient.Transport
		inner.CheckRedirect = cfg.HTTPClient.CheckRedirect
		inner.Jar = cfg.HTTPClient.Jar
	}
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	inner.Transport = &limitTransport{next: base, client: c}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = inner
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin = cfg.RetryWaitMin
	rc.RetryWaitMax = cfg.RetryWaitMax
	rc.CheckRetry = retryablehttp.DefaultRetryPolicy
	rc.Backoff = boundedBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = retryLogger{log: c.log}
	rc.ResponseLogHook = func(_ retryablehttp.Logger, resp *http.Response) {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			c.log.Warn().Int("status", resp.StatusCode).Str("method", resp.Request.Method).Str("path", resp.Request.URL.Path).
				Str("class", Transient.String()).Msg("Salesforce answered with a server error; the call is retried within its budget")
		}
	}
	c.transport = rc.StandardClient().Transport

	tokenURL := cfg.LoginURL + "/services/oauth2/token"
	switch cfg.Flow {
	case FlowJWTBearer:
		c.jwtConf = &jwt.Config{
			Email:      cfg.ClientID,
			Subject:    cfg.Username,
			PrivateKey: cfg.PrivateKeyPEM,
			TokenURL:   tokenURL,
			Audience:   cfg.LoginURL,
			Expires:    jwtLifetime,
		}
	case FlowClientCredentials:
		c.ccConf = &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInParams,
		}
	}
	return c, nil
}

// OrgID returns the configured org id.
func (c *Client) OrgID() string { return c.cfg.OrgID }

// Authenticate fetches a token now unless one is cached, so that a
// configuration error (ErrAuth, ErrWrongOrg) shows before the first call.
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.currentSession(ctx)
	return err
}

// Usage returns the org's API usage from the last Sforce-Limit-Info header
// seen (api-usage=used/max); ok is false until one was seen.
func (c *Client) Usage() (used, max int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usageUsed, c.usageMax, c.usageOK
}

// recordUsage parses a Sforce-Limit-Info header such as
// "api-usage=25/15000, per-app-api-usage=17/250(appName=x)".
func (c *Client) recordUsage(header string) {
	for _, part := range strings.Split(header, ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		usedStr, maxStr, found := strings.Cut(v, "/")
		if !found {
			return
		}
		used, err1 := strconv.Atoi(strings.TrimSpace(usedStr))
		limit, err2 := strconv.Atoi(strings.TrimSpace(maxStr))
		if err1 != nil || err2 != nil {
			return
		}
		c.mu.Lock()
		c.usageUsed, c.usageMax, c.usageOK = used, limit, true
		c.mu.Unlock()
		return
	}
}

// currentSession returns the cached session, fetching one if there is
// none.
func (c *Client) currentSession(ctx context.Context) (*session, error) {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return c.renew(ctx, nil)
}

// renew fetches a new token unless another goroutine already replaced
// stale (nil: no session yet) while this one waited.
func (c *Client) renew(ctx context.Context, stale *session) (*session, error) {
	select {
	case c.renewing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("sfclient: waiting for a token: %w: %w", ErrTransient, ctx.Err())
	}
	defer func() { <-c.renewing }()

	c.mu.Lock()
	cur := c.sess
	c.mu.Unlock()
	if cur != nil && cur != stale {
		return cur, nil
	}
	s, err := c.fetchToken(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.sess == stale {
			c.sess = nil
		}
		return nil, err
	}
	c.sess = s
	return s, nil
}

// fetchToken asks the token endpoint for a token and checks it is for the
// configured org.
func (c *Client) fetchToken(ctx context.Context) (*session, error) {
	hc := &http.Client{Transport: &callTransport{ctx: ctx, next: c.transport}}
	tctx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	var tok *oauth2.Token
	var err error
	if c.jwtConf != nil {
		tok, err = c.jwtConf.TokenSource(tctx).Token()
	} else {
		tok, err = c.ccConf.Token(tctx)
	}
	if err != nil {
		return nil, tokenError(ctx, err)
	}

	instanceURL, _ := tok.Extra("instance_url").(string)
	identity, _ := tok.Extra("id").(string)
	if tok.AccessToken == "" || instanceURL == "" || identity == "" {
		return nil, fmt.Errorf("sfclient: token response lacks access_token, instance_url or id: %w", ErrAuth)
	}
	iu, err := url.Parse(instanceURL)
	if err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" {
		return nil, fmt.Errorf("sfclient: token response has an invalid instance_url %q: %w", instanceURL, ErrAuth)
	}
	org, err := orgFromIdentity(identity)
	if err != nil {
		return nil, fmt.Errorf("sfclient: %w: %w", err, ErrAuth)
	}
	if !sameOrg(org, c.cfg.OrgID) {
		return nil, fmt.Errorf("sfclient: the token is for org %s but the configured org is %s: %w", org, c.cfg.OrgID, ErrWrongOrg)
	}
	c.log.Debug().Str("instance_url", instanceURL).Str("flow", c.cfg.Flow).Msg("salesforce token acquired")
	return &session{token: tok.AccessToken, instanceURL: strings.TrimRight(instanceURL, "/"), userID: userFromIdentity(identity)}, nil
}

// tokenError turns a failed token request into ErrAuth (refused) or
// ErrTransient (unreachable, 5xx), without quoting the response body.
func tokenError(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			return fmt.Errorf("sfclient: token endpoint answered HTTP %d: %w", status, ErrTransient)
		}
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" {
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code, desc = body.Error, body.Description
			}
		}
		if code == "" {
			code = "unknown error"
		}
		if desc != "" {
			code += " (" + desc + ")"
		}
		return fmt.Errorf("sfclient: token request refused with HTTP %d: %s: %w", status, code, ErrAuth)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sfclient: token request: %w: %w", ErrTransient, ctx.Err())
	}
	return fmt.Errorf("sfclient: token request failed: %w: %v", ErrTransient, err)
}

// orgFromIdentity extracts the org id from an identity URL
// https://host/id/<orgId>/<userId>.
func orgFromIdentity(identity string) (string, error) {
	u, err := url.Parse(identity)
	if err != nil {
		return "", fmt.Errorf("token response has an invalid identity URL %q", identity)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" || len(parts[len(parts)-2]) < 15 {
		return "", fmt.Errorf("token response has an identity URL %q not of the form .../id/<org>/<user>", identity)
	}
	return parts[len(parts)-2], nil
}

// sameOrg compares two org ids on their first 15 characters,
// case-sensitively (the 18-character form only adds a checksum).
func sameOrg(a, b string) bool {
	return len(a) >= 15 && len(b) >= 15 && a[:15] == b[:15]
}

// do sends one REST call and returns the answer's status and body. On 401
// it fetches a new token once and sends the call once more.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	s, err := c.currentSession(ctx)
	if err != nil {
		return 0, nil, err
	}
	status, data, err := c.send(ctx, s, method, path, body)
	if !errors.Is(err, ErrInvalidSession) {
		return status, data, err
	}
	c.log.Warn().Str("class", Auth.String()).Msg("Salesforce session expired or invalid; fetching a new token")
	if s, err = c.renew(ctx, s); err != nil {
		return 0, nil, err
	}
	return c.send(ctx, s, method, path, body)
}

// send makes the call once with session s through a fresh simpleforce
// client.
func (c *Client) send(ctx context.Context, s *session, method, path string, body []byte) (int, []byte, error) {
	rt := &callTransport{ctx: ctx, next: c.transport}
	sf := simpleforce.NewClient(s.instanceURL, simpleforce.DefaultClientID, c.cfg.APIVersion)
	sf.SetSidLoc(s.token, s.instanceURL)
	sf.SetHttpClient(&http.Client{Transport: rt})
	data, err := apexREST(sf, method, path, body)
	if err != nil {
		return rt.status, nil, callError(ctx, method, path, rt.status, err)
	}
	return rt.status, data, nil
}

// errUnreadableBody stands for a panic of simpleforce's error parser (it
// indexes the first element of a JSON error array, and panics on []).
type errUnreadableBody struct{ cause any }

func (e errUnreadableBody) Error() string {
	return fmt.Sprintf("unreadable error body: %v", e.cause)
}

// apexREST calls sf.ApexREST, turning a panic into an error.
func apexREST(sf *simpleforce.Client, method, path string, body []byte) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, errUnreadableBody{cause: r}
		}
	}()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return sf.ApexREST(method, path, rd)
}

// callError turns what simpleforce returned into an *APIError (an answer)
// or an ErrTransient error (no answer).
func callError(ctx context.Context, method, path string, status int, err error) error {
	var sfErr simpleforce.SalesforceError
	var unreadable errUnreadableBody
	switch {
	case errors.As(err, &unreadable):
		return fmt.Errorf("sfclient: %s %s: %w", method, path, &APIError{
			HTTPStatus: status,
			Message:    http.StatusText(status) + " (the error body holds no error)",
		})
	case errors.As(err, &sfErr):
		ae := &APIError{HTTPStatus: sfErr.HttpCode, Code: sfErr.ErrorCode, Message: sfErr.ErrorMessage}
		if ae.Code == "" {
			ae.Message = http.StatusText(sfErr.HttpCode) + " (the body is not a Salesforce error)"
		}
		return fmt.Errorf("sfclient: %s %s: %w", method, path, ae)
	case ctx.Err() != nil:
		return fmt.Errorf("sfclient: %s %s: %w: %w", method, path, ErrTransient, ctx.Err())
	default:
		return fmt.Errorf("sfclient: %s %s: %w: %w", method, path, ErrTransient, err)
	}
}

// callTransport attaches a call's context to its requests (simpleforce
// and golang.org/x/oauth2/jwt build requests without one) and remembers
// the last answer's status.
type callTransport struct {
	ctx    context.Context
	next   http.RoundTripper
	status int
}

// RoundTrip sends req with the call's context.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req.WithContext(t.ctx))
	if resp != nil {
		t.status = resp.StatusCode
	}
	return resp, err
}

// limitTransport records every answer's Sforce-Limit-Info header.
type limitTransport struct {
	next   http.RoundTripper
	client *Client
}

// RoundTrip sends req and records the header of the answer.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if resp != nil {
		if v := resp.Header.Get("Sforce-Limit-Info"); v != "" {
			t.client.recordUsage(v)
		}
	}
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// base transport.
func (t *limitTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// boundedBackoff is retryablehttp's exponential backoff, with a
// Retry-After header honoured only up to waitMax.
func boundedBackoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	return min(retryablehttp.DefaultBackoff(waitMin, waitMax, attempt, resp), waitMax)
}

// retryLogger adapts zerolog to retryablehttp.LeveledLogger: a failed
// attempt (no answer: a connection error) goes out at warn level with its
// class, the retries' own bookkeeping at debug level.
type retryLogger struct{ log zerolog.Logger }

func (l retryLogger) Error(msg string, kv ...any) {
	l.log.Warn().Fields(kv).Str("class", Transient.String()).Msg("Salesforce " + msg)
}
func (l retryLogger) Info(msg string, kv ...any)  { l.log.Debug().Fields(kv).Msg(msg) }
func (l retryLogger) Debug(msg string, kv ...any) { l.log.Debug().Fields(kv).Msg(msg) }
func (l retryLogger) Warn(msg string, kv ...any) {
	l.log.Warn().Fields(kv).Str("class", Transient.String()).Msg("Salesforce " + msg)
}
