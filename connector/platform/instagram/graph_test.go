package instagram

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func TestSendSuccess(t *testing.T) {
	const mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjE4MDYzNjQ4MDA4MDM5Nzo"
	stub := &platformtest.APIStub{Status: 200, Body: `{"recipient_id":"` + testIGSID + `","message_id":"` + mid + `"}`}
	metatest.CheckSend(t, startGraph(t, stub), stub, testIGSID, `Size M is in stock <3 & ships today`, mid, platformtest.Request{
		Method: http.MethodPost,
		Path:   "/v23.0/" + testPageID + "/messages",
		Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}},
		Body:   `{"recipient":{"id":"` + testIGSID + `"},"message":{"text":"Size M is in stock <3 & ships today"}}`,
	})
}

func TestSendErrors(t *testing.T) {
	start := func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startGraph(t, stub) }
	metatest.CheckSendErrors(t, start, testIGSID, "instagram: send: ", []metatest.SendError{
		{Name: "user unavailable", Status: 400, Body: `{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"fbtrace_id":"A1"}}`, Transient: false, Blocked: true, Code: 551, Contains: "isn't available"},
		{Name: "outside the window", Status: 400, Body: `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2534022,"fbtrace_id":"A2"}}`, Transient: false, Blocked: false, Code: 10, Contains: "outside of allowed window"},
		{Name: "missing permission", Status: 403, Body: `{"error":{"message":"(#200) Requires instagram_manage_messages permission","type":"OAuthException","code":200}}`, Transient: false, Blocked: false, Code: 200, Contains: "instagram_manage_messages"},
		{Name: "instagram rate limit", Status: 400, Body: `{"error":{"message":"There have been too many calls to this Instagram account","type":"OAuthException","code":80002}}`, Transient: true, Blocked: false, Code: 80002, Contains: "too many calls"},
		{Name: "server error", Status: 503, Body: `{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true}}`, Transient: true, Blocked: false, Code: 2, Contains: "temporarily unavailable"},
	}, testAccessToken)
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	a := startGraph(t, &platformtest.APIStub{Status: 200, Body: `{"recipient_id":"1"}`})
	metatest.CheckUnreadableSuccess(t, a, testIGSID, "no message_id")
}

func TestBlockAndUnblock(t *testing.T) {
	for _, tt := range []struct {
		name, action, answer string
		call                 func(*Adapter) func(context.Context, string) error
	}{
		{"block", "block_user", `{"success":true}`, func(a *Adapter) func(context.Context, string) error { return a.Block }},
		{"unblock", "unblock_user", `{"success":"true"}`, func(a *Adapter) func(context.Context, string) error { return a.Unblock }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stub := &platformtest.APIStub{Status: 200, Body: tt.answer}
			a := startGraph(t, stub)
			if err := tt.call(a)(context.Background(), testIGSID); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			want := platformtest.Request{
				Method: http.MethodPost,
				Path:   "/v23.0/" + testPageID + "/moderate_conversations",
				Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}},
				Body:   `{"user_ids":[{"id":"` + testIGSID + `"}],"actions":["` + tt.action + `"]}`,
			}
			if req := stub.Only(t).Pick("Authorization", "Content-Type"); !reflect.DeepEqual(req, want) {
				t.Fatalf("request:\n got %+v\nwant %+v", req, want)
			}
		})
	}
}

func TestBlockFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		transient bool
		contains  string
	}{
		{"not applied", 200, `{"success":false}`, false, "did not apply block_user"},
		{"not applied as a string", 200, `{"success":"false"}`, false, "did not apply block_user"},
		{"linked account", 400, `{"error":{"message":"(#100) You cannot block a user linked to your account","type":"OAuthException","code":100}}`, false, "cannot block"},
		{"rate limit", 429, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}}`, true, "request limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startGraph(t, &platformtest.APIStub{Status: tt.status, Body: tt.body})
			err := a.Block(context.Background(), testIGSID)
			var ge *GraphError
			if !errors.As(err, &ge) || !strings.Contains(err.Error(), tt.contains) || !strings.HasPrefix(err.Error(), "instagram: block: ") {
				t.Fatalf("Block = %v, want a *GraphError containing %q", err, tt.contains)
			}
			if IsTransient(err) != tt.transient || errors.Is(err, platform.ErrSendRejected) == tt.transient {
				t.Errorf("Block error class: transient %v, want %v (%v)", IsTransient(err), tt.transient, err)
			}
		})
	}
}

func TestArgumentsAndConfiguration(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	a := startGraph(t, stub)
	if _, err := a.Send(context.Background(), "", "hi"); err == nil {
		t.Error("Send to nobody succeeded")
	}
	if _, err := a.Send(context.Background(), testIGSID, ""); err == nil {
		t.Error("Send of an empty text succeeded")
	}
	if err := a.Unblock(context.Background(), ""); err == nil {
		t.Error("Unblock of nobody succeeded")
	}
	receiveOnly := startGraph(t, stub, func(c *Config) { c.AccessToken = "" })
	if _, err := receiveOnly.Send(context.Background(), testIGSID, "hi"); !errors.Is(err, ErrNoAccessToken) {
		t.Errorf("Send without an access token = %v, want ErrNoAccessToken", err)
	}
	if err := receiveOnly.Block(context.Background(), testIGSID); !errors.Is(err, ErrNoAccessToken) || IsTransient(err) {
		t.Errorf("Block without an access token = %v, want ErrNoAccessToken", err)
	}
	if n := stub.Count(); n != 0 {
		t.Errorf("invalid calls reached the Graph API: %d requests", n)
	}
}

func TestNetworkFailureIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	a := newTestAdapter(t, func(c *Config) { c.GraphURL = url })
	if _, err := a.Send(context.Background(), testIGSID, "hi"); !IsTransient(err) {
		t.Fatalf("Send to a closed server = %v, want a transient error", err)
	}
	if err := a.Block(context.Background(), testIGSID); !IsTransient(err) {
		t.Fatalf("Block on a closed server = %v, want a transient error", err)
	}
}

// startGraph serves stub and returns an adapter pointed at it.
func startGraph(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return newTestAdapter(t, append([]func(*Config){metatest.Serve[Config](t, stub, "/v23.0")}, mutate...)...)
}
