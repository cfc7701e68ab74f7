package viber

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startAPI serves stub and returns an adapter pointed at it.
func startAPI(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return newTestAdapter(t, append([]func(*Config){platformtest.Serve[Config](t, stub, "APIURL", "")}, mutate...)...)
}

func TestSendSuccess(t *testing.T) {
	// The send_message answer of Viber's documentation: its token, beyond
	// 2^53, must come back exact.
	stub := &platformtest.APIStub{Status: http.StatusOK, Body: `{"status":0,"status_message":"ok","message_token":5741311803571721087,` +
		`"chat_hostname":"SN-CHAT-05_","billing_status":1}`}
	a := startAPI(t, stub)
	id, err := a.Send(context.Background(), "01234567890A=", `Hello & welcome <3 "John"`)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "5741311803571721087" {
		t.Fatalf("Send token = %q, want 5741311803571721087", id)
	}
	want := platformtest.Request{
		Method: http.MethodPost,
		Path:   "/pa/send_message",
		Header: http.Header{AuthTokenHeader: {testAuthToken}, "Content-Type": {"application/json"}},
		Body:   `{"receiver":"01234567890A=","type":"text","text":"Hello & welcome <3 \"John\"","sender":{"name":"Acme Support"}}`,
	}
	if got := stub.Only(t).Pick(AuthTokenHeader, "Content-Type"); !reflect.DeepEqual(got, want) {
		t.Fatalf("request:\n got %+v\nwant %+v", got, want)
	}
}

func TestSendWithAvatar(t *testing.T) {
	stub := &platformtest.APIStub{Status: http.StatusOK, Body: `{"status":0,"status_message":"ok","message_token":7}`}
	a := startAPI(t, stub, func(c *Config) { c.SenderAvatar = "https://acme.example/logo.png" })
	if _, err := a.Send(context.Background(), "u1", "hi"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := `{"receiver":"u1","type":"text","text":"hi","sender":{"name":"Acme Support","avatar":"https://acme.example/logo.png"}}`
	if got := stub.Only(t).Body; got != want {
		t.Fatalf("body:\n got %s\nwant %s", got, want)
	}
}

func TestSendErrors(t *testing.T) {
	codes := func(err error) (int, int, bool) {
		var ae *APIError
		if !errors.As(err, &ae) {
			return 0, 0, false
		}
		return ae.Status, ae.HTTPStatus, true
	}
	start := func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startAPI(t, stub) }
	platformtest.CheckRefusals(t, start, "01234567890A=", codes, IsTransient, ErrUserBlocked, []platformtest.Refusal{
		{Name: "not subscribed", Status: 200, Body: `{"status":6,"status_message":"receiverNotSubscribed","chat_hostname":"SN-CHAT-02_"}`, Blocked: true, Transient: false, Code: 6, Contains: "status 6 receiverNotSubscribed"},
		{Name: "not registered", Status: 200, Body: `{"status":5,"status_message":"receiverNotRegistered"}`, Blocked: false, Transient: false, Code: 5, Contains: "receiverNotRegistered"},
		{Name: "bad token", Status: 200, Body: `{"status":2,"status_message":"invalidAuthToken"}`, Blocked: false, Transient: false, Code: 2, Contains: "invalidAuthToken"},
		{Name: "bad data with a message", Status: 200, Body: `{"status":3,"status_message":"Bad receiver ID"}`, Blocked: false, Transient: false, Code: 3, Contains: "badData: Bad receiver ID"},
		{Name: "rate limit", Status: 200, Body: `{"status":12,"status_message":"tooManyRequests"}`, Blocked: false, Transient: true, Code: 12, Contains: "tooManyRequests"},
		{Name: "unknown status", Status: 200, Body: `{"status":99,"status_message":"General error"}`, Blocked: false, Transient: false, Code: 99, Contains: "status 99: General error"},
		{Name: "server error without JSON", Status: 503, Body: `<html>Service Unavailable</html>`, Blocked: false, Transient: true, Code: -1, Contains: "HTTP 503"},
		{Name: "HTTP 429", Status: 429, Body: ``, Blocked: false, Transient: true, Code: -1, Contains: "HTTP 429"},
		{Name: "client error with a status", Status: 400, Body: `{"status":3,"status_message":"badData"}`, Blocked: false, Transient: false, Code: 3, Contains: "HTTP 400"},
	}, testAuthToken)
}

func TestUserBlockedIsRejected(t *testing.T) {
	if !errors.Is(ErrUserBlocked, platform.ErrSendRejected) {
		t.Fatal("ErrUserBlocked does not wrap platform.ErrSendRejected")
	}
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	for _, body := range []string{`{"status":0,"status_message":"ok"}`, `{"message_token":1}`, `not json`, `{"status":0,"message_token":1.5}`} {
		a := startAPI(t, &platformtest.APIStub{Status: http.StatusOK, Body: body})
		_, err := a.Send(context.Background(), "u1", "hi")
		if err == nil {
			t.Fatalf("Send with answer %s succeeded", body)
		}
		if IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
			t.Fatalf("an unreadable success must be neither transient (it may have been sent) nor rejected: %v", err)
		}
	}
}

// TestSendFailures: arguments refused before any call, a cancelled
// send, and an unreachable API.
func TestSendFailures(t *testing.T) {
	stub := &platformtest.APIStub{Status: http.StatusOK, Body: `{}`}
	unreachable := newTestAdapter(t, func(c *Config) { c.APIURL = platformtest.ClosedURL(t) })
	platformtest.CheckSendFailures(t, startAPI(t, stub), stub, unreachable, "", "u1", IsTransient, testAuthToken)
}
