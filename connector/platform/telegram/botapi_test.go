package telegram

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
func startAPI(t *testing.T, stub *platformtest.APIStub) *Adapter {
	t.Helper()
	return newTestAdapter(t, platformtest.Serve[Config](t, stub, "APIURL", ""))
}

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name     string
		to       string
		response string
		wantBody string
		wantID   string
	}{
		{"private chat", "5234109876",
			`{"ok":true,"result":{"message_id":4130,"from":{"id":7012345678,"is_bot":true,"first_name":"Acme Support","username":"acme_support_bot"},` +
				`"chat":{"id":5234109876,"first_name":"Mira","last_name":"Kovacs","username":"mirak","type":"private"},"date":1763719500,"text":"x"}}`,
			`{"chat_id":5234109876,"text":"Hello & welcome <3 \"Mira\""}`, "5234109876:4130"},
		{"supergroup beyond 2^53", "-1009007199254740993",
			`{"ok":true,"result":{"message_id":90,"chat":{"id":-1009007199254740993,"title":"Acme B2B Orders","type":"supergroup"},"date":1763724200,"text":"x"}}`,
			`{"chat_id":-1009007199254740993,"text":"Hello & welcome <3 \"Mira\""}`, "-1009007199254740993:90"},
		{"channel username", "@acme_news",
			`{"ok":true,"result":{"message_id":12,"chat":{"id":-1001234567890,"title":"Acme News","type":"channel"},"date":1763724300,"text":"x"}}`,
			`{"chat_id":"@acme_news","text":"Hello & welcome <3 \"Mira\""}`, "-1001234567890:12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &platformtest.APIStub{Status: http.StatusOK, Body: tt.response}
			a := startAPI(t, stub)
			id, err := a.Send(context.Background(), tt.to, `Hello & welcome <3 "Mira"`)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != tt.wantID {
				t.Fatalf("Send id = %q, want %q", id, tt.wantID)
			}
			want := platformtest.Request{Method: http.MethodPost, Path: "/bot" + testBotToken + "/sendMessage",
				Header: http.Header{"Content-Type": {"application/json"}}, Body: tt.wantBody}
			if got := stub.Only(t).Pick("Content-Type"); !reflect.DeepEqual(got, want) {
				t.Fatalf("request:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	start := func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startAPI(t, stub) }
	codes := func(err error) (int, int, bool) {
		var ae *APIError
		if !errors.As(err, &ae) {
			return 0, 0, false
		}
		return ae.Code, ae.HTTPStatus, true
	}
	platformtest.CheckRefusals(t, start, "5234109876", codes, IsTransient, ErrUserBlocked, []platformtest.Refusal{
		{Name: "blocked by the user", Status: 403, Body: `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, Blocked: true, Transient: false, Code: 403, Contains: "bot was blocked by the user"},
		{Name: "kicked from the group", Status: 403, Body: `{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"}`, Blocked: true, Transient: false, Code: 403, Contains: "kicked"},
		{Name: "user deactivated", Status: 403, Body: `{"ok":false,"error_code":403,"description":"Forbidden: user is deactivated"}`, Blocked: false, Transient: false, Code: 403, Contains: "user is deactivated"},
		{Name: "chat not found", Status: 400, Body: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, Blocked: false, Transient: false, Code: 400, Contains: "chat not found"},
		{Name: "bad token", Status: 401, Body: `{"ok":false,"error_code":401,"description":"Unauthorized"}`, Blocked: false, Transient: false, Code: 401, Contains: "Unauthorized"},
		{Name: "flood control", Status: 429, Body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}`, Blocked: false, Transient: true, Code: 429, Contains: "retry after 35 s"},
		{Name: "group migrated", Status: 400, Body: `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat",` + `"parameters":{"migrate_to_chat_id":-1001987654321}}`, Blocked: false, Transient: false, Code: 400, Contains: "migrated to chat -1001987654321"},
		{Name: "server error without JSON", Status: 502, Body: `<html>Bad Gateway</html>`, Blocked: false, Transient: true, Code: 0, Contains: "HTTP 502"},
		{Name: "ok false with HTTP 200", Status: 200, Body: `{"ok":false,"error_code":500,"description":"Internal Server Error"}`, Blocked: false, Transient: true, Code: 500, Contains: "Internal Server Error"},
	}, testBotToken)
}

func TestUserBlockedIsRejected(t *testing.T) {
	if !errors.Is(ErrUserBlocked, platform.ErrSendRejected) {
		t.Fatal("ErrUserBlocked does not wrap platform.ErrSendRejected")
	}
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	for _, body := range []string{`{"ok":true,"result":true}`, `{"ok":true,"result":{"chat":{"id":1}}}`, `not json`} {
		a := startAPI(t, &platformtest.APIStub{Status: http.StatusOK, Body: body})
		_, err := a.Send(context.Background(), "5234109876", "hi")
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
	platformtest.CheckSendFailures(t, startAPI(t, stub), stub, unreachable, "", "5234109876", IsTransient, testBotToken, "AAHk3d")
}

func TestSendWithoutBotToken(t *testing.T) {
	stub := &platformtest.APIStub{Status: http.StatusOK, Body: `{}`}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.BotToken, c.APIURL = "", srv.URL })
	_, err := a.Send(context.Background(), "5234109876", "hi")
	if !errors.Is(err, ErrNoBotToken) || IsTransient(err) {
		t.Fatalf("Send = %v, want ErrNoBotToken, not transient", err)
	}
	if stub.Count() != 0 {
		t.Errorf("a send without token reached the Bot API: %+v", stub.Requests())
	}
}
