package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startGraph serves stub and returns an adapter pointed at it.
func startGraph(t *testing.T, stub *platformtest.APIStub) *Adapter {
	t.Helper()
	return newTestAdapter(t, platformtest.Serve[Config](t, stub, "GraphURL", "/v21.0"))
}

func TestSendSuccess(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],` +
		`"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","message_status":"accepted"}]}`}
	a := startGraph(t, stub)
	id, err := a.Send(context.Background(), "16505551234", `Hello & welcome <3 "Ann"`)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA" {
		t.Fatalf("Send id = %q", id)
	}
	req := stub.Only(t).Pick("Authorization", "Content-Type")
	want := platformtest.Request{
		Method: http.MethodPost,
		Path:   "/v21.0/" + testPhoneNumberID + "/messages",
		Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}},
		Body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",` +
			`"type":"text","text":{"body":"Hello & welcome <3 \"Ann\""}}`,
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("request:\n got %+v\nwant %+v", req, want)
	}
}

func TestSendErrors(t *testing.T) {
	start := func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startGraph(t, stub) }
	metatest.CheckSendErrors(t, start, "16505551234", "whatsapp: send: ", []metatest.SendError{
		{Name: "recipient not allowed", Status: 400, Body: `{"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException",` + `"code":131030,"error_data":{"messaging_product":"whatsapp","details":"Recipient phone number not in allowed list: ` + `Add recipient phone number to recipient list and try again."},"error_subcode":2655007,"fbtrace_id":"AbCdEf123"}}`, Transient: false, Code: 131030, Contains: "Recipient phone number not in allowed list"},
		{Name: "expired token", Status: 401, Body: `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"fbtrace_id":"X"}}`, Transient: false, Code: 190, Contains: "Session has expired"},
		{Name: "throughput limit", Status: 429, Body: `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,` + `"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because there were too many messages sent from this phone number in a short period of time"},"fbtrace_id":"Y"}}`, Transient: true, Code: 130429, Contains: "Rate limit hit"},
		{Name: "app rate limit as 400", Status: 400, Body: `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"Z"}}`, Transient: true, Code: 4, Contains: "Application request limit reached"},
		{Name: "WABA rate limit", Status: 400, Body: `{"error":{"message":"(#80007) There have been too many calls to this WhatsApp Business account.","type":"OAuthException","code":80007}}`, Transient: true, Code: 80007, Contains: "too many calls"},
		{Name: "pair rate limit", Status: 400, Body: `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","code":131056}}`, Transient: true, Code: 131056, Contains: "pair rate limit"},
		{Name: "server error without JSON", Status: 502, Body: `<html>Bad Gateway</html>`, Transient: true, Code: 0, Contains: "HTTP 502"},
		{Name: "client error without JSON", Status: 404, Body: `not found`, Transient: false, Code: 0, Contains: "HTTP 404"},
	}, testAccessToken)
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	a := startGraph(t, &platformtest.APIStub{Status: 200, Body: `{"messaging_product":"whatsapp","messages":[]}`})
	_, err := a.Send(context.Background(), "16505551234", "hi")
	if err == nil || !strings.Contains(err.Error(), "no message id") {
		t.Fatalf("Send = %v, want an error about the missing id", err)
	}
	if IsTransient(err) || errors.Is(err, platform.ErrSendRejected) {
		t.Fatalf("an unreadable success must be neither transient (it may have been sent) nor rejected: %v", err)
	}
}

// TestSendFailures: arguments refused before any call, a cancelled
// send, and an unreachable API.
func TestSendFailures(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	unreachable := newTestAdapter(t, func(c *Config) { c.GraphURL = platformtest.ClosedURL(t) })
	platformtest.CheckSendFailures(t, startGraph(t, stub), stub, unreachable, "", "16505551234", IsTransient, testAccessToken)
}

