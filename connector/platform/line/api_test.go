package line

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
func startAPI(t *testing.T, stub *platformtest.APIStub) *Adapter {
	t.Helper()
	return newTestAdapter(t, platformtest.Serve[Config](t, stub, "APIURL", ""))
}

const testUser = "U4af4980629abcdef0123456789abcdef"

func TestSendSuccess(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b..."}]}`}
	a := startAPI(t, stub)
	const key = "123e4567-e89b-12d3-a456-426614174000"
	id, err := a.Send(WithRetryKey(context.Background(), key), testUser, `Hello & welcome <3 "Ann"`)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "461230966842064897" {
		t.Fatalf("Send id = %q", id)
	}
	want := platformtest.Request{
		Method: http.MethodPost,
		Path:   "/v2/bot/message/push",
		Header: http.Header{
			"Authorization": {"Bearer " + testAccessToken},
			"Content-Type":  {"application/json"},
			RetryKeyHeader:  {key},
		},
		Body: `{"to":"` + testUser + `","messages":[{"type":"text","text":"Hello & welcome <3 \"Ann\""}]}`,
	}
	if got := stub.Only(t).Pick("Authorization", "Content-Type", RetryKeyHeader); !reflect.DeepEqual(got, want) {
		t.Fatalf("request:\n got %+v\nwant %+v", got, want)
	}
}

