package messenger

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta/metatest"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// startGraph serves stub and returns an adapter pointed at it.
func startGraph(t *testing.T, stub *platformtest.APIStub, mutate ...func(*Config)) *Adapter {
	t.Helper()
	return newTestAdapter(t, append([]func(*Config){metatest.Serve[Config](t, stub, "/v23.0")}, mutate...)...)
}

func TestSendSuccess(t *testing.T) {
	const mid = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
	stub := &platformtest.APIStub{Status: 200, Body: `{"recipient_id":"` + testPSID + `","message_id":"` + mid + `"}`}
	metatest.CheckSend(t, startGraph(t, stub), stub, testPSID, `Hello & welcome <3 "Ann"`, mid, platformtest.Request{
		Method: http.MethodPost,
		Path:   "/v23.0/" + testPageID + "/messages",
		Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}},
		Body:   `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"RESPONSE","message":{"text":"Hello & welcome <3 \"Ann\""}}`,
	})
}

func TestSendToChatPluginGuest(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"recipient_id":"1","message_id":"m_1"}`}
	a := startGraph(t, stub)
	if _, err := a.Send(context.Background(), "guest-ref-7", "hi"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if body := stub.Only(t).Body; body != `{"recipient":{"user_ref":"guest-ref-7"},"messaging_type":"RESPONSE","message":{"text":"hi"}}` {
		t.Fatalf("body = %s", body)
	}
}

func TestSendErrors(t *testing.T) {
	start := func(t *testing.T, stub *platformtest.APIStub) platform.Sender { return startGraph(t, stub) }
	metatest.CheckSendErrors(t, start, testPSID, "messenger: send: ", []metatest.SendError{
		{Name: "user blocked the page", Status: 400, Body: `{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041,"fbtrace_id":"AbCdEf123"}}`, Transient: false, Blocked: true, Code: 551, Contains: "This person isn't available right now"},
		{Name: "outside the 24-hour window", Status: 400, Body: `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"X"}}`, Transient: false, Blocked: false, Code: 10, Contains: "outside of allowed window"},
		{Name: "no matching user", Status: 400, Body: `{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100,"error_subcode":2018001,"fbtrace_id":"Y"}}`, Transient: false, Blocked: false, Code: 100, Contains: "No matching user found"},
		{Name: "expired token", Status: 401, Body: `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"fbtrace_id":"Z"}}`, Transient: false, Blocked: false, Code: 190, Contains: "Session has expired"},
		{Name: "temporary failure", Status: 500, Body: `{"error":{"message":"(#1200) Temporary send message failure. Please try again later","type":"OAuthException","code":1200}}`, Transient: true, Blocked: false, Code: 1200, Contains: "Temporary send message failure"},
		{Name: "rate limit", Status: 400, Body: `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}`, Transient: true, Blocked: false, Code: 613, Contains: "rate limit"},
		{Name: "error in a 200", Status: 200, Body: `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`, Transient: false, Blocked: false, Code: 100, Contains: "Invalid parameter"},
		{Name: "server error without JSON", Status: 502, Body: `<html>Bad Gateway</html>`, Transient: true, Blocked: false, Code: 0, Contains: "HTTP 502"},
	}, testAccessToken)
}

func TestSendUnexpectedSuccessBody(t *testing.T) {
	a := startGraph(t, &platformtest.APIStub{Status: 200, Body: `{"recipient_id":"1"}`})
	metatest.CheckUnreadableSuccess(t, a, testPSID, "no message_id")
}

func TestSendArgumentsAndConfiguration(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	a := startGraph(t, stub)
	if _, err := a.Send(context.Background(), "", "hi"); err == nil {
		t.Error("Send to nobody succeeded")
	}
	if _, err := a.Send(context.Background(), testPSID, ""); err == nil {
		t.Error("Send of an empty text succeeded")
	}
	receiveOnly := startGraph(t, stub, func(c *Config) { c.AccessToken = "" })
	if _, err := receiveOnly.Send(context.Background(), testPSID, "hi"); !errors.Is(err, ErrNoAccessToken) || IsTransient(err) {
		t.Errorf("Send without an access token = %v, want ErrNoAccessToken", err)
	}
	if err := receiveOnly.Block(context.Background(), testPSID); !errors.Is(err, ErrNoAccessToken) {
		t.Errorf("Block without an access token = %v, want ErrNoAccessToken", err)
	}
	if n := stub.Count(); n != 0 {
		t.Errorf("invalid calls reached the Graph API: %d requests", n)
	}
}

func TestSendNetworkFailureIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	a := newTestAdapter(t, func(c *Config) { c.GraphURL = url })
	_, err := a.Send(context.Background(), testPSID, "hi")
	if !IsTransient(err) {
		t.Fatalf("Send to a closed server = %v, want a transient error", err)
	}
}

func TestBlock(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"` + testPSID + `":true}`}
	a := startGraph(t, stub)
	if err := a.Block(context.Background(), testPSID); err != nil {
		t.Fatalf("Block: %v", err)
	}
	want := platformtest.Request{
		Method: http.MethodPost,
		Path:   "/v23.0/" + testPageID + "/blocked",
		Header: http.Header{"Authorization": {"Bearer " + testAccessToken}, "Content-Type": {"application/json"}},
		Body:   `{"psid":[` + testPSID + `]}`,
	}
	stub.CheckOnly(t, want, "Authorization", "Content-Type")
}