func TestBlockAndUnblock(t *testing.T) {
	const wantBody = `{"messaging_product":"whatsapp","block_users":[{"user":"16505551234"}]}`
	tests := []struct {
		name   string
		method string
		call   func(*Adapter) error
		answer string
	}{
		{"block", http.MethodPost, func(a *Adapter) error { return a.Block(context.Background(), "16505551234") },
			`{"messaging_product":"whatsapp","block_users":{"added_users":[{"input":"16505551234","wa_id":"16505551234"}]}}`},
		{"unblock", http.MethodDelete, func(a *Adapter) error { return a.Unblock(context.Background(), "16505551234") },
			`{"messaging_product":"whatsapp","block_users":{"removed_users":[{"input":"16505551234","wa_id":"16505551234"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &platformtest.APIStub{Status: 200, Body: tt.answer}
			a := startGraph(t, stub)
			if err := tt.call(a); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			want := platformtest.Request{Method: tt.method, Path: "/v21.0/" + testPhoneNumberID + "/block_users",
				Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}}, Body: wantBody}
			if got := stub.Only(t).Pick("Authorization", "Content-Type"); !reflect.DeepEqual(got, want) {
				t.Fatalf("request:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestBlockFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		code      int
		transient bool
		contains  string
	}{
		{"re-engagement required", 400, `{"messaging_product":"whatsapp","block_users":{"added_users":[],` +
			`"failed_users":[{"input":"16505551234","wa_id":"16505551234","errors":[{"message":"Re-engagement required",` +
			`"code":131047,"error_data":{"details":"User has not messaged in the last 24 hours"}}]}]},` +
			`"error":{"message":"(#139100) Failed to block/unblock users","type":"OAuthException","code":139100,` +
			`"error_data":{"details":"Failed to block some users, see the block_users response list for details"},"fbtrace_id":"Tr4ce"}}`,
			131047, false, "User has not messaged in the last 24 hours"},
		{"code as a string", 400, `{"block_users":{"failed_users":[{"input":"16505551234",` +
			`"errors":[{"message":"Re-engagement required","code":"131047","error_data":{"details":"x"}}]}]}}`,
			131047, false, "Re-engagement required"},
		{"failed user in a 200", 200, `{"block_users":{"failed_users":[{"input":"16505551234",` +
			`"errors":[{"message":"Blocklist limit reached","code":139101}]}]}}`,
			139101, false, "Blocklist limit reached"},
		{"internal error worth a retry", 400, `{"block_users":{"failed_users":[{"input":"16505551234",` +
			`"errors":[{"message":"Internal error","code":139103}]}]}}`,
			139103, true, "Internal error"},
		{"failed user without errors", 400, `{"block_users":{"failed_users":[{"input":"16505551234"}]},` +
			`"error":{"message":"(#139100) Failed to block/unblock users","code":139100}}`,
			139100, false, "Failed to block/unblock users"},
		{"expired token", 401, `{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}`,
			190, false, "Error validating access token"},
		{"server error", 503, `{"error":{"message":"Service temporarily unavailable","code":2}}`,
			2, true, "Service temporarily unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startGraph(t, &platformtest.APIStub{Status: tt.status, Body: tt.body})
			err := a.Block(context.Background(), "16505551234")
			var ge *GraphError
			if !errors.As(err, &ge) {
				t.Fatalf("Block = %v, want a *GraphError", err)
			}
			if ge.Code != tt.code {
				t.Errorf("code = %d, want %d", ge.Code, tt.code)
			}
			if IsTransient(err) != tt.transient || errors.Is(err, platform.ErrSendRejected) == tt.transient {
				t.Errorf("transient = %v, rejected = %v; want transient %v", IsTransient(err), errors.Is(err, platform.ErrSendRejected), tt.transient)
			}
			if !strings.Contains(err.Error(), tt.contains) || !strings.Contains(err.Error(), "whatsapp: block") {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
		})
	}
}

func TestBlockTraceIDKept(t *testing.T) {
	a := startGraph(t, &platformtest.APIStub{Status: 400, Body: `{"block_users":{"failed_users":[{"input":"1","errors":[{"message":"Re-engagement required","code":131047}]}]},` +
		`"error":{"message":"(#139100) Failed","code":139100,"fbtrace_id":"Tr4ce"}}`})
	var ge *GraphError
	if err := a.Unblock(context.Background(), "1"); !errors.As(err, &ge) || ge.TraceID != "Tr4ce" || ge.Code != 131047 {
		t.Fatalf("Unblock = %v (%+v), want code 131047 with the response's fbtrace_id", err, ge)
	}
}

func TestBlockUnreadableSuccess(t *testing.T) {
	a := startGraph(t, &platformtest.APIStub{Status: 200, Body: `<html>`})
	if err := a.Block(context.Background(), "16505551234"); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("Block = %v, want an unreadable-response error", err)
	}
	if err := a.Block(context.Background(), ""); err == nil {
		t.Fatal("Block of an empty user succeeded")
	}
}

func TestNoAccessToken(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.AccessToken = ""; c.GraphURL = srv.URL })
	_, sendErr := a.Send(context.Background(), "16505551234", "hi")
	for name, err := range map[string]error{
		"send":    sendErr,
		"block":   a.Block(context.Background(), "16505551234"),
		"unblock": a.Unblock(context.Background(), "16505551234"),
	} {
		if !errors.Is(err, ErrNoAccessToken) || IsTransient(err) {
			t.Errorf("%s without an access token = %v, want ErrNoAccessToken, not transient", name, err)
		}
	}
	if stub.Count() != 0 {
		t.Errorf("requests reached the Graph API without a token: %+v", stub.Requests())
	}
}
