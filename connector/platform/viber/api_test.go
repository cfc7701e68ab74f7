package viber

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startAPI serves stub and returns an adapter pointed at it.
func startAPI(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	srv := platformtest.Start(t, stub)
	return newTestAdapter(t, append([]func(*Config){func(c *Config) {
		c.APIURL = srv.URL
		c.HTTPClient = srv.Client()
	}}, mutate...)...)
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
	tests := []struct {
		name       string
		httpStatus int
		body       string
		blocked    bool
		transient  bool
		status     int
		contains   string
	}{
		{"not subscribed", 200, `{"status":6,"status_message":"receiverNotSubscribed","chat_hostname":"SN-CHAT-02_"}`,
			true, false, 6, "status 6 receiverNotSubscribed"},
		{"not registered", 200, `{"status":5,"status_message":"receiverNotRegistered"}`, false, false, 5, "receiverNotRegistered"},
		{"bad token", 200, `{"status":2,"status_message":"invalidAuthToken"}`, false, false, 2, "invalidAuthToken"},
		{"bad data with a message", 200, `{"status":3,"status_message":"Bad receiver ID"}`, false, false, 3, "badData: Bad receiver ID"},
		{"rate limit", 200, `{"status":12,"status_message":"tooManyRequests"}`, false, true, 12, "tooManyRequests"},
		{"unknown status", 200, `{"status":99,"status_message":"General error"}`, false, false, 99, "status 99: General error"},
		{"server error without JSON", 503, `<html>Service Unavailable</html>`, false, true, -1, "HTTP 503"},
		{"HTTP 429", 429, ``, false, true, -1, "HTTP 429"},
		{"client error with a status", 400, `{"status":3,"status_message":"badData"}`, false, false, 3, "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAPI(t, &platformtest.APIStub{Status: tt.httpStatus, Body: tt.body})
			id, err := a.Send(context.Background(), "01234567890A=", "hi")
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v; want an error", id, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("Send error %v is not an *APIError", err)
			}
			if ae.Status != tt.status || ae.HTTPStatus != tt.httpStatus {
				t.Errorf("APIError status %d HTTP %d, want %d HTTP %d", ae.Status, ae.HTTPStatus, tt.status, tt.httpStatus)
			}
			if errors.Is(err, ErrUserBlocked) != tt.blocked {
				t.Errorf("errors.Is(ErrUserBlocked) = %v, want %v (%v)", !tt.blocked, tt.blocked, err)
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient = %v, want %v (%v)", !tt.transient, tt.transient, err)
			}
			if errors.Is(err, platform.ErrSendRejected) == tt.transient {
				t.Errorf("errors.Is(ErrSendRejected) = %v, want %v", tt.transient, !tt.transient)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), testAuthToken) {
				t.Errorf("error shows the auth token: %v", err)
			}
		})
	}
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
