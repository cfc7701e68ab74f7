// Package metatest holds the checks the Meta product packages' tests
// (messenger, instagram, whatsapp) make the same way: the verification
// handshake and the classification of the Graph API's refusals of a send.
package metatest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// CheckHandshake checks that a answers Meta's verification GET with the
// challenge when the token is token, and refuses a wrong token, a wrong
// mode and a missing challenge with platform.ErrHandshake, never showing
// the token.
func CheckHandshake(t *testing.T, a platform.Handshaker, token, challenge string) {
	t.Helper()
	ok := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	got, err := a.Handshake(platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+ok.Encode(), nil))
	if err != nil || string(got) != challenge {
		t.Fatalf("Handshake = %q, %v; want the challenge", got, err)
	}
	for name, q := range map[string]url.Values{
		"wrong token":       {"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {challenge}},
		"wrong mode":        {"hub.mode": {"unsubscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1"}},
		"missing challenge": {"hub.mode": {"subscribe"}, "hub.verify_token": {token}},
	} {
		got, err := a.Handshake(platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+q.Encode(), nil))
		if !errors.Is(err, platform.ErrHandshake) || got != nil {
			t.Errorf("%s: Handshake = %q, %v; want ErrHandshake", name, got, err)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
}

// SendError is one refusal of a send by the Graph API and how it must be
// classified.
type SendError struct {
	Name   string
	Status int
	Body   string
	// Transient: worth retrying (ErrTransient), else a rejection
	// (platform.ErrSendRejected); Blocked: the user blocked the business
	// (meta.ErrUserBlocked).
	Transient, Blocked bool
	// Code is the Graph API error code the *meta.GraphError carries.
	Code int
	// Contains is a substring of the error.
	Contains string
}

// CheckSendErrors sends a text to to through the adapter start returns
// for a stand-in answering each case, and checks the error: a
// *meta.GraphError with the case's code and status, classified as the case
// says, starting with prefix ("messenger: send: "), containing the case's
// text and none of secrets.
func CheckSendErrors(t *testing.T, start func(*testing.T, *platformtest.APIStub) platform.Sender, to, prefix string, cases []SendError, secrets ...string) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			a := start(t, &platformtest.APIStub{Status: tt.Status, Body: tt.Body})
			id, err := a.Send(context.Background(), to, "hi")
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v; want an error", id, err)
			}
			var ge *meta.GraphError
			if !errors.As(err, &ge) || ge.Code != tt.Code || ge.HTTPStatus != tt.Status {
				t.Fatalf("Send error %v is not the *GraphError %d (HTTP %d)", err, tt.Code, tt.Status)
			}
			if meta.IsTransient(err) != tt.Transient {
				t.Errorf("IsTransient = %v, want %v (%v)", meta.IsTransient(err), tt.Transient, err)
			}
			if errors.Is(err, meta.ErrUserBlocked) != tt.Blocked {
				t.Errorf("errors.Is(ErrUserBlocked) = %v, want %v", !tt.Blocked, tt.Blocked)
			}
			if errors.Is(err, platform.ErrSendRejected) == tt.Transient {
				t.Errorf("errors.Is(ErrSendRejected) = %v, want %v", tt.Transient, !tt.Transient)
			}
			if !strings.Contains(err.Error(), tt.Contains) || !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q or lacks %q", err, prefix, tt.Contains)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

// CheckUnreadableSuccess checks that a send answered 200 with body (no
// message id) fails with an error containing want that is neither
// transient (the message may have been sent) nor a rejection.
func CheckUnreadableSuccess(t *testing.T, a platform.Sender, to, want string) {
	t.Helper()
	_, err := a.Send(context.Background(), to, "hi")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Send = %v, want an error about %s", err, want)
	}
	if meta.IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
		t.Fatalf("an unreadable success must be neither transient (it may have been sent) nor rejected: %v", err)
	}
}

// ConfigCases are the configuration checks every Meta product shares,
// for a Config type C with the fields AppSecret, VerifyToken, AccessToken
// and GraphURL, and the channel's id in the field idField, named idKey in
// errors ("PageID", "page_id"): the complete configuration, a custom Graph
// URL and a missing access token (receive only) are valid; a missing or
// blank id, an id with a slash, a missing app secret or verify token, and
// a relative or non-http(s) Graph URL are refused.
func ConfigCases[C any](idField, idKey string) []platformtest.ConfigCase[C] {
	set := func(field, value string) func(*C) {
		return func(c *C) { reflect.ValueOf(c).Elem().FieldByName(field).SetString(value) }
	}
	return []platformtest.ConfigCase[C]{
		{Name: "complete", Mutate: func(*C) {}},
		{Name: "custom graph url", Mutate: set("GraphURL", "http://127.0.0.1:9999/v23.0")},
		{Name: "receive only: no access token", Mutate: set("AccessToken", "")},
		{Name: "no id", Mutate: set(idField, ""), Want: idKey + " is required"},
		{Name: "blank id", Mutate: set(idField, " "), Want: idKey + " is required"},
		{Name: "id with a slash", Mutate: set(idField, "12/34"), Want: idKey},
		{Name: "no app secret", Mutate: set("AppSecret", ""), Want: "app_secret is required"},
		{Name: "no verify token", Mutate: set("VerifyToken", ""), Want: "verify_token is required"},
		{Name: "relative graph url", Mutate: set("GraphURL", "graph.facebook.com/v23.0"), Want: "graph_url"},
		{Name: "ftp graph url", Mutate: set("GraphURL", "ftp://graph.facebook.com"), Want: "graph_url"},
	}
}

// Serve serves stub and returns the change of a Config type C (with the
// fields GraphURL and HTTPClient) that points it at stub, under the path
// version ("/v23.0").
func Serve[C any](t testing.TB, stub *platformtest.APIStub, version string) func(*C) {
	t.Helper()
	return platformtest.Serve[C](t, stub, "GraphURL", version)
}

// CheckNew checks an adapter a, whose channel is ch, built with the
// defaults: the product's Graph API base, an HTTP client with a timeout,
// the platform's name, and the capabilities want.
func CheckNew(t *testing.T, a platform.Adapter, ch *meta.Channel, graphURL, platformName string, want platform.Capabilities) {
	t.Helper()
	if ch.Graph.BaseURL != graphURL {
		t.Errorf("graph URL = %q, want %q", ch.Graph.BaseURL, graphURL)
	}
	if ch.Graph.HTTP == nil || ch.Graph.HTTP.Timeout == 0 {
		t.Errorf("default client has no timeout: %+v", ch.Graph.HTTP)
	}
	if got := ch.Platform(); got != platformName {
		t.Errorf("Platform() = %q", got)
	}
	if got := platform.CapabilitiesOf(a); got != want {
		t.Fatalf("CapabilitiesOf = %+v, want %+v", got, want)
	}
}

// CheckSend sends text to to through a, which calls stub, and checks that
// the message id is wantID and that the one request stub received is
// want (its Authorization and Content-Type header fields compared).
func CheckSend(t *testing.T, a platform.Sender, stub *platformtest.APIStub, to, text, wantID string, want platformtest.Request) {
	t.Helper()
	id, err := a.Send(context.Background(), to, text)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != wantID {
		t.Fatalf("Send id = %q", id)
	}
	stub.CheckOnly(t, want, "Authorization", "Content-Type")
}

// The secrets of the Meta products' test configurations.
const (
	AppSecret   = "test-app-secret"
	VerifyToken = "hub-token-7c1d9e"
	AccessToken = "EAAG-test-page-access-token"
)