func TestUnblock(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{"success":true}`}
	a := startGraph(t, stub)
	if err := a.Unblock(context.Background(), testPSID); err != nil {
		t.Fatalf("Unblock: %v", err)
	}
	want := platformtest.Request{
		Method: http.MethodDelete,
		Path:   "/v23.0/" + testPageID + "/blocked",
		Query:  "psid=" + testPSID,
		Header: http.Header{"Authorization": {"Bearer " + testAccessToken}},
	}
	stub.CheckOnly(t, want, "Authorization", "Content-Type")
}

func TestBlockFailures(t *testing.T) {
	tests := []struct {
		name      string
		unblock   bool
		status    int
		body      string
		transient bool
		contains  string
	}{
		{"not blocked", false, 200, `{"` + testPSID + `":false}`, false, "could not block"},
		{"not unblocked", true, 200, `{"success":false}`, false, "could not unblock"},
		{"permission", false, 403, `{"error":{"message":"(#200) Requires pages_manage_metadata permission","type":"OAuthException","code":200}}`, false, "pages_manage_metadata"},
		{"rate limit", true, 400, `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32}}`, true, "request limit"},
		{"unreadable", false, 200, `<html>`, false, "unreadable response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startGraph(t, &platformtest.APIStub{Status: tt.status, Body: tt.body})
			op, call := "block", a.Block
			if tt.unblock {
				op, call = "unblock", a.Unblock
			}
			err := call(context.Background(), testPSID)
			if err == nil || !strings.Contains(err.Error(), tt.contains) || !strings.HasPrefix(err.Error(), "messenger: "+op+": ") {
				t.Fatalf("%s = %v, want an error containing %q", op, err, tt.contains)
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient = %v, want %v", IsTransient(err), tt.transient)
			}
			var ge *GraphError
			if tt.name != "unreadable" && (!errors.As(err, &ge) || errors.Is(err, platform.ErrSendRejected) == tt.transient) {
				t.Errorf("%v is not a *GraphError of the right class", err)
			}
		})
	}
}

func TestBlockRefusesWhatIsNotAPSID(t *testing.T) {
	stub := &platformtest.APIStub{Status: 200, Body: `{}`}
	a := startGraph(t, stub)
	if err := a.Block(context.Background(), ""); err == nil {
		t.Error("Block of nobody succeeded")
	}
	err := a.Unblock(context.Background(), "guest-ref-7")
	if !errors.Is(err, platform.ErrSendRejected) || !strings.Contains(err.Error(), "not a PSID") {
		t.Errorf("Unblock of a chat plugin guest = %v, want a rejection", err)
	}
	if n := stub.Count(); n != 0 {
		t.Errorf("invalid calls reached the Graph API: %d requests", n)
	}
}