func TestSendRetryKey(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"sentMessages":[{"id":"1"}]}`}
	a := startAPI(t, stub)
	for i := 0; i < 2; i++ {
		if _, err := a.Send(context.Background(), testUser, "hi"); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	reqs := stub.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if key := r.Header.Get(RetryKeyHeader); !uuidPattern.MatchString(key) || key[14] != '4' {
			t.Errorf("generated retry key %q is not a version 4 UUID", key)
		}
	}
	if key0 := reqs[0].Header.Get(RetryKeyHeader); key0 == reqs[1].Header.Get(RetryKeyHeader) {
		t.Errorf("two sends without WithRetryKey share the key %q", key0)
	}

	// The same name gives the same key; another name another key.
	k1, k2, k3 := RetryKeyFrom("outbound-42"), RetryKeyFrom("outbound-42"), RetryKeyFrom("outbound-43")
	if k1 != k2 || k1 == k3 {
		t.Errorf("RetryKeyFrom: %q, %q, %q; want the first two equal, the third different", k1, k2, k3)
	}
	if !uuidPattern.MatchString(k1) || k1[14] != '5' || !strings.ContainsAny(k1[19:20], "89ab") {
		t.Errorf("RetryKeyFrom = %q, want a version 5 RFC 4122 UUID", k1)
	}

	if _, err := a.Send(WithRetryKey(context.Background(), "not-a-uuid"), testUser, "hi"); err == nil ||
		!strings.Contains(err.Error(), "not a UUID") {
		t.Errorf("Send with a malformed retry key = %v, want an error", err)
	}
	if n := stub.Count(); n != 2 {
		t.Errorf("a malformed retry key reached the API (%d requests)", n)
	}
}

// TestSendAlreadyAccepted: a retry whose key LINE already accepted gets a
// 409 carrying the first message's id, which counts as success.
func TestSendAlreadyAccepted(t *testing.T) {
	stub := &platformtest.APIStub{Status: 409, Header: http.Header{
		"X-Line-Request-Id":          {"123e4567-e89b-12d3-a456-426655440002"},
		"X-Line-Accepted-Request-Id": {"123e4567-e89b-12d3-a456-426655440001"},
	}, Body: `{"message":"The retry key is already accepted","sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b..."}]}`}
	a := startAPI(t, stub)
	id, err := a.Send(WithRetryKey(context.Background(), RetryKeyFrom("m1")), testUser, "hi")
	if err != nil || id != "461230966842064897" {
		t.Fatalf("Send = %q, %v; want the accepted message's id", id, err)
	}

	stub2 := &platformtest.APIStub{Status: 409, Header: http.Header{"X-Line-Accepted-Request-Id": {"acc-1"}},
		Body: `{"message":"The retry key is already accepted"}`}
	a2 := startAPI(t, stub2)
	_, err = a2.Send(context.Background(), testUser, "hi")
	if !errors.Is(err, ErrAlreadyAccepted) || IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
		t.Fatalf("409 without an id = %v, want ErrAlreadyAccepted, neither transient nor rejected", err)
	}
	if !strings.Contains(err.Error(), "acc-1") {
		t.Errorf("error %q lacks the accepted request id", err)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		transient bool
		contains  string
	}{
		{"invalid property", 400, `{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`,
			false, "messages[0].text: May not be empty"},
		{"unknown user", 400, `{"message":"Failed to send messages"}`, false, "Failed to send messages"},
		{"bad token", 401, `{"message":"Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid."}`,
			false, "Authentication failed"},
		{"plan without push", 403, `{"message":"Access to this API is not available for your account"}`, false, "not available"},
		{"rate limit", 429, `{"message":"The API rate limit has been exceeded. Try again later."}`, true, "rate limit"},
		{"monthly quota", 429, `{"message":"You have reached your monthly limit."}`, false, "monthly limit"},
		{"server error", 500, `{"message":"An error occurred in the backend"}`, true, "HTTP 500"},
		{"gateway error without JSON", 502, `<html>Bad Gateway</html>`, true, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAPI(t, &platformtest.APIStub{Status: tt.status, Body: tt.body,
				Header: http.Header{"X-Line-Request-Id": {"req-77"}}})
			id, err := a.Send(context.Background(), testUser, "hi")
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v; want an error", id, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.HTTPStatus != tt.status || ae.RequestID != "req-77" {
				t.Fatalf("Send error %v is not an *APIError with HTTP %d and the request id", err, tt.status)
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient = %v, want %v (%v)", IsTransient(err), tt.transient, err)
			}
			if errors.Is(err, platform.ErrSendRejected) == tt.transient {
				t.Errorf("errors.Is(ErrSendRejected) = %v, want %v", !tt.transient, !tt.transient)
			}
			if errors.Is(err, ErrUserBlocked) {
				t.Errorf("LINE never reports a blocked user, yet %v is ErrUserBlocked", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), testAccessToken) {
				t.Errorf("error shows the access token: %v", err)
			}
		})
	}
}

func TestErrUserBlockedIsARejection(t *testing.T) {
	if !errors.Is(ErrUserBlocked, platform.ErrSendRejected) || errors.Is(ErrUserBlocked, ErrTransient) {
		t.Fatal("ErrUserBlocked must wrap platform.ErrSendRejected and not ErrTransient")
	}
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	a := startAPI(t, &platformtest.APIStub{Status: 200, Body: `{}`})
	_, err := a.Send(context.Background(), testUser, "hi")
	if err == nil || !strings.Contains(err.Error(), "no sent message id") {
		t.Fatalf("Send = %v, want an error about the missing id", err)
	}
	if IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
		t.Fatalf("an unreadable success must be neither transient (it was sent) nor rejected: %v", err)
	}
}

// TestSendFailures: arguments refused before any call, a cancelled
// send, and an unreachable API.
func TestSendFailures(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	unreachable := newTestAdapter(t, func(c *Config) { c.APIURL = platformtest.ClosedURL(t) })
	platformtest.CheckSendFailures(t, startAPI(t, stub), stub, unreachable, "", testUser, IsTransient, testAccessToken)
}

func TestSendWithoutAccessToken(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.ChannelAccessToken = ""; c.APIURL = srv.URL })
	_, err := a.Send(context.Background(), testUser, "hi")
	if !errors.Is(err, ErrNoAccessToken) || IsTransient(err) {
		t.Fatalf("Send without a token = %v, want ErrNoAccessToken, not transient", err)
	}
	if n := stub.Count(); n != 0 {
		t.Errorf("a request reached the API without a token")
	}
}
